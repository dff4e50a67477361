"""`beacon serve`: a process that keeps Dagster and Beacon imported for one Dagster home, so that
a `beacon audit` on that instance starts its first partition without the ~1-1.5 s of imports
and instance set-up a new Python process pays first.

Each audit it is asked for runs in a child forked from it: the child takes the client's
arguments, working folder, environment and terminal (serve_protocol.py), runs exactly the
command `beacon audit` would have run, and reports its exit status. The child is an audit
process like any other: its own process group (stopping the server stops no audit), its pid
recorded as the audit's driver (`beacon cancel` reaches it), and the client's Ctrl-C forwarded
to it. A client that disappears cancels its audit, as Ctrl-C would.

When Beacon's files or the packages installed beside it change under it, the server sends the
next client back to run the audit itself and restarts; a client of another installation (another
checkout or virtual environment) runs its audit itself too.
"""

from __future__ import annotations

import fcntl
import gc
import importlib
import importlib.util
import os
import signal
import socket
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from beacon_pipelines.cli.serve_protocol import (
    FORWARDED_SIGNALS,
    PACKAGE_DIR,
    STD_FDS,
    MessageReader,
    ProtocolError,
    check_socket_path,
    installation,
    peer_uid,
    send_message,
    socket_path,
)

SITE_PACKAGES = Path(importlib.util.find_spec("dagster").origin).resolve().parents[1]
LOCK_NAME = "beacon-serve.lock"
# What `beacon audit` imports before its first partition starts, and what its analysis imports
# once every answer is in.
PRELOAD = (
    "beacon_pipelines.cli.audit_runner",
    "beacon_pipelines.cli.workers",
    "beacon_pipelines.cli.interrupts",
    "beacon_pipelines.cli.progress",
    "beacon_pipelines.defs.audit_graph",
    "beacon_pipelines.backends.simulated",
    "beacon_pipelines.backends.openai_compatible",
    "beacon_pipelines.backends.modal.backend",
    "beacon_pipelines.judge.registry",
)
ACCEPT_POLL_S = 0.5  # how soon a finished audit's process is reaped, and a stop is noticed
REQUEST_TIMEOUT_S = 10.0
WATCHED_SUFFIXES = (".py", ".md", ".yaml", ".yml", ".json", ".npz")


class ServeError(Exception):
    pass


def code_fingerprint(root: Path = PACKAGE_DIR) -> tuple:
    """Every file Beacon runs or reads from its package, with its size and modification time,
    and the folder of installed packages (installing or removing one changes its entries)."""
    files = sorted(
        (str(path.relative_to(root)), stat.st_mtime_ns, stat.st_size)
        for path in root.rglob("*")
        if path.suffix in WATCHED_SUFFIXES
        and "__pycache__" not in path.parts
        and (stat := path.stat())
    )
    return (tuple(files), SITE_PACKAGES.stat().st_mtime_ns)


def preload(home: Path) -> None:
    """Import what an audit needs and open the instance once (its storage modules load on
    first use). Nothing that depends on the environment is built here: each audit reads its
    own (catalog, store URL, backend settings) when it runs."""
    from dagster import DagsterInstance

    from beacon_pipelines.cli.audit_runner import ANALYSIS_MODULES
    from beacon_pipelines.cli.main import build_parser
    from beacon_pipelines.instance.creation_lock import instance_creation_lock
    from beacon_pipelines.instance.errors import explain, instance_errors
    from beacon_pipelines.instance.postgres_probe import probe_instance_postgres

    for name in (*PRELOAD, *ANALYSIS_MODULES):
        importlib.import_module(name)
    build_parser()  # imports every subcommand's module
    probe_instance_postgres(home)  # unreachable: said at once, not after Dagster's retries
    try:
        with instance_creation_lock(home), DagsterInstance.get() as instance:
            instance.get_runs(limit=1)
            instance.event_log_storage.get_concurrency_keys()
    except instance_errors() as exc:
        raise explain(exc, home) from None
    # What exists now lives as long as the server: each audit's collections skip it.
    gc.freeze()


