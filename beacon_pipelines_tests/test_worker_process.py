"""A worker is alive only while it runs: a zombie holds no GPU slot and no lease."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from beacon_pipelines.worker_process import process_exists


def test_this_process_exists_and_an_unused_pid_does_not():
    assert process_exists(os.getpid())
    assert not process_exists(2**22 + 12345)  # above the kernel's default pid_max


@pytest.mark.integration
def test_an_exited_process_not_yet_reaped_is_not_alive():
    child = subprocess.Popen(["true"])
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and process_exists(child.pid):
            time.sleep(0.01)
        # Exited, not waited for: a zombie, which os.kill(pid, 0) alone calls alive.
        os.kill(child.pid, 0)
        assert not process_exists(child.pid)
    finally:
        child.wait()
