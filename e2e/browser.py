"""Which browser the suite drives and what it records, decided once per process before Playwright starts.

Debian's Chromium is used when it is installed (no browser download needed); otherwise Playwright's own.
Video needs the ffmpeg build Playwright downloads; when that is missing, the system's ffmpeg stands in
for it through a project-local registry directory, and with no ffmpeg at all videos are simply off.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import playwright

from launchgate import paths

SYSTEM_CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PROJECT_ROOT = paths.ROOT
LOCAL_REGISTRY = PROJECT_ROOT / ".launchgate" / "playwright"
DEFAULT_REGISTRY = Path.home() / ".cache" / "ms-playwright"
VIDEO_ENV = "LAUNCHGATE_E2E_VIDEO"


@dataclass(frozen=True)
class BrowserSetup:
    executable: Path | None  # None: Playwright's own Chromium
    video: bool
    note: str

    def launch_args(self) -> dict[str, object]:
        args: dict[str, object] = {"args": list(LAUNCH_ARGS)}
        if self.executable is not None:
            args["executable_path"] = str(self.executable)
        return args


def _ffmpeg_revision() -> str | None:
    browsers = Path(playwright.__file__).parent / "driver" / "package" / "browsers.json"
    try:
        entries = json.loads(browsers.read_text())["browsers"]
    except (OSError, ValueError, KeyError):
        return None
    return next((str(b["revision"]) for b in entries if b.get("name") == "ffmpeg"), None)


def prepare() -> BrowserSetup:
    """Picks the browser and makes video work if it can. Call before the first sync_playwright()."""
    executable = SYSTEM_CHROMIUM if SYSTEM_CHROMIUM.exists() else None
    if os.environ.get(VIDEO_ENV, "on").lower() in ("off", "0", "no"):
        return BrowserSetup(executable, False, f"no video: {VIDEO_ENV}=off")
    revision = _ffmpeg_revision()
    registry = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or DEFAULT_REGISTRY)
    if revision and (registry / f"ffmpeg-{revision}" / "ffmpeg-linux").exists():
        return BrowserSetup(executable, True, "video by Playwright's ffmpeg")
    system_ffmpeg = shutil.which("ffmpeg")
    # Only when the system's Chromium is used: pointing the registry elsewhere hides Playwright's own browsers.
    if revision and system_ffmpeg and executable is not None:
        target = LOCAL_REGISTRY / f"ffmpeg-{revision}" / "ffmpeg-linux"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.unlink(missing_ok=True)
            target.symlink_to(system_ffmpeg)
        os.environ["PLAYWRIGHT_BROWSERS_PATH"] = str(LOCAL_REGISTRY)
        return BrowserSetup(executable, True, f"video by the system's ffmpeg ({system_ffmpeg})")
    return BrowserSetup(executable, False, "no video: ffmpeg is not installed")
