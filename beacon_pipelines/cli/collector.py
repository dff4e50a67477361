"""Python's garbage collector across `beacon`'s start-up and the workers `beacon audit` forks.

Start-up is almost all imports (Dagster, SQLAlchemy, the definitions): objects that live as
long as the process, which the collector walks again and again while they are created and
never frees. Python's recipe for a process that forks workers without exec (the `gc.freeze`
docs): disable the collector early in the parent, freeze right before each fork, enable it
early in the child. The child's collections then skip every inherited object, so they neither
cost time nor copy the parent's memory pages.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


def pause() -> None:
    """For the start-up: `beacon` calls this before importing its commands."""
    gc.disable()


def resume() -> None:
    """Once start-up is over (a command other than `audit`: after parsing; `audit`: after its
    last fork, or when it stops before one)."""
    gc.enable()


@contextmanager
def frozen_for_fork() -> Iterator[None]:
    """Around one fork: what exists now is left out of the child's collections. Unfrozen
    again here, so that a process that goes on (a test, say) can still free those objects."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
