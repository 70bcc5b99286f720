"""The report: outputs, escaping, redaction, JUnit shape, history, soak charts, and a real browser."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest

from launchgate.evidence import Evidence, EvidenceWriter
from launchgate.gates.loader import GatesConfigError
from launchgate.redact import MASK, Redactor, sensitive_field
from launchgate.report.build import ReportError, build_report, report_command
from launchgate.report.html import attachment_link, external_href
from launchgate.report.series import soak_series

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2025, 11, 1, tzinfo=UTC)
XSS = '<script>window.__pwned=1;alert(1)</script>'
IMG = '<img src=x onerror="window.__pwned=1">'
ENV_SECRET = "tok-very-secret-123"
STACK_SECRET = "s3cr3t-jwt-value-xyz"
HEX_KEY = "0x" + "ab" * 32
API_KEY = "lg_AbCdEfGhIjKlMnOp"
TX = "0x" + "12" * 32
ENVIRON = {"LG_TEST_API_TOKEN": ENV_SECRET, "HOME": "/root", "SHORT_KEY": "1"}


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def gates_with_waiver(tmp_path: Path) -> Path:
    text = (ROOT / "gates.yaml").read_text().replace(
        "waivers: []",
        "waivers:\n  - {criterion: rollback.canary, approver: Jane, reason: ships in 1.1, expires: 2999-01-01}",
    )
    path = tmp_path / "gates.yaml"
    path.write_text(text)
    return path


def hostile_run(reports: Path, name: str = "run-1", *, campaign_ok: bool = False) -> Path:
    """A run whose evidence tries every trick: markup, script URLs, secrets, control characters."""
    run = reports / name
    (run / "artifacts").mkdir(parents=True)
    (run / "artifacts" / "shot.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (run / "stack").mkdir()
    (run / "stack" / "secrets.json").write_text(json.dumps({"jwt_secret": STACK_SECRET, "role_passwords": {}}))
    w = EvidenceWriter(run, "scenarios-main")
    for i in range(24):
        w.write(Evidence(run=name, kind="scenario", name=f"healthy {i}", outcome="passed",
                         criterion="env.separation", details={"tags": ["preconditions"]}))
    error = (f"AssertionError: campaign {XSS} failed; token={ENV_SECRET} key={HEX_KEY} api={API_KEY} "
             f"jwt={STACK_SECRET}\x00")
    w.write(Evidence(
        run=name, kind="scenario", name=f"Campaign {XSS}", outcome="passed" if campaign_ok else "failed",
        criterion="core.campaign-creation", gate="alpha",
        attachments=["artifacts/shot.png", "javascript:window.__pwned=1", "/etc/passwd",
                     str(run / "artifacts" / "shot.png")],
        details={"tags": ["alpha", "critical", "criterion.core.campaign-creation"], "location": "features/c.feature:9",
                 "api_key": "sk-live-abcdef", "error": error,
                 "steps": [{"keyword": "Given", "name": f"a campaign named {IMG}", "line": 3, "status": "passed"},
                           {"keyword": "Then", "name": "it is delivered", "line": 4, "status": "failed",
                            "error": error}]},
    ))
    chain = EvidenceWriter(run, "chain")
    for i, url in enumerate((f"https://explorer.test/tx/{TX}", "javascript:window.__pwned=1")):
        chain.write(Evidence(run=name, kind="chain", name="campaign anchored", outcome="passed",
                             details={"subject": f"{XSS}-{i}", "subject_kind": "campaign", "tx_hash": TX,
                                      "explorer_url": url}))
    soak = EvidenceWriter(run, "soak")
    soak.write(Evidence(run=name, kind="measurement", name="latency series", outcome="passed", started=iso(T0),
                        details={"series": {"metric": "latency_ms", "service": '"><svg onload=window.__pwned=1>',
                                            "points": [[T0.timestamp() + s, 10 + s % 7] for s in range(600)]}}))
    with (run / "evidence" / "broken.jsonl").open("w") as fh:
        fh.write('{"kind": "scenario", "outcome": "maybe"}\n{"cut in the mid')
    return run


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, object]:
    reports = tmp_path / "reports"
    run = hostile_run(reports)
    result = build_report(run, gates_with_waiver(tmp_path), reports / "history.jsonl", environ=ENVIRON)
    return run, result


def test_build_report_writes_every_output_and_points_latest(built: tuple[Path, object]) -> None:
    run, result = built
    for name in ("index.html", "verdict.json", "junit.xml"):
        assert (run / name).is_file()
    assert os.readlink(run.parent / "latest") == run.name
    verdict = json.loads((run / "verdict.json").read_text())
    assert verdict["schema"] == 1 and verdict["run"] == "run-1"
    assert [g["id"] for g in verdict["gates"]] == ["preconditions", "alpha", "beta", "launch"]
    assert verdict["exit_code"] == result.exit_code == 1  # alpha: critical scenario failed
    assert {g.id: g.verdict for g in result.gates}["alpha"] == "fail"
    assert verdict["bad_lines"][0]["file"] == "evidence/broken.jsonl" and len(result.bad_lines) == 2
    history = (run.parent / "history.jsonl").read_text().splitlines()
    assert len(history) == 1 and json.loads(history[0])["run"] == "run-1"
    html = (run / "index.html").read_text()
    assert "evidence/broken.jsonl:1" in html


def test_html_escapes_everything_from_the_target(built: tuple[Path, object]) -> None:
    run, _ = built
    html = (run / "index.html").read_text()
    assert not re.search(r"<script|<img|<iframe|<svg onload", html, re.I)
    assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", html, re.I)  # no tag carries an event handler
    assert "&lt;script&gt;window.__pwned=1;alert(1)&lt;/script&gt;" in html
    assert not re.search(r"""href=["']?\s*javascript:""", html, re.I)
    assert "default-src &#39;none&#39;" not in html and "default-src 'none'" in html  # the CSP itself is ours
    assert not re.search(r"<link|src=[\"']?https?:|url\(", html, re.I)  # nothing external to fetch
    links = re.findall(r'href="([^"]+)"', html)
    assert f"https://explorer.test/tx/{TX}" in links
    assert "artifacts/shot.png" in links
    assert all(h.startswith(("#", "https://explorer.test/", "artifacts/", "verdict.json", "junit.xml"))
               for h in links), links
    assert "/etc/passwd</code>" in html and "(outside the run directory: not linked)" in html


