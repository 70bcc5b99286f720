"""One browser flow's record: its actors (a browser context each), its named steps, and what it leaves behind.

Every actor is traced from the start, and the first (the flow's protagonist) is filmed. When a step fails,
the failing step is named, each actor's page is photographed and its trace saved at once, so a test that
expects the failure can still find the trace. Whatever the outcome, the flow ends with a screenshot of its
last page. Passing flows keep only their screenshots; failing ones keep traces, screenshots and video. The
flow's `scenario` evidence record lists them as paths relative to the run directory, so the report links them.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page

from e2e.browser import BrowserSetup
from launchgate.evidence import Evidence, EvidenceWriter, now_iso

VIEWPORT = {"width": 1280, "height": 900}
ACTION_TIMEOUT_MS = 10_000


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "flow"


@dataclass
class Actor:
    label: str
    context: BrowserContext
    page: Page
    tracing: bool = True


@dataclass
class StepResult:
    name: str
    status: str
    seconds: float
    error: str | None = None

    def as_detail(self) -> dict[str, Any]:
        out: dict[str, Any] = {"keyword": "Step", "name": self.name, "status": self.status,
                               "seconds": round(self.seconds, 3)}
        if self.error:
            out["error"] = self.error
        return out


@dataclass
class FlowRecorder:
    title: str
    browser: Browser
    setup: BrowserSetup
    run_dir: Path
    criterion: str | None = "core.e2e-data-flow"
    gate: str | None = "alpha"
    target: str = "reference"
    tags: list[str] = field(default_factory=list)
    actors: dict[str, Actor] = field(default_factory=dict)
    steps: list[StepResult] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    # Saved browser sessions by role ("ceo", "member", ...), so a flow's actors need not log in again.
    sessions: Callable[[str], dict[str, Any]] | None = None
    failed_step: str | None = None
    error: str | None = None
    started: str = field(default_factory=now_iso)
    t0: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.dir = self.run_dir / "artifacts" / "e2e" / slug(self.title)
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        self._videos = self.dir / ".video"

    # -- actors ------------------------------------------------------------------------------------
    def actor(self, label: str, *, signed_in_as: str | None = None) -> Page:
        """A browser of its own (cookies, session) for one person in the flow, traced and filmed; with
        `signed_in_as`, it starts logged in with the saved session of that role."""
        if label in self.actors:
            return self.actors[label].page
        options: dict[str, Any] = {"viewport": VIEWPORT, "locale": "en-GB"}
        if signed_in_as is not None:
            assert self.sessions is not None, "this flow has no saved sessions"
            options["storage_state"] = self.sessions(signed_in_as)
        # Video costs a fifth of the suite's CPU per filmed browser: only the flow's protagonist (its first
        # actor) is filmed; everyone's trace and failure screenshot are kept all the same.
        if self.setup.video and not self.actors:
            options["record_video_dir"] = str(self._videos / slug(label))
            options["record_video_size"] = {"width": 800, "height": 562}
        context = self.browser.new_context(**options)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        # DOM snapshots per action; the video is the visual timeline, so the trace takes no screenshots of its own.
        context.tracing.start(title=f"{self.title}: {label}", screenshots=False, snapshots=True)
        page = context.new_page()
        page.on("console", lambda msg, who=label: self._console(who, msg))
        page.on("pageerror", lambda exc, who=label: self.console_errors.append(f"{who}: page error: {exc}"))
        self.actors[label] = Actor(label, context, page)
        return page

    def _console(self, who: str, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(f"{who}: {message.text} ({message.location.get('url', '')})")

    # -- steps -------------------------------------------------------------------------------------
    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        except pytest.skip.Exception as exc:  # the step cannot run here (inconclusive), which is no failure
            self.steps.append(StepResult(name, "skipped", time.monotonic() - start, str(exc.msg)[:2000]))
            raise
        except BaseException as exc:
            message = f"{type(exc).__name__}: {exc}"[:2000]
            self.steps.append(StepResult(name, "failed", time.monotonic() - start, message))
            if self.failed_step is None:
                self.failed_step, self.error = name, message
                self._keep_failure_evidence()
            raise
        self.steps.append(StepResult(name, "passed", time.monotonic() - start))

    def _keep_failure_evidence(self) -> None:
        for actor in self.actors.values():
            self._snap(actor.page, f"failure-{slug(actor.label)}.png")
            self._stop_trace(actor, keep=True)

    def _stop_trace(self, actor: Actor, *, keep: bool) -> None:
        if not actor.tracing:
            return
        actor.tracing = False
        try:
            if keep:
                path = self.dir / f"trace-{slug(actor.label)}.zip"
                actor.context.tracing.stop(path=str(path))
                self._attach(path)
            else:
                actor.context.tracing.stop()
        except Exception as exc:  # a crashed browser must not hide the failure that is being recorded
            self.console_errors.append(f"{actor.label}: trace not saved: {exc}")

    # -- artifacts ---------------------------------------------------------------------------------
    def screenshot(self, label: str, name: str) -> Path:
        """A full-page screenshot of an actor's page, always kept."""
        return self._snap(self.actors[label].page, name)

    def _snap(self, page: Page, name: str) -> Path:
        path = self.dir / name
        try:
            page.screenshot(path=str(path), full_page=True)
            self._attach(path)
        except Exception as exc:  # the page may be gone; the other evidence still counts
            self.console_errors.append(f"screenshot {name} not taken: {exc}")
        return path

    def _attach(self, path: Path) -> None:
        rel = path.resolve().relative_to(self.run_dir.resolve()).as_posix()
        if rel not in self.attachments:
            self.attachments.append(rel)

    def close(self, *, test_failed: bool) -> None:
        """Ends the flow: keeps failure evidence (traces, videos), drops what a passing flow does not need."""
        failed = test_failed or self.failed_step is not None
        if failed and self.failed_step is None:
            # The test failed outside any named step (an assertion in the test body).
            self.failed_step = "(outside the named steps)"
            self._keep_failure_evidence()
        for actor in self.actors.values():
            self._stop_trace(actor, keep=False)
            video = actor.page.video
            try:
                actor.context.close()
            except Exception as exc:  # see _stop_trace
                self.console_errors.append(f"{actor.label}: context not closed cleanly: {exc}")
            if failed and video is not None:
                source = Path(video.path())
                if source.exists():
                    kept = self.dir / f"video-{slug(actor.label)}.webm"
                    source.replace(kept)
                    self._attach(kept)
        shutil.rmtree(self._videos, ignore_errors=True)

    # -- evidence ----------------------------------------------------------------------------------
    def evidence(self, *, outcome: str, nodeid: str, reason: str | None = None) -> Evidence:
        details: dict[str, Any] = {
            "feature": "End-to-end campaign flows (browser)",
            "scenario": self.title,
            "location": nodeid,
            "tags": sorted({*self.tags, "e2e", "browser"}),
            "critical": "critical" in self.tags,
            "steps": [s.as_detail() for s in self.steps],
            "nodeid": nodeid,
            "browser": str(self.setup.executable or "playwright chromium"),
            "recording": self.setup.note,
        }
        if self.failed_step:
            details["failed_step"] = self.failed_step
            details["error"] = self.error
        if self.console_errors:
            details["console_errors"] = self.console_errors[:50]
        if reason:
            details["reason"] = reason
            details["inconclusive"] = reason.startswith("inconclusive: ")
        return Evidence(
            run=self.run_dir.name, kind="scenario", name=self.title, outcome=outcome,  # type: ignore[arg-type]
            criterion=self.criterion, gate=self.gate, value=round(time.monotonic() - self.t0, 3), unit="s",
            started=self.started, target=self.target, attachments=list(self.attachments), details=details,
        )

    def write(self, writer: EvidenceWriter, **kwargs: Any) -> Evidence:
        record = self.evidence(**kwargs)
        writer.write(record)
        return record
