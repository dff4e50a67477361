"""`beacon audit`'s side of `beacon serve`: hand the audit to the server of this Dagster home,
if one is up, and wait for its exit status; None means run it here.

This module is imported before anything heavy: its whole point is that the client does not
import Dagster. Every failure to reach a server quietly falls back to running the audit here.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import sys

from beacon_pipelines.cli.serve_protocol import (
    FORWARDED_SIGNALS,
    NO_SERVE_ENV,
    STD_FDS,
    MessageReader,
    ProtocolError,
    installation,
    peer_uid,
    send_message,
    socket_path,
)
from beacon_pipelines.instance.errors import InstanceUnavailableError
from beacon_pipelines.instance.home import dagster_home
from beacon_pipelines.worker_process import process_exists

# How often the client checks that its audit process still exists (killed with SIGKILL, an
# audit process cannot say goodbye).
ALIVE_POLL_S = 1.0
HANDOVER_TIMEOUT_S = 5.0
EXIT_LOST = 1
EXIT_INTERRUPTED = 130  # as `beacon audit` itself exits on Ctrl-C


def run_served(argv: list[str]) -> int | None:
    if os.environ.get(NO_SERVE_ENV, "").strip() in ("1", "true", "yes"):
        return None
    try:
        path = socket_path(dagster_home())
        # Never hand this environment (credentials included) to a socket another user made.
        if not path.is_socket() or path.lstat().st_uid != os.getuid():
            return None
    except (InstanceUnavailableError, OSError):
        return None  # the command itself reports it
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # A server stopped (Ctrl-Z) or stuck is not waited for: the audit then runs here.
    connection.settimeout(HANDOVER_TIMEOUT_S)
    try:
        connection.connect(str(path))
        if peer_uid(connection) not in (None, os.getuid()):
            connection.close()
            return None
        send_message(connection, _request(argv))
        reader = MessageReader(connection)
        asked = reader.read()
        if asked is None or not asked.get("streams"):
            # Sent back: the server restarts (its code changed), or serves another installation.
            connection.close()
            return None
        send_message(connection, {"streams": True}, fds=STD_FDS)
        hello = reader.read()
    except (OSError, ProtocolError):
        connection.close()
        return None
    except KeyboardInterrupt:
        connection.close()  # a child forked meanwhile sees it closed and stops
        print("beacon audit: interrupted before the audit started", file=sys.stderr)
        return EXIT_INTERRUPTED
    if hello is None or not isinstance(hello.get("pid"), int):
        connection.close()
        return None
    connection.settimeout(None)
    with connection:
        return _wait(connection, reader, hello["pid"])


def _request(argv: list[str]) -> dict:
    umask = os.umask(0)
    os.umask(umask)
    return {
        "argv": argv,
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "encoding": sys.stdout.encoding,
        "umask": umask,
        "installation": installation(),
    }


def _wait(connection: socket.socket, reader: MessageReader, pid: int) -> int:
    def forward(signum, frame) -> None:
        try:
            send_message(connection, {"signal": signum})
        except OSError:
            pass

    previous = {s: signal.signal(s, forward) for s in FORWARDED_SIGNALS}
    try:
        while True:
            readable, _, _ = select.select([connection], [], [], ALIVE_POLL_S)
            if readable:
                message = reader.read()
                if message is None:
                    return _lost(pid)
                if "exit" in message:
                    return int(message["exit"])
            elif not process_exists(pid):
                return _lost(pid)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _lost(pid: int) -> int:
    print(
        f"beacon audit: the audit's process {pid} (in beacon serve) ended without an exit "
        "status; `beacon audits` shows where the audit stands",
        file=sys.stderr,
    )
    return EXIT_LOST
