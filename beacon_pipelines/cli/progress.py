"""Live progress of `beacon audit`: one line redrawn in place on a terminal, plain lines
otherwise (logs, pipes, CI), so neither a person nor a log file gets noise."""

from __future__ import annotations

import shutil
import sys
import threading
import time
from dataclasses import dataclass
from typing import TextIO

BAR_WIDTH = 20


@dataclass(frozen=True)
class AuditProgress:
    elapsed_s: float
    partitions_done: int
    partitions_total: int
    partitions_failed: int
    executions_done: int
    executions_total: int

    @property
    def counts(self) -> tuple[int, ...]:
        """Everything but the time: a new line is worth printing only when these change."""
        return (
            self.partitions_done,
            self.partitions_total,
            self.partitions_failed,
            self.executions_done,
            self.executions_total,
        )


class ProgressLine(str):
    """A progress message that also carries its numbers; printed as is, it is plain text."""

    progress: AuditProgress

    def __new__(cls, progress: AuditProgress) -> ProgressLine:
        p = progress
        text = (
            f"[{p.elapsed_s:6.1f}s] partitions {p.partitions_done}/{p.partitions_total} finished "
            f"({p.partitions_failed} failed), executions {p.executions_done}/"
            f"{p.executions_total} succeeded"
        )
        line = super().__new__(cls, text)
        line.progress = progress
        return line


def status_text(p: AuditProgress, elapsed_s: float, width: int) -> str:
    """The terminal's one-line view, cut to the terminal's width (a wrapped line cannot be
    redrawn in place)."""
    share = p.executions_done / p.executions_total if p.executions_total else 1.0
    filled = round(BAR_WIDTH * share)
    failed = f", {p.partitions_failed} failed" if p.partitions_failed else ""
    text = (
        f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {share:4.0%}  executions "
        f"{p.executions_done}/{p.executions_total} · partitions {p.partitions_done}/"
        f"{p.partitions_total}{failed} · {_clock(elapsed_s)}"
    )
    return text[: max(width - 1, 10)]


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}" if minutes else f"{seconds:.0f}s"


class LiveProgress:
    """The `progress` callback of run_audit. Use as a context manager: it ends its line."""

    def __init__(
        self, stream: TextIO | None = None, is_tty: bool | None = None, tick_s: float | None = 1.0
    ):
        self.stream = stream or sys.stdout
        self.is_tty = self.stream.isatty() if is_tty is None else is_tty
        self.tick_s = tick_s
        self._lock = threading.Lock()
        self._status: AuditProgress | None = None
        self._received = 0.0
        self._live = False  # a status line is on screen, without its newline
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __enter__(self) -> LiveProgress:
        if self.is_tty and self.tick_s:
            # Elapsed time moves even when no partition does.
            self._ticker = threading.Thread(target=self._tick_loop, daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __call__(self, line: str) -> None:
        progress = getattr(line, "progress", None)
        with self._lock:
            if not self.is_tty:
                self.stream.write(f"{line}\n")
            elif isinstance(progress, AuditProgress):
                self._status, self._received = progress, time.monotonic()
                self._live = True
                self._draw()
            else:
                self._end_line()
                self.stream.write(f"{line}\n")
            self.stream.flush()

    def tick(self) -> None:
        """Redraw the status line with the time elapsed now."""
        with self._lock:
            if self._live:
                self._draw()
                self.stream.flush()

    def close(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=2)
        with self._lock:
            self._end_line()
            self.stream.flush()

    def _tick_loop(self) -> None:
        while not self._stop.wait(self.tick_s):
            self.tick()

    def _draw(self) -> None:
        assert self._status is not None
        elapsed = self._status.elapsed_s + (time.monotonic() - self._received)
        width = shutil.get_terminal_size((100, 24)).columns
        self.stream.write("\r\x1b[K" + status_text(self._status, elapsed, width))

    def _end_line(self) -> None:
        if self._live:
            self._draw()
            self.stream.write("\n")
            self._live = False
