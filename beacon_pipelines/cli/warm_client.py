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
    NO_SERVE_ENV,
    STD_FDS,
    MessageReader,
    ProtocolError,
    send_message,
    socket_path,
)
from beacon_pipelines.instance.errors import InstanceUnavailableError
from beacon_pipelines.instance.home import dagster_home

FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# How often the client checks that its audit process still exists (killed with SIGKILL, an
# audit process cannot say goodbye).
ALIVE_POLL_S = 1.0
EXIT_LOST = 1


def run_served(argv: list[str]) -> int | None:
    if os.environ.get(NO_SERVE_ENV, "").strip() in ("1", "true", "yes"):
        return None
    try:
        path = socket_path(dagster_home())
    except InstanceUnavailableError:
        return None  # the command itself reports it
    if not path.is_socket():
        return None
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(str(path))
        send_message(
            connection,
            {
                "argv": argv,
                "cwd": os.getcwd(),
                "env": dict(os.environ),
                "encoding": sys.stdout.encoding,
            },
            fds=STD_FDS,
        )
        reader = MessageReader(connection)
        hello = reader.read()
    except (OSError, ProtocolError):
        connection.close()
        return None
    if hello is None or not isinstance(hello.get("pid"), int):
        connection.close()
        return None  # sent back: the server restarts (its code changed), or is stopping
    with connection:
        return _wait(connection, reader, hello["pid"])


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
            elif not _alive(pid):
                return _lost(pid)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _lost(pid: int) -> int:
    print(
        f"beacon audit: the audit's process {pid} (in beacon serve) ended without an exit "
        "status; `beacon audits` shows where the audit stands",
        file=sys.stderr,
    )
    return EXIT_LOST