def test_secrets_are_redacted_from_every_output(built: tuple[Path, object]) -> None:
    run, _ = built
    for name in ("index.html", "verdict.json", "junit.xml"):
        text = (run / name).read_text()
        for secret in (ENV_SECRET, STACK_SECRET, HEX_KEY, API_KEY, "sk-live-abcdef"):
            assert secret not in text, (name, secret)
        assert MASK in text, name
    verdict = (run / "verdict.json").read_text()
    assert TX in verdict  # declared transaction hashes stay: the report links them
    assert '"keyword": "Then"' in verdict  # a Gherkin keyword is not a "key"


def test_junit_has_one_testcase_per_criterion_with_failure_and_skipped(built: tuple[Path, object]) -> None:
    run, _ = built
    root = ET.parse(run / "junit.xml").getroot()
    verdict = json.loads((run / "verdict.json").read_text())
    criteria = {c["id"]: c for g in verdict["gates"] for c in g["criteria"]}
    cases = root.findall("./testsuite/testcase")
    assert root.tag == "testsuites" and int(root.get("tests")) == len(cases) == len(criteria)
    assert [s.get("name") for s in root.findall("testsuite")] == ["preconditions", "alpha", "beta", "launch"]
    failures = skipped = 0
    for case in cases:
        crit = criteria[case.get("name")]
        assert case.get("classname") == f"launchgate.{crit['gate']}"
        failure, skip = case.find("failure"), case.find("skipped")
        if crit["verdict"] == "fail":
            failures += 1
            assert failure is not None and skip is None and failure.get("message")
        elif crit["verdict"] in ("inconclusive", "waived"):
            skipped += 1
            assert skip is not None and failure is None and skip.get("message").startswith(crit["verdict"])
        else:
            assert failure is None and skip is None
    assert int(root.get("failures")) == failures >= 1 and int(root.get("skipped")) == skipped
    canary = next(c for c in cases if c.get("name") == "rollback.canary")
    assert canary.find("skipped").get("message").startswith("waived: Waived by Jane")
    campaign = next(c for c in cases if c.get("name") == "core.campaign-creation")
    assert "features/c.feature:9" in campaign.find("failure").text


