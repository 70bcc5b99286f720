"""`launchgate watch --serve PORT`: the latest report on 127.0.0.1, refreshing itself with a meta refresh (no
script), and the run directory's files it links to. Nothing is served from outside the run directory."""

from __future__ import annotations

from functools import partial
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

from launchgate.watch.loopback import LoopbackServer


class ReportServer:
    def __init__(self, run_dir: Path, port: int, refresh_s: float) -> None:
        refresh = max(5, round(refresh_s))

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path in ("/", "/index.html"):
                    self._index()
                    return
                super().do_GET()

            def _index(self) -> None:
                try:
                    page = (run_dir / "index.html").read_text(encoding="utf-8")
                except OSError:
                    page = "<!doctype html><title>launchgate watch</title><p>The first report is being built.</p>"
                # The page reloads itself as often as the report is rebuilt: an open tab stays current.
                page = page.replace("<head>", f'<head>\n<meta http-equiv="refresh" content="{refresh}">', 1)
                raw = page.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(raw)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *_: object) -> None:
                pass

        self._http = LoopbackServer(partial(Handler, directory=str(run_dir)), port, "watch-serve")

    @property
    def url(self) -> str:
        return f"{self._http.url}/"

    def start(self) -> ReportServer:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()
