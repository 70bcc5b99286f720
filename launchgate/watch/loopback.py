"""An HTTP server on 127.0.0.1 in a daemon thread: the watch's two (Alertmanager's webhooks, the report)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class LoopbackServer:
    def __init__(self, handler: Callable[..., BaseHTTPRequestHandler], port: int, name: str) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)  # type: ignore[arg-type]
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name=name, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> Any:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