class WarmServer:
    def __init__(
        self,
        home: Path,
        restart_argv: Sequence[str],
        say: Callable[[str], None] = print,
        watched: Path = PACKAGE_DIR,
    ):
        self.home = Path(home)
        self.path = socket_path(self.home)
        self.restart_argv = list(restart_argv)
        self.say = say
        self.watched = watched
        self.fingerprint = code_fingerprint(watched)
        self._lock_fd: int | None = None

    def claim(self) -> None:
        """Take the home's serve lock for the server's life (ServeError when another server
        holds it): then the socket in the home is this server's to replace and remove."""
        try:
            check_socket_path(self.path)
        except ProtocolError as exc:
            raise ServeError(str(exc)) from None
        fd = os.open(self.home / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ServeError(f"a beacon serve already runs for {self.home} ({self.path})") from None
        self._lock_fd = fd  # closed on exec (a restart takes it again) and at exit

    def bind(self) -> socket.socket:
        """Listen (after claim): a socket left by a server that was killed is replaced."""
        self._unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)  # owner-only from the start: it runs code as this user
        try:
            listener.bind(str(self.path))
        finally:
            os.umask(old_umask)
        listener.listen(16)
        listener.settimeout(ACCEPT_POLL_S)
        return listener

    def serve(self, listener: socket.socket) -> None:
        """For ever (until interrupted): one forked child per client. Restarts (exec) when
        Beacon's files changed, after sending that client back to run its audit itself."""
        while True:
            self._reap()
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                self._take(listener, connection)

    def _take(self, listener: socket.socket, connection: socket.socket) -> None:
        if code_fingerprint(self.watched) != self.fingerprint:
            self._restart(listener, connection)
        # A local client sends its request at once; one that does not is not waited for long.
        connection.settimeout(REQUEST_TIMEOUT_S)
        reader = MessageReader(connection)
        try:
            _check_peer(connection)
            request = self._handshake(connection, reader)
        except (OSError, ProtocolError) as exc:
            self.say(f"beacon serve: refused a request: {exc}")
            request = None
        try:
            if request is None:
                return
            connection.settimeout(None)  # blocking again: a peek below must not wait
            if _peer_gone(connection):
                return  # it gave up waiting meanwhile: nothing to run
            pid = self._fork_child(listener, connection, reader, request)
        finally:
            for fd in reader.fds:  # the child has its own copies
                os.close(fd)
        self.say(f"beacon serve: audit process {pid} started")

    def _handshake(self, connection: socket.socket, reader: MessageReader) -> dict | None:
        """The request, then the client's streams. Asked for only now, from a server that is
        taking the audit: descriptors sent ahead to a server that is stopped would stay in
        flight, and hold the client's pipes open, until it resumes. None: nothing to run."""
        request = reader.read()
        if request is None:
            return None  # connected and gone
        _check_request(request)
        if request.get("installation") != installation():
            send_message(connection, {"elsewhere": "another installation of Beacon"})
            return None
        send_message(connection, {"streams": True})
        if reader.read(max_fds=len(STD_FDS)) is None or len(reader.fds) != len(STD_FDS):
            raise ProtocolError("the client did not send its three standard streams")
        return request

    def _fork_child(self, listener, connection, reader, request) -> int:
        # Blocked until the child has its own process group and handlers: a Ctrl-C in the
        # server's terminal meanwhile must reach neither the child nor, through it, the
        # server's own clean-up.
        signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED_SIGNALS)
        try:
            pid = os.fork()
            if pid == 0:
                try:
                    listener.close()
                    # The lock is the server's, not its audits': a server started after this
                    # one stops must get it while these still run.
                    if self._lock_fd is not None:
                        os.close(self._lock_fd)
                    _run_child(connection, reader, request)
                finally:
                    os._exit(1)  # the child never returns into the server's loop
            try:
                os.setpgid(pid, pid)
            except OSError:
                pass  # it did so itself already
            return pid
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED_SIGNALS)

    def close(self, listener: socket.socket) -> None:
        listener.close()
        self._unlink()

    def _restart(self, listener: socket.socket, connection: socket.socket) -> None:
        with connection:
            send_message(connection, {"stale": "Beacon's files changed; the server restarts"})
        self.close(listener)
        self.say("beacon serve: Beacon's files changed since start: restarting")
        sys.stdout.flush()
        sys.stderr.flush()
        # The audits running keep running: they are this process's children, and stay so.
        os.execv(sys.executable, [sys.executable, *self.restart_argv])

    def _reap(self) -> None:
        # Any child, not a list kept here: after a restart (exec) the audits started before
        # it are still this process's children.
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            code = os.waitstatus_to_exitcode(status)
            self.say(f"beacon serve: audit process {pid} ended (exit {code})")

    def _unlink(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


def _check_peer(connection: socket.socket) -> None:
    """The socket is owner-only already; where the system says who connected, check it too."""
    uid = peer_uid(connection)
    if uid is not None and uid != os.getuid():
        raise ProtocolError(f"a client of user id {uid}, not this server's ({os.getuid()})")


def _check_request(request: dict) -> None:
    argv, cwd, env = request.get("argv"), request.get("cwd"), request.get("env")
    if not (isinstance(argv, list) and all(isinstance(a, str) for a in argv)):
        raise ProtocolError("argv must be a list of strings")
    if not isinstance(cwd, str) or not isinstance(env, dict):
        raise ProtocolError("cwd must be a string and env an object")


def _peer_gone(connection: socket.socket) -> bool:
    try:
        return connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False  # connected, nothing more to read: waiting for its audit
    except OSError:
        return True


def _run_child(connection: socket.socket, reader: MessageReader, request: dict) -> None:
    """The forked audit process: take over the client's streams, folder and environment, run
    its command, report the exit status, exit."""
    code = 1
    try:
        os.setpgid(0, 0)  # Ctrl-C in the server's terminal is not meant for this audit
        for signum in FORWARDED_SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED_SIGNALS)
        # The audit's workers, forked from here, must not hold the client's connection open:
        # its end is how the client learns that this process is gone.
        os.register_at_fork(after_in_child=lambda: _close_quietly(connection))
        _take_over(request, reader.fds)
        reader.fds = []
        try:
            send_message(connection, {"pid": os.getpid()})
        except OSError:
            return  # the client gave up meanwhile: nothing to run for it
        _watch_client(reader)
        code = _run_command(request["argv"])
        sys.stdout.flush()
        sys.stderr.flush()
        # The client closes once it has the status; that must not interrupt this exit.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            send_message(connection, {"exit": code})
        except OSError:
            pass  # the client is gone: its audit stopped as on Ctrl-C, said above
    except BaseException:  # noqa: BLE001 - whatever happened goes to the user's stderr
        traceback.print_exc()
    finally:
        os._exit(code)


