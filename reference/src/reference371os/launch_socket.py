"""The client side of the warm launcher (`python -m reference371os.launcher --serve SOCKET`).

Kept apart from launcher.py so that starting a stack does not import the services' frameworks.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

LAUNCH_SERVER_ENV = "LAUNCHGATE_LAUNCH_SERVER"
MAX_REQUEST_BYTES = 4 << 20


class NoWarmLauncher(Exception):
    pass


def read_all(conn: socket.socket) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := conn.recv(65536):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_REQUEST_BYTES:
            raise ValueError("request too large")
    return b"".join(chunks)


def launch_via(path: str, specs: list[dict[str, Any]], log: Path, timeout: float) -> str | None:
    """Asks the warm launcher at `path` to start `specs`: None once it did, else why it could not. NoWarmLauncher
    when none answers there, before anything started (the caller then starts a launcher of its own)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        try:
            conn.connect(path)
        except OSError as exc:
            raise NoWarmLauncher(str(exc)) from None
        try:
            conn.sendall(json.dumps({"specs": specs, "cwd": os.getcwd(), "log": str(log)}).encode())
            conn.shutdown(socket.SHUT_WR)
            answer = read_all(conn).decode(errors="replace")
        except TimeoutError:
            return f"the warm launcher did not answer within {timeout:.0f} s"
        except OSError as exc:
            return f"the warm launcher failed: {exc}"
    return None if answer == "ok" else answer or "the warm launcher closed the connection without an answer"
