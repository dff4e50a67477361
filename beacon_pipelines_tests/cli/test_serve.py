"""`beacon serve` on a real persistent instance: `beacon audit` runs in a process forked from
the server, writes to the caller's own streams, exits with the audit's status, and stops when
its caller is interrupted or killed; without a live server it runs on its own, as before."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from beacon_pipelines.cli.serve_protocol import (
    MessageReader,
    ProtocolError,
    check_socket_path,
    installation,
    send_message,
    socket_path,
)
from beacon_pipelines.cli.warm_server import ACCEPT_POLL_S, code_fingerprint
from beacon_pipelines.store import ExecutionStore, default_store_url
from beacon_pipelines_tests.conftest import PROJECT_DIR, cli_env
from beacon_pipelines_tests.support.audit_files import write_sim_config
from beacon_pipelines_tests.support.beacon_cli import beacon

PLAN = ["--models", "llama3.2-1b", "--regions", "US,EU", "--samples", "1"]
READY_TIMEOUT_S = 90


class Server:
    """A `beacon serve` subprocess whose output lines are collected as they come."""

    def __init__(self, args: list[str], cwd: Path, home: Path):
        self.process = subprocess.Popen(
            args, cwd=cwd, env=cli_env(home), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )
        self.all_lines: list[str] = []
        self.since = 0  # lines before this were said during earlier tests
        threading.Thread(target=self._collect, daemon=True).start()

    @property
    def lines(self) -> list[str]:
        return self.all_lines[self.since:]

    def _collect(self) -> None:
        for line in self.process.stdout:
            self.all_lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, count: int = 1, timeout: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while sum(text in line for line in self.lines) < count:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError(f"beacon serve never said {text!r}: {self.lines}")
            time.sleep(0.05)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def served_home(tmp_path_factory) -> Path:
    """One instance and one server for the tests of a served audit (each its own audit id):
    a server takes ~3 s to load what it is there to keep loaded."""
    home = tmp_path_factory.mktemp("served") / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text((PROJECT_DIR / "dagster.yaml").read_text())
    return home


@pytest.fixture(scope="module")
def module_server(served_home):
    served = Server([sys.executable, "-m", "beacon_pipelines.cli", "serve"],
                    served_home.parent, served_home)
    served.wait_for("ready for audits")
    yield served
    assert served.stop() == 0, served.all_lines
    assert not socket_path(served_home).exists()  # a stopped server leaves no socket behind


@pytest.fixture
def server(module_server, served_home, monkeypatch) -> Server:
    """The module's server, its output from this test on."""
    monkeypatch.setenv("DAGSTER_HOME", str(served_home))
    module_server.since = len(module_server.all_lines)
    return module_server


def _audit_args(tmp_path: Path, catalog: Path, audit_id: str, **sim) -> list[str]:
    config = write_sim_config(tmp_path / f"sim-{audit_id}.yaml", **sim)
    return ["audit", "--catalog", str(catalog), "--sim-config", str(config), *PLAN,
            "--audit-id", audit_id, "--out", str(tmp_path / audit_id)]


def _served_pids(server: Server) -> list[int]:
    return [int(line.split()[4]) for line in server.lines if line.endswith(" started")]


@pytest.mark.integration
def test_served_audit_runs_in_a_child_of_the_server_and_the_caller_imports_no_dagster(
    tmp_path, served_home, small_catalog, server
):
    args = _audit_args(tmp_path, small_catalog, "served-1")
    # The caller, as `beacon` runs it; Dagster is what the server is there to have imported.
    script = (
        "import sys\nfrom beacon_pipelines.cli.main import main\n"
        f"code = main({args!r})\n"
        "print('dagster imported:', 'dagster' in sys.modules, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    caller = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=cli_env(served_home),
        capture_output=True, text=True, timeout=240,
    )
    assert caller.returncode == 0, caller.stderr
    assert "dagster imported: False" in caller.stderr
    # The audit's own output reached the caller's stdout, written by the server's child.
    assert "report: " in caller.stdout
    assert (tmp_path / "served-1" / "report.html").exists()
    server.wait_for("ended (exit 0)")
    assert len(_served_pids(server)) == 1
    store = ExecutionStore(default_store_url(served_home))
    try:
        assert len(store.succeeded_keys("served-1")) == 2 * len(store.get_audit("served-1")
                                                                 .questions)
        control = store.audit_control("served-1")
        assert control["driver_pid"] is None  # the driver cleared itself when it ended
    finally:
        store.dispose()


