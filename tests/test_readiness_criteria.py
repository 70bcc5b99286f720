"""The criteria no stack fault can break, shown to fail on bad inputs: testing.coverage and testing.integration
from the result files a profile names, data.tls from a profile with a plain-http endpoint off the host.

The gate suite runs in its own pytest process against a profile that points at the session's stack.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from launchgate.drivers.transport import read_transport
from launchgate.evidence import Evidence, read_evidence
from launchgate.gates.loader import load_gates
from launchgate.gates.scoring import score
from launchgate.runner import PROJECT_ROOT
from tests.conftest import RunningStack

FAILING_JUNIT = """<testsuites><testsuite name="conduit">
<testcase classname="conduit" name="creates a campaign"/>
<testcase classname="conduit" name="files a DAO proposal"><failure message="governance answered 503"/></testcase>
</testsuite></testsuites>"""


def profile(tmp_path: Path, stack: RunningStack, extra: str) -> Path:
    path = tmp_path / "bad-inputs.toml"
    path.write_text(f"""name = "bad-inputs"
environment = "mock"
managed = false
capabilities = []
[services.gateway]
url = "{stack.gateway}"
[api]
email = "{stack.gateway}"
[auth]
mode = "none"
{extra}""")
    return path


def run_features(profile_path: Path, run_dir: Path, *selection: str) -> list[Evidence]:
    args = [sys.executable, "-m", "pytest", *selection, f"--target={profile_path}", f"--run-dir={run_dir}",
            "-q", "--no-header", "-p", "no:cacheprovider"]
    subprocess.run(args, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=False)
    records, bad = read_evidence(run_dir)
    assert not bad
    return records


def verdicts(records: list[Evidence]) -> dict[str, str]:
    result = score(load_gates(PROJECT_ROOT / "gates.yaml"), records, gates=["preconditions"])
    return {c.id: c.verdict for gate in result.gates for c in gate.criteria}


def test_low_coverage_failing_integration_and_plain_http_fail_their_criteria(
    stack: RunningStack, tmp_path: Path
) -> None:
    coverage = tmp_path / "coverage.json"
    coverage.write_text(json.dumps({"totals": {"covered_lines": 50, "num_statements": 100}}))
    junit = tmp_path / "junit.xml"
    junit.write_text(FAILING_JUNIT)
    extra = f"""[monitoring]
prometheus = "http://prometheus.staging.example"
[files]
coverage = "{coverage}"
integration_junit = "{junit}"
"""
    records = run_features(profile(tmp_path, stack, extra), tmp_path / "run", "features/test_testing.py",
                           "features/test_data_readiness.py", "-k", "coverage or integration or encrypted")
    by_criterion = {r.criterion: r for r in records if r.kind == "scenario"}
    assert by_criterion["testing.integration"].outcome == "failed"
    error = by_criterion["testing.integration"].details["error"]
    assert "files a DAO proposal failed: governance answered 503" in error
    assert by_criterion["data.tls"].outcome == "failed"
    assert "Prometheus uses http://, not https://" in by_criterion["data.tls"].details["error"]
    (measured,) = [r for r in records if r.kind == "measurement" and r.criterion == "testing.coverage"]
    assert (measured.criterion, measured.value) == ("testing.coverage", 0.5)
    judged = verdicts(records)
    assert (judged["testing.coverage"], judged["testing.integration"], judged["data.tls"]) == ("fail", "fail", "fail")


def test_a_broken_coverage_file_fails_naming_it_and_missing_means_inconclusive(
    stack: RunningStack, tmp_path: Path
) -> None:
    broken = tmp_path / "cobertura.xml"
    broken.write_text("<coverage lines-covered='9'")
    records = run_features(profile(tmp_path, stack, f'[files]\ncoverage = "{broken}"\n'), tmp_path / "broken",
                           "features/test_testing.py")
    by_criterion = {r.criterion: r for r in records if r.kind == "scenario"}
    assert by_criterion["testing.coverage"].outcome == "failed"
    assert f"{broken}: cobertura: not well-formed XML" in by_criterion["testing.coverage"].details["error"]
    assert by_criterion["testing.integration"].outcome == "skipped"
    assert "names neither an integration command" in by_criterion["testing.integration"].details["reason"]
    records = run_features(profile(tmp_path, stack, ""), tmp_path / "none", "features/test_testing.py",
                           "features/test_data_readiness.py")
    by_criterion = {r.criterion: r for r in records if r.kind == "scenario"}
    assert "names no coverage report" in by_criterion["testing.coverage"].details["reason"]
    assert "gives no database access" in by_criterion["data.encryption-at-rest"].details["reason"]
    assert "names no snapshot or restore command" in by_criterion["rollback.db-snapshot"].details["reason"]
    assert verdicts(records)["testing.coverage"] == "inconclusive"


# -- encryption in transit, endpoint by endpoint ---------------------------------------------------------
def answering(status: int, location: str = "", refuse_http: bool = False, bad_tls: bool = False):  # type: ignore[no-untyped-def]
    def probe(url: str) -> httpx.Response:
        request = httpx.Request("GET", url)
        if url.startswith("https://") and bad_tls:
            raise httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed", request=request)
        if url.startswith("http://") and refuse_http:
            raise httpx.ConnectError("Connection refused", request=request)
        if url.startswith("https://"):
            return httpx.Response(200, request=request)
        return httpx.Response(status, headers={"location": location} if location else {}, request=request)

    return probe


@pytest.mark.parametrize(
    ("url", "probe", "verdict", "says"),
    [
        ("http://127.0.0.1:18370", answering(200), "loopback", "loopback interface"),
        ("http://[::1]:8080", answering(200), "loopback", "loopback interface"),
        ("http://api.example.org", answering(200), "finding", "uses http://, not https://"),
        ("https://api.example.org", answering(301, "https://api.example.org/"), "encrypted", "redirects (301)"),
        ("https://api.example.org", answering(200, refuse_http=True), "encrypted", "plain http is refused"),
        ("https://api.example.org", answering(200), "finding", "answers 200 instead of refusing or redirecting"),
        ("https://api.example.org", answering(302, "http://api.example.org/login"), "finding", "answers 302"),
        ("https://api.example.org", answering(200, bad_tls=True), "finding", "TLS certificate or handshake"),
    ],
)
def test_each_endpoint_is_judged(url: str, probe, verdict: str, says: str) -> None:  # type: ignore[no-untyped-def]
    reading = read_transport("the API", url, probe)
    assert reading.verdict == verdict
    assert says in reading.detail
