"""The soak's preflight: a service that refuses connections is unreachable at once; one that accepts them but is
slow to answer (a busy host, a deployment under load) is waited for, within a bound, and never called down."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from launchgate.soak.target import answers


@pytest.fixture
def slow_then_fast() -> Iterator[str]:
    """A server whose first connection gets no answer for 2 s and whose later ones are answered at once."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        first = True
        deadline = time.monotonic() + 30  # bounded, whatever the test does
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(4096)
                if first:
                    first = False
                    stop.wait(2.0)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/health"
    stop.set()
    thread.join(5)
    server.close()


def test_a_slow_service_is_waited_for_within_the_patience(slow_then_fast: str) -> None:
    assert answers(slow_then_fast, timeout=0.5, patience=10) is None


def test_without_patience_a_slow_service_is_named_by_its_timeout(slow_then_fast: str) -> None:
    assert answers(slow_then_fast, timeout=0.5) == "ReadTimeout"


def test_a_refused_connection_is_final_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real_get = httpx.get
    monkeypatch.setattr(httpx, "get", lambda url, **kw: (calls.append(url), real_get(url, **kw))[1])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, never listening: refused
        why = answers(f"http://127.0.0.1:{sock.getsockname()[1]}/health", timeout=0.5, patience=10)
    assert why == "ConnectError"
    assert len(calls) == 1, "a refusal is not tried again"