def test_second_run_is_compared_with_the_first(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    gates = gates_with_waiver(tmp_path)
    history = reports / "history.jsonl"
    first = build_report(hostile_run(reports, "run-1", campaign_ok=True), gates, history, environ=ENVIRON)
    second = build_report(hostile_run(reports, "run-2"), gates, history, environ=ENVIRON)
    assert second.comparison is not None and second.comparison["previous_run"] == "run-1"
    assert {r["id"] for r in second.comparison["regressed"]} == {"core.campaign-creation", "alpha.no-critical"}
    alpha = next(g for g in second.comparison["gates"] if g["id"] == "alpha")
    assert alpha["change"] == "regressed" and first.score.comparison is None
    html = second.index_html.read_text()
    assert "Since the previous run" in html and "Gate scores over runs" in html
    assert os.readlink(reports / "latest") == "run-2"
    build_report(reports / "run-2", gates, history, environ=ENVIRON)  # a rebuild keeps one line per run
    assert len(history.read_text().splitlines()) == 2


def test_report_command_prints_a_summary_and_returns_the_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = hostile_run(tmp_path / "reports")
    code = report_command(run, ROOT / "gates.yaml", gates=["preconditions"])
    out = capsys.readouterr().out
    assert code == 3  # key preconditions have no evidence
    assert out.splitlines()[0] == "run run-1 (target reference)"
    assert re.search(r"^  preconditions +INCONCLUSIVE", out, re.M)
    assert f"report: {run / 'index.html'}" in out and "exit code 3" in out
    assert (tmp_path / "reports" / "history.jsonl").exists()
    with pytest.raises(GatesConfigError, match="unknown gate"):
        report_command(run, ROOT / "gates.yaml", gates=["gamma"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("gates:\n  a:\n    title: A\n    pass: x\n")
    with pytest.raises(GatesConfigError, match=r"bad.yaml:4: gates.a.pass"):
        report_command(run, bad)
    with pytest.raises(ReportError, match="no run directory"):
        report_command(tmp_path / "nope", ROOT / "gates.yaml")


def test_a_run_without_evidence_is_inconclusive_not_an_error(tmp_path: Path) -> None:
    run = tmp_path / "reports" / "empty"
    run.mkdir(parents=True)
    result = build_report(run, ROOT / "gates.yaml", tmp_path / "reports" / "history.jsonl")
    assert result.exit_code == 3 and all(g.verdict == "inconclusive" for g in result.gates)
    assert "No soak time series" in result.index_html.read_text()


# -- soak charts ------------------------------------------------------------------------------------------
def write_db(path: Path, keyed: bool, services: tuple[str, ...]) -> None:
    conn = sqlite3.connect(path)
    if keyed:
        conn.execute("CREATE TABLE samples (metric TEXT NOT NULL, service TEXT NOT NULL, ts REAL NOT NULL, "
                     "value REAL NOT NULL, PRIMARY KEY (metric, service, ts)) WITHOUT ROWID")
    else:
        conn.execute("CREATE TABLE samples (ts REAL, service TEXT, metric TEXT, value REAL)")
    rows = [("up", s, T0.timestamp() + t, 0.0 if t % 100 == 0 else 1.0) for s in services for t in range(3600)]
    rows += [("latency_ms", s, T0.timestamp() + t, float(t % 50)) for s in services for t in range(0, 3600, 5)]
    conn.executemany("INSERT INTO samples (metric, service, ts, value) VALUES (?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()


def test_soak_sqlite_is_downsampled_the_same_with_or_without_its_key(tmp_path: Path) -> None:
    charts = {}
    for keyed in (True, False):
        run = tmp_path / f"run-{keyed}"
        run.mkdir()
        write_db(run / "soak.sqlite", keyed, ("gateway", XSS))
        soak = soak_series(run, [])
        assert ("indexed" if keyed else "not indexed") in soak.sources[0]
        charts[keyed] = soak.charts
    assert [c.title for c in charts[True]] == ["Latency (health probes)", "Uptime"]
    for a, b in zip(charts[True], charts[False], strict=True):
        assert [s.label for s in a.series] == [s.label for s in b.series]
        for sa, sb in zip(a.series, b.series, strict=True):
            assert len(sa.points) <= 241
            assert [v for p in sa.points for v in p] == pytest.approx([v for p in sb.points for v in p])
    uptime = charts[True][1].series[0].points
    assert 98.5 < sum(v for _, v in uptime) / len(uptime) < 99.5  # 1 probe in 100 was down


def test_unreadable_soak_db_is_a_note_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "soak.sqlite").write_text("not a database")
    soak = soak_series(tmp_path, [])
    assert soak.charts == [] and "cannot read samples" in soak.notes[0]


# -- small pieces -----------------------------------------------------------------------------------------
def test_redactor_patterns_and_field_names() -> None:
    red = Redactor(["supersecretvalue", "abc"], allow=[TX])
    text = f"a supersecretvalue b abc {HEX_KEY} {TX} {API_KEY} lg_short"
    assert red.text(text) == f"a {MASK} b abc {MASK} {TX} {MASK} lg_short"
    assert sensitive_field("api_key") and sensitive_field("accessToken") and sensitive_field("PRIVATE_KEY")
    assert not sensitive_field("keyword") and not sensitive_field("monkey_count") and not sensitive_field("tokens")
    assert red.value({"password": "hunter2x", "n": 3, "nested": [{"token": "t"}]}) == {
        "password": MASK, "n": 3, "nested": [{"token": MASK}]}
    env = Redactor.for_run(Path("/nonexistent"), [], {
        "X_SECRET": "value-123456", "PATH": "/usr/bin:/bin", "PIP_KEYRING_PROVIDER": "disabled",
        "SSH_KEY_PATH": "/root/.ssh/id_ed25519"})
    assert env.text("value-123456 /usr/bin disabled /root/.ssh/id_ed25519") == (
        f"{MASK} /usr/bin disabled /root/.ssh/id_ed25519")


def test_links_are_only_made_for_http_urls_and_paths_inside_the_run(tmp_path: Path) -> None:
    assert external_href("https://sepolia.etherscan.io/tx/0x1") == "https://sepolia.etherscan.io/tx/0x1"
    for bad in ("javascript:alert(1)", "JaVaScRiPt:x", "data:text/html,x", "//evil.test/x", "https://a b", None, 3):
        assert external_href(bad) is None
    (tmp_path / "artifacts").mkdir()
    (tmp_path / "artifacts" / "trace #1.zip").write_bytes(b"")
    link = attachment_link("artifacts/trace #1.zip", tmp_path)
    assert link == {"href": "artifacts/trace%20%231.zip", "label": "trace #1.zip", "path": "artifacts/trace #1.zip",
                    "kind": "trace", "exists": True}
    assert attachment_link(str(tmp_path / "artifacts" / "load.csv"), tmp_path)["href"] == "artifacts/load.csv"
    for bad in ("../x", "/etc/passwd", "javascript:alert(1)", "a\nb", ""):
        assert attachment_link(bad, tmp_path) is None, bad


# -- a real browser -----------------------------------------------------------------------------------------
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.mark.browser
def test_report_opens_offline_in_chromium_without_running_evidence(built: tuple[Path, object], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright  # imported here: the sync API must stay in its own process

    run, _ = built
    shot = Path(os.environ.get("LAUNCHGATE_SCREENSHOT_DIR", tmp_path)) / "report.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    console: list[str] = []
    dialogs: list[str] = []
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(run.joinpath("index.html").as_uri())
            page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
            assert page.evaluate("typeof window.__pwned") == "undefined"
            assert page.locator(".banner").count() == 4
            assert "FAILED" in page.locator(".banner.v-fail").first.inner_text()
            assert page.get_by_text(f"Campaign {XSS}", exact=False).count() >= 1  # shown as text
            page.screenshot(path=str(shot), full_page=False)
        finally:
            browser.close()
    assert dialogs == []
    assert [m for m in console if m.startswith(("error", "pageerror"))] == []
    assert all(url.startswith("file://") for url in requests), requests  # opens offline: nothing fetched
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")
