"""`beacon audit` progress: a redrawn line on a terminal, plain lines anywhere else."""

from __future__ import annotations

import io

from beacon_pipelines.cli.progress import AuditProgress, LiveProgress, ProgressLine, status_text


def _line(elapsed, done, failed, executions) -> ProgressLine:
    return ProgressLine(AuditProgress(elapsed, done, 9, failed, executions, 72))


def test_a_progress_line_is_the_plain_text_the_runner_always_printed():
    line = _line(12.34, 3, 1, 40)
    assert line == "[  12.3s] partitions 3/9 finished (1 failed), executions 40/72 succeeded"
    assert line.progress.counts == (3, 9, 1, 40, 72)


def test_not_a_terminal_gets_one_plain_line_per_message():
    out = io.StringIO()
    with LiveProgress(out, is_tty=False) as progress:
        progress("audit a: 3 models x 3 regions")
        progress(_line(1.0, 0, 0, 8))
        progress(_line(2.0, 1, 0, 16))
        progress.tick()  # nothing to redraw off a terminal
    assert out.getvalue().splitlines() == [
        "audit a: 3 models x 3 regions",
        "[   1.0s] partitions 0/9 finished (0 failed), executions 8/72 succeeded",
        "[   2.0s] partitions 1/9 finished (0 failed), executions 16/72 succeeded",
    ]
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()


def test_a_terminal_gets_one_line_redrawn_in_place():
    out = io.StringIO()
    with LiveProgress(out, is_tty=True, tick_s=None) as progress:
        progress("audit a: planned")
        progress(_line(1.0, 0, 0, 8))
        progress(_line(2.0, 4, 1, 40))
        progress.tick()
        progress("every execution is in; analysing")
    text = out.getvalue()
    first, status, last = text.split("\n")[:3]
    assert first == "audit a: planned" and last == "every execution is in; analysing"
    frames = status.split("\r\x1b[K")[1:]
    assert len(frames) == 4  # two updates, one tick, and the final redraw before the message
    assert "executions 8/72 · partitions 0/9 ·" in frames[0]
    assert "executions 40/72 · partitions 4/9, 1 failed ·" in frames[-1]
    assert frames[-1].startswith("[###########.........]  56%")


def test_the_status_fits_the_terminal_and_shows_minutes():
    p = AuditProgress(0, 9, 9, 0, 72, 72)
    assert status_text(p, 125, 200).endswith("· 2:05")
    assert len(status_text(p, 125, 40)) == 39
