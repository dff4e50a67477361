"""How `beacon audit` and its forked workers are told to stop.

Ctrl-C in a terminal sends SIGINT to the whole foreground process group: the CLI and every
worker at once. A worker interrupted that way, before its run is marked CANCELING, would be
recorded by Dagster as failed ("interrupted unexpectedly"), and one waiting for a GPU slot
could be retried. So workers block SIGINT and leave the decision to the CLI, which marks their
runs CANCELING and then sends them CANCEL_SIGNAL; a worker hands that to whatever SIGINT
handler Dagster has installed at that moment, which is exactly Dagster's own interrupt.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from beacon_pipelines.defs.run_cancel import CANCEL_SIGNAL


def _forward_once():
    forwarded = threading.Event()

    def handler(signum, frame):
        # A second signal during Dagster's own clean-up would interrupt the clean-up itself.
        if forwarded.is_set():
            return
        forwarded.set()
        current = signal.getsignal(signal.SIGINT)
        if callable(current):
            current(signal.SIGINT, frame)
        else:
            raise KeyboardInterrupt

    return handler


def prepare_worker() -> None:
    """In a forked worker, before its run starts."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    # The CLI's handler, inherited through the fork, would only set a flag nobody here reads.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(CANCEL_SIGNAL, _forward_once())


@contextmanager
def cli_interrupts() -> Iterator[threading.Event]:
    """While the CLI drives an audit: SIGINT (Ctrl-C) or CANCEL_SIGNAL (from `beacon cancel`)
    sets the event the CLI polls, instead of raising wherever the CLI happens to be. Workers
    forked meanwhile inherit these handlers; prepare_worker replaces them."""
    requested = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield requested
        return

    def on_signal(signum, frame):
        requested.set()

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, CANCEL_SIGNAL)}
    signal.signal(signal.SIGINT, on_signal)
    # While Dagster executes the CLI's own analysis run it replaces the SIGINT handler; the
    # cancel signal then reaches Dagster's handler, which interrupts that run.
    signal.signal(CANCEL_SIGNAL, _forward_once_repeatable())
    try:
        yield requested
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _forward_once_repeatable():
    def handler(signum, frame):
        current = signal.getsignal(signal.SIGINT)
        if callable(current):
            current(signal.SIGINT, frame)

    return handler
