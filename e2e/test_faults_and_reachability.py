"""The suite fails where it should: a dropped email fails the delivery check, with its trace kept; a
stopped target stops the run at once, naming the URL that did not answer."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from e2e.conftest import FlowFactory
from e2e.flows import DELIVERY_STEP, campaign_to_chain
from e2e.target import E2ETarget
from launchgate import paths

pytestmark = pytest.mark.browser
PROJECT_ROOT = paths.ROOT


@pytest.mark.needs_faulted_stack(["drop-email"], services=["conduit"])
def test_a_dropped_email_fails_the_delivery_check_with_a_trace(
    make_flow: FlowFactory, faulted_target: E2ETarget, tmp_path: Path
) -> None:
    # Evidence of this deliberate failure goes to a run directory of its own, never the gate run's.
    run_dir = tmp_path / "fault-drop-email"
    flow = make_flow("The campaign flow against a stack that drops one email", run_dir=run_dir,
                     target="reference+drop-email")
    with pytest.raises(AssertionError, match="mail sink holds 0 email"):
        campaign_to_chain(flow, faulted_target, governed=False)  # the agents approve; no DAO vote to wait for
    assert flow.failed_step == DELIVERY_STEP, f"the flow failed at {flow.failed_step!r}: {flow.error}"
    passed = [s.name for s in flow.steps if s.status == "passed"]
    assert "the campaign executes and completes" in passed, f"steps before delivery should pass: {passed}"
    traces = [a for a in flow.attachments if a.endswith(".zip")]
    assert traces and all((run_dir / t).stat().st_size > 0 for t in traces), f"no trace kept: {flow.attachments}"
    assert any(a.endswith("failure-new-member.png") for a in flow.attachments), flow.attachments
    record = flow.evidence(outcome="failed", nodeid="check")  # what teardown writes into run_dir
    assert record.details["failed_step"] == DELIVERY_STEP and set(traces) <= set(record.attachments)


class StoppedTargetRun:
    """`pytest e2e` against a profile whose services nobody runs, started at collection (it needs no stack,
    so it runs beside the stacks' start instead of after the flows)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="e2e-stopped-"))
        profile = self.dir / "stopped.toml"
        profile.write_text(
            'name = "stopped"\nenvironment = "mock"\n'
            '[services.gateway]\nurl = "http://127.0.0.1:9"\n'
            '[api]\nemail = "http://127.0.0.1:9"\n'
        )
        self.started = time.monotonic()
        self.log = (self.dir / "pytest.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pytest", str(PROJECT_ROOT / "e2e" / "test_campaign_flows.py"), "-m", "browser",
             f"--target={profile}", f"--run-dir={self.dir / 'run'}", "-p", "no:cacheprovider", "-q"],
            cwd=PROJECT_ROOT, stdout=self.log, stderr=subprocess.STDOUT, text=True,
        )
        self.finished: float | None = None
        # Notes when the run gave up, however late the test reads it.
        self._watch = threading.Thread(target=self._wait, daemon=True, name="stopped-target-probe")
        self._watch.start()

    def _wait(self) -> None:
        self.process.wait()
        self.finished = time.monotonic()

    def result(self, timeout: float) -> tuple[int, str, float]:
        code = self.process.wait(timeout)
        self._watch.join(5)
        self.log.close()
        return code, (self.dir / "pytest.log").read_text(), (self.finished or time.monotonic()) - self.started

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.mark.early_probe("stopped-target", StoppedTargetRun)
def test_a_stopped_target_fails_at_once_naming_the_url(early_probe: StoppedTargetRun) -> None:
    code, output, elapsed = early_probe.result(timeout=180)
    assert code == 2, f"exit {code} after {elapsed:.0f} s:\n{output[-2000:]}"
    assert "cannot reach http://127.0.0.1:9/health" in output, output[-2000:]
    # It stopped before any browser or flow: no wait timed out, no flow left a record or a screenshot.
    assert "TimeoutError" not in output and "Timeout " not in output, output[-2000:]
    assert not (early_probe.dir / "run" / "artifacts").exists(), "a flow ran against the stopped target"
