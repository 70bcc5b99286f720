"""The soak's progress: a live line on a terminal (rich), a plain line now and then in CI or a pipe."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from rich.console import Console
from rich.live import Live as RichLive
from rich.text import Text

from launchgate.gates.formatting import fmt_percent


def clock(seconds: float) -> str:
    s = int(max(0.0, seconds))
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def line(elapsed: float, total: float, snap: dict[str, Any], window: str, note: str = "") -> str:
    requests, failures = int(snap["requests"]), int(snap["failures"])
    errors = f"{failures:,} errors" + (f" ({fmt_percent(failures / requests)})" if requests else "")
    uptime = snap["uptime"]
    parts = [
        f"{clock(elapsed)} elapsed, {clock(total - elapsed)} left",
        f"{snap['rps']:.1f} req/s ({snap['users']} users)",
        errors,
        f"window {window}",
        f"uptime {fmt_percent(uptime) if uptime is not None else '-'}",
    ]
    if snap["down"]:
        parts.append(f"DOWN: {', '.join(snap['down'])}")
    if note:
        parts.append(note)
    return " | ".join(parts)


class Progress:
    def __init__(self, plain_every: float = 10.0, label: str = "soak") -> None:
        self.label = label
        self.interactive = sys.stdout.isatty() and not os.environ.get("CI")
        self.plain_every = plain_every
        self._last_plain = 0.0
        self._live: RichLive | None = None

    def __enter__(self) -> Progress:
        if self.interactive:
            self._live = RichLive(Text(""), console=Console(), refresh_per_second=2, transient=False)
            self._live.__enter__()
        return self

    def update(self, text: str, force: bool = False) -> None:
        if self._live is not None:
            self._live.update(Text(text))
            return
        now = time.monotonic()
        if force or now - self._last_plain >= self.plain_every:
            self._last_plain = now
            print(f"{self.label}: {text}", flush=True)

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