@pytest.mark.integration
def test_a_served_audit_exits_with_the_audits_own_status(tmp_path, served_home, server):
    refused = beacon(["audit", "--models", "no-such-model"], cwd=tmp_path, home=served_home)
    assert refused.returncode == 2
    assert "no-such-model" in refused.stderr
    server.wait_for("ended (exit 2)")


@pytest.mark.integration
def test_ctrl_c_to_the_caller_cancels_the_served_audit(
    tmp_path, served_home, small_catalog, server
):
    # Each answer takes ~20 s (0.5 s a token): the audit is mid-call when Ctrl-C comes.
    args = _audit_args(tmp_path, small_catalog, "served-2", latency={"per_token_s": 0.5})
    caller = subprocess.Popen(
        [sys.executable, "-m", "beacon_pipelines.cli", *args], cwd=tmp_path,
        env=cli_env(served_home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )
    server.wait_for(" started")
    _until_running(served_home, "served-2")
    caller.send_signal(signal.SIGINT)
    out, err = caller.communicate(timeout=30)
    assert caller.returncode == 130, err
    assert "cancelled" in err
    server.wait_for("ended (exit 130)")


@pytest.mark.integration
def test_a_killed_caller_cancels_its_audit(tmp_path, served_home, small_catalog, server):
    args = _audit_args(tmp_path, small_catalog, "served-3", latency={"per_token_s": 0.5})
    caller = subprocess.Popen(
        [sys.executable, "-m", "beacon_pipelines.cli", *args], cwd=tmp_path,
        env=cli_env(served_home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    server.wait_for(" started")
    _until_running(served_home, "served-3")
    caller.kill()
    caller.wait(timeout=10)
    # Nobody is left to report to: the audit stops as on Ctrl-C, its answers kept.
    server.wait_for("ended (exit 130)", timeout=30)
    listed = beacon(["audits", "--json"], cwd=tmp_path, home=served_home)
    audit = next(a for a in json.loads(listed.stdout) if a["audit_id"] == "served-3")
    assert audit["status"] == "cancelled"


def _until_running(home: Path, audit_id: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (home / "beacon.db").exists():
            store = ExecutionStore(default_store_url(home))
            try:
                control = store.audit_control(audit_id)
            finally:
                store.dispose()
            if control and control["driver_pid"]:
                time.sleep(1.0)  # its workers forked and calling the backend
                return
        time.sleep(0.1)
    raise AssertionError(f"audit {audit_id} never started")


@pytest.mark.integration
def test_without_a_live_server_the_audit_runs_on_its_own(tmp_path, dagster_home, small_catalog):
    # A socket left by a server that was killed: nobody answers on it.
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(socket_path(dagster_home)))
    dead.close()
    ran = beacon(_audit_args(tmp_path, small_catalog, "alone-1"), cwd=tmp_path,
                 home=dagster_home)
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "alone-1" / "report.html").exists()


@pytest.mark.integration
def test_beacon_no_serve_runs_the_audit_on_its_own(tmp_path, served_home, small_catalog, server):
    ran = beacon(_audit_args(tmp_path, small_catalog, "alone-2"), cwd=tmp_path,
                 home=served_home, extra_env={"BEACON_NO_SERVE": "1"})
    assert ran.returncode == 0, ran.stderr
    assert _served_pids(server) == [], server.all_lines


@pytest.mark.integration
def test_a_second_server_on_the_same_home_is_refused(tmp_path, served_home, server):
    second = beacon(["serve"], cwd=tmp_path, home=served_home, timeout=60)
    assert second.returncode == 2
    assert "already runs" in second.stderr
    assert socket_path(served_home).is_socket()  # the first one's socket is untouched
    # Its look at the first one started nothing there.
    assert not [line for line in server.lines if "started" in line or "refused" in line]


@pytest.mark.integration
def test_a_request_without_the_callers_streams_is_refused_and_the_server_goes_on(
    tmp_path, served_home, small_catalog, server
):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as raw:
        raw.connect(str(socket_path(served_home)))
        request = {"argv": ["audit"], "cwd": str(tmp_path), "env": {}, "installation":
                   installation()}
        send_message(raw, request)
        assert MessageReader(raw).read() == {"streams": True}
        send_message(raw, {"streams": True})  # without them
        assert raw.recv(100) == b""  # closed without running anything
    server.wait_for("refused a request: the client did not send its three standard streams")
    assert _served_pids(server) == []
    ran = beacon(_audit_args(tmp_path, small_catalog, "after-refusal"), cwd=tmp_path,
                 home=served_home)
    assert ran.returncode == 0, ran.stderr
    assert len(_served_pids(server)) == 1


@pytest.mark.integration
def test_the_server_restarts_when_beacons_files_change(
    tmp_path, dagster_home, small_catalog
):
    watched = tmp_path / "package"
    watched.mkdir()
    (watched / "module.py").write_text("A = 1\n")
    script = (
        "import sys\nfrom pathlib import Path\n"
        "from beacon_pipelines.cli.warm_server import WarmServer\n"
        f"server = WarmServer(Path({str(dagster_home)!r}), "
        "['-m', 'beacon_pipelines.cli', 'serve'], "
        f"say=lambda s: print(s, flush=True), watched=Path({str(watched)!r}))\n"
        "server.claim()\nlistener = server.bind()\nprint('ready for audits', flush=True)\n"
        "server.serve(listener)\n"
    )
    served = Server([sys.executable, "-c", script], tmp_path, dagster_home)
    try:
        served.wait_for("ready for audits")
        (watched / "module.py").write_text("A = 2\n")
        # Sent back, this audit runs on its own; the server restarts (as `beacon serve`).
        first = beacon(_audit_args(tmp_path, small_catalog, "stale-1"), cwd=tmp_path,
                       home=dagster_home)
        assert first.returncode == 0, first.stderr
        assert _served_pids(served) == []
        served.wait_for("restarting")
        served.wait_for("ready for audits", count=2)
        second = beacon(_audit_args(tmp_path, small_catalog, "stale-2"), cwd=tmp_path,
                        home=dagster_home)
        assert second.returncode == 0, second.stderr
        served.wait_for(" started")
    finally:
        assert served.stop() == 0, served.lines


def test_messages_carry_the_standard_streams_and_split_anywhere(tmp_path):
    left, right = socket.socketpair()
    with left, right, open(tmp_path / "out.txt", "w") as out:
        # Larger than one read and than the socket's buffer: sent while the other end reads.
        sender = threading.Thread(target=lambda: (
            send_message(left, {"argv": ["audit"], "text": "é" * 100_000},
                         fds=(0, out.fileno(), 2)),
            send_message(left, {"signal": 2}),
        ))
        sender.start()
        reader = MessageReader(right)
        assert reader.read(max_fds=3) == {"argv": ["audit"], "text": "é" * 100_000}
        assert len(reader.fds) == 3
        assert reader.read() == {"signal": 2}
        sender.join()
        left.sendall(b"[1, 2]\n")
        with pytest.raises(ProtocolError, match="JSON object"):
            reader.read()
        left.close()
        assert reader.read() is None  # the peer is gone
        for fd in reader.fds:
            os.close(fd)


def test_a_home_too_long_for_a_socket_is_refused_with_its_path(tmp_path):
    long_home = tmp_path / ("h" * 120)
    with pytest.raises(ProtocolError, match="more than a Unix socket allows"):
        check_socket_path(socket_path(long_home))


def test_the_fingerprint_sees_an_edit_and_a_new_file(tmp_path):
    (tmp_path / "a.py").write_text("A = 1\n")
    before = code_fingerprint(tmp_path)
    (tmp_path / "a.py").write_text("A = 22\n")
    edited = code_fingerprint(tmp_path)
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "judge.md").write_text("judge\n")
    assert len({before, edited, code_fingerprint(tmp_path)}) == 3


@pytest.mark.integration
def test_a_server_that_cannot_open_its_instance_says_why_and_leaves_no_socket(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text((PROJECT_DIR / "deploy/dagster.postgres.yaml").read_text())
    env = {k: v for k, v in cli_env(home).items() if not k.startswith("DAGSTER_PG_")}
    started = subprocess.run(
        [sys.executable, "-m", "beacon_pipelines.cli", "serve"], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=120,
    )
    assert started.returncode == 2
    assert started.stderr.strip().splitlines() == [
        f"beacon serve: error: cannot open the Dagster instance configured in "
        f"{home / 'dagster.yaml'}: environment variable DAGSTER_PG_USERNAME is not set"
    ]
    assert not socket_path(home).exists()


@pytest.fixture
def own_server(tmp_path, dagster_home):
    """A server of its own, for a test that stops or suspends it."""
    served = Server([sys.executable, "-m", "beacon_pipelines.cli", "serve"], tmp_path,
                    dagster_home)
    served.wait_for("ready for audits")
    yield served
    served.process.send_signal(signal.SIGCONT)
    served.stop()


@pytest.mark.integration
def test_the_audit_gets_the_callers_folder_and_environment(
    tmp_path, served_home, small_catalog, server
):
    # The server was started with the tests' 8-question catalog; this caller names another in
    # its environment only, and a report folder relative to its own working folder.
    sim = write_sim_config(tmp_path / "sim.yaml")
    args = ["audit", "--sim-config", str(sim), *PLAN, "--audit-id", "callers-env",
            "--out", "relative-out"]
    ran = beacon(args, cwd=tmp_path, home=served_home,
                 extra_env={"BEACON_CATALOG": str(small_catalog)})
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "relative-out" / "report.html").exists()
    assert len(_served_pids(server)) == 1
    store = ExecutionStore(default_store_url(served_home))
    try:
        assert list(store.get_audit("callers-env").questions) == ["math_basic", "tiananmen_1989"]
    finally:
        store.dispose()


@pytest.mark.integration
def test_stopping_the_server_stops_none_of_the_audits_it_runs(
    tmp_path, dagster_home, small_catalog, own_server
):
    callers = [
        subprocess.Popen(
            [sys.executable, "-m", "beacon_pipelines.cli",
             *_audit_args(tmp_path, small_catalog, f"two-{i}", latency={"per_call_s": 6})],
            cwd=tmp_path, env=cli_env(dagster_home), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, start_new_session=True,
        )
        for i in (1, 2)
    ]
    own_server.wait_for(" started", count=2)  # two audits served at once
    assert own_server.stop() == 0
    # Its audits still running hold nothing of it: a new server starts on the same home.
    successor = Server([sys.executable, "-m", "beacon_pipelines.cli", "serve"], tmp_path,
                       dagster_home)
    try:
        successor.wait_for("ready for audits")
        assert all(caller.poll() is None for caller in callers)
    finally:
        assert successor.stop() == 0, successor.lines
    for i, caller in enumerate(callers, start=1):
        out, err = caller.communicate(timeout=120)
        assert caller.returncode == 0, err
        assert (tmp_path / f"two-{i}" / "report.html").exists()


@pytest.mark.integration
def test_a_suspended_server_is_not_waited_for(tmp_path, dagster_home, small_catalog, own_server):
    own_server.process.send_signal(signal.SIGSTOP)  # Ctrl-Z in its terminal
    ran = beacon(_audit_args(tmp_path, small_catalog, "while-stopped"), cwd=tmp_path,
                 home=dagster_home)
    assert ran.returncode == 0, ran.stderr  # ran on its own after the hand-over timed out
    own_server.process.send_signal(signal.SIGCONT)
    time.sleep(2 * ACCEPT_POLL_S + 0.5)
    # Resumed, the server finds the caller gone and starts nothing for it.
    assert _served_pids(own_server) == []