def _close_quietly(connection: socket.socket) -> None:
    try:
        connection.close()
    except OSError:
        pass


def _take_over(request: dict, fds: list[int]) -> None:
    for target, fd in zip(STD_FDS, fds, strict=True):
        os.dup2(fd, target)
        os.close(fd)
    encoding = request.get("encoding") or None
    # Closed by the audit's workers as a process of their own closes it (multiprocessing).
    sys.stdin = open(0, encoding=encoding)  # noqa: SIM115 - lives as the process
    sys.stdout = open(1, "w", closefd=False, encoding=encoding, buffering=1)  # noqa: SIM115
    sys.stderr = open(2, "w", closefd=False, encoding=encoding, buffering=1)  # noqa: SIM115
    umask = request.get("umask")
    if isinstance(umask, int) and 0 <= umask <= 0o777:
        os.umask(umask)  # the files the audit writes get the caller's permissions
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in request["env"].items()})


def _watch_client(reader: MessageReader) -> None:
    """Signals the client forwards are raised here; a client gone is a Ctrl-C."""

    def watch() -> None:
        while True:
            try:
                message = reader.read()
            except (OSError, ProtocolError):
                message = None
            if message is None:
                os.kill(os.getpid(), signal.SIGINT)
                return
            signum = message.get("signal")
            if signum in FORWARDED_SIGNALS:
                os.kill(os.getpid(), signum)

    threading.Thread(target=watch, name="beacon-serve-client", daemon=True).start()


def _run_command(argv: list[str]) -> int:
    from beacon_pipelines.cli.main import run_command  # it pauses the collector itself

    try:
        code = run_command(argv)
    except SystemExit as exc:  # argparse's usage errors and --help
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return code
