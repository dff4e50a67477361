"""What `beacon serve` and a `beacon audit` it serves say to each other, and where.

One Unix socket per Dagster home, inside it (owner-only, like the home's databases): a client
asks the server of the instance it would use, or runs the audit itself. Messages are JSON
lines; the request also carries the client's stdin, stdout and stderr (SCM_RIGHTS), so the
audit writes to the user's terminal, pipe or log file directly.
"""

from __future__ import annotations

import json
import signal
import socket
import struct
import sys
from pathlib import Path

SOCKET_NAME = "beacon-serve.sock"
# sun_path holds 108 bytes on Linux, 104 on macOS, terminator included.
MAX_SOCKET_PATH = 103
# Set to 1 to run `beacon audit` in its own process even when a server is up.
NO_SERVE_ENV = "BEACON_NO_SERVE"
STD_FDS = (0, 1, 2)
# Signals a client forwards to its audit: what a terminal or a process manager sends.
FORWARDED_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
PACKAGE_DIR = Path(__file__).resolve().parents[1]


class ProtocolError(Exception):
    pass


def installation() -> list[str]:
    """Which Beacon and which Python environment: a server serves clients of its own only."""
    return [str(PACKAGE_DIR), sys.prefix]


def peer_uid(connection: socket.socket) -> int | None:
    """The user id of the process at the other end, where the system says (Linux); None
    elsewhere, where the socket file's owner and mode are the check."""
    if not hasattr(socket, "SO_PEERCRED"):
        return None
    credentials = connection.getsockopt(
        socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")
    )
    return struct.unpack("3i", credentials)[1]


def socket_path(home: Path) -> Path:
    return Path(home) / SOCKET_NAME


def check_socket_path(path: Path) -> None:
    if len(str(path).encode()) > MAX_SOCKET_PATH:
        raise ProtocolError(
            f"the socket path {path} is {len(str(path).encode())} bytes, more than a Unix "
            f"socket allows ({MAX_SOCKET_PATH}); use a Dagster home with a shorter path"
        )


def send_message(sock: socket.socket, message: dict, fds: tuple[int, ...] = ()) -> None:
    data = (json.dumps(message) + "\n").encode()
    if fds:
        # The descriptors ride on the first byte; the rest follows as plain stream data.
        socket.send_fds(sock, [data[:1]], list(fds))
        data = data[1:]
    sock.sendall(data)


class MessageReader:
    """JSON lines from a stream socket, and the descriptors the first one carried."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buffer = b""
        self.fds: list[int] = []

    def read(self, max_fds: int = 0) -> dict | None:
        """The next message; None when the peer closed the connection."""
        while b"\n" not in self.buffer:
            if max_fds and not self.fds:
                chunk, fds, _, _ = socket.recv_fds(self.sock, 65536, max_fds)
                self.fds.extend(fds)
            else:
                chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            message = json.loads(line)
        except ValueError as exc:
            raise ProtocolError(f"not a JSON message: {exc}") from None
        if not isinstance(message, dict):
            raise ProtocolError("a message must be a JSON object")
        return message
