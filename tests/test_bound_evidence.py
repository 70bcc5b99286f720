"""Evidence bound to the build it measured and to the clock, and "no data" told by its kind: the profile's [build]
source, the run's build.json and the build every record carries; the scorer, which counts only the gated build's
evidence younger than the criterion's max_age and says what it set aside; and a reason that says whether a query
failed, found nothing, or nobody measured. The soak of another build refused by the gate suite itself is
tests/test_long_run_criteria.py's; Prometheus's own failures are tests/test_prometheus.py's."""

from __future__ import annotations

import json
import textwrap
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from launchgate.drivers.build import bind_run, read_build
from launchgate.evidence import Evidence, EvidenceWriter, RunBuild, read_evidence, read_run_build, write_run_build
from launchgate.gates.evidence_import import import_run
from launchgate.gates.loader import GatesConfigError, parse_gates
from launchgate.gates.scoring import score
from launchgate.monitoring.slis import Reading, Window, failed_query_record, to_evidence
from launchgate.report.build import build_report
from launchgate.targets import Monitoring, Target, TargetError, load_target

NOW = datetime(2026, 12, 1, tzinfo=UTC)


class _Health(BaseHTTPRequestHandler):
    body: dict[str, object] = {"status": "operational", "build": "2.0.0+abc123", "data": {"version": "2.0.0"}}

    def do_GET(self) -> None:
        raw = json.dumps(self.body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Build", "2.0.0+from-header")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture(scope="module")
def service() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def profile(tmp_path: Path, url: str, build: str) -> Target:
    path = tmp_path / "built.toml"
    path.write_text(f'name = "built"\nenvironment = "mock"\n[services.gateway]\nurl = "{url}"\n'
                    f'[api]\nemail = "{url}"\n[build]\n{build}\n')
    return load_target(str(path))


# -- where the build is read ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("source", "expected"), [
    ('health = "gateway:build"', "2.0.0+abc123"),
    ('health = "gateway:data.version"', "2.0.0"),
    ('config = "gateway:build"', "2.0.0+abc123"),
    ('header = "gateway:X-Build"', "2.0.0+from-header"),
    ('command = "echo 2.0.0+from-git; echo ignored"', "2.0.0+from-git"),
])
def test_the_build_is_read_where_the_profile_says(service: str, tmp_path: Path, source: str, expected: str) -> None:
    found = read_build(profile(tmp_path, service, source))
    assert found.id == expected and not found.error


@pytest.mark.parametrize(("source", "said"), [
    ('health = "gateway:commit"', "without that field"),
    ('health = "gateway:data"', "holds dict, not a build identity"),
    ('header = "gateway:X-Commit"', "without that header"),
    ('command = "echo broken >&2; exit 4"', "exited with status 4: broken"),
    ('command = "true"', "is empty"),
])
def test_a_build_source_that_does_not_say_leaves_the_build_unknown_with_why(service: str, tmp_path: Path,
                                                                           source: str, said: str) -> None:
    found = read_build(profile(tmp_path, service, source))
    assert found.id is None and said in found.error, found
    assert found.describe().startswith("build unknown: ")


def test_an_unreachable_service_leaves_the_build_unknown(tmp_path: Path) -> None:
    found = read_build(profile(tmp_path, "http://127.0.0.1:9", 'health = "gateway:build"'))
    assert found.id is None and "did not answer" in found.error


def test_without_a_build_section_the_build_is_unknown_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "plain.toml"
    path.write_text('name = "plain"\nenvironment = "mock"\n[services.gateway]\nurl = "http://127.0.0.1:9"\n'
                    '[api]\nemail = "http://127.0.0.1:9"\n')
    found = read_build(load_target(str(path)))
    assert found == RunBuild(None) and "names no [build]" in found.describe()


@pytest.mark.parametrize(("section", "said"), [
    ('health = "gateway:build"\ncommand = "git rev-parse HEAD"', "exactly one of health, config, header, command"),
    ('health = "conduit:build"', 'must be "SERVICE:FIELD" with a service of [services] (gateway)'),
    ('header = "gateway"', 'must be "SERVICE:HEADER"'),
    ('version = "1.0"', "build.version"),
])
def test_a_bad_build_section_is_refused_naming_it(tmp_path: Path, section: str, said: str) -> None:
    with pytest.raises(TargetError) as info:
        profile(tmp_path, "http://127.0.0.1:9", section)
    assert said in str(info.value) and "built.toml" in str(info.value)


# -- the run's build, on every record ------------------------------------------------------------------------
def _record(run: str, name: str = "m", outcome: str = "passed", **fields: object) -> Evidence:
    return Evidence(run=run, kind="measurement", name=name, outcome=outcome, **fields)  # type: ignore[arg-type]


def test_every_record_a_run_writes_carries_its_build_and_a_copy_keeps_its_own(tmp_path: Path) -> None:
    soak, gate = tmp_path / "soak", tmp_path / "gate"
    EvidenceWriter(soak, "before").write(_record("soak", "unbound"))  # written before the build was known
    write_run_build(soak, RunBuild("1.0.0+aaa", "field build of gateway's /health"))
    EvidenceWriter(soak, "soak").write(_record("soak", "soak.summary"))
    write_run_build(gate, RunBuild("2.0.0+bbb", "field build of gateway's /health"))
    EvidenceWriter(gate, "scenarios").write(_record("gate", "own"))
    import_run(soak, gate, "soak-import")
    builds = {r.name: r.build for r in read_evidence(gate)[0]}
    assert builds == {"own": "2.0.0+bbb", "soak.summary": "1.0.0+aaa", "unbound": None}


def test_a_run_that_finds_another_build_when_it_resumes_measured_neither(service: str, tmp_path: Path) -> None:
    run = tmp_path / "soak"
    write_run_build(run, RunBuild("1.0.0+before", "field build of gateway's /health"))
    found = bind_run(run, profile(tmp_path, service, 'health = "gateway:build"'))
    assert found.id is None and read_run_build(run) == found
    assert "the build changed during the run: 1.0.0+before at its start, 2.0.0+abc123 later" in found.error
    assert bind_run(run, profile(tmp_path, service, 'health = "gateway:build"')).id is None  # and stays unknown


# -- the scorer ------------------------------------------------------------------------------------------------
GATES_TEXT = textwrap.dedent("""\
    version: 1
    gates:
      alpha:
        title: Alpha
        pass: 90
        criteria:
          - id: alpha.stability
            wording: Stable for a while.
            source: {kind: measurement, criterion: alpha.stability, aggregate: ratio_passed}
            pass: ">= 100%"
            max_age: 30d
            key: true
""")
GATES = parse_gates(GATES_TEXT)


def windows(build: str | None, outcome: str = "passed", age: timedelta = timedelta(days=1)) -> list[Evidence]:
    finished = (NOW - age).isoformat().replace("+00:00", "Z")
    return [_record("soak", f"soak.window.{i}", criterion="alpha.stability", outcome=outcome, build=build,
                    started=finished, finished=finished) for i in range(3)]


def verdict(records: list[Evidence], build: str | None) -> tuple[str, str]:
    result = score(GATES, records, now=NOW, build=RunBuild(build) if build else None)
    (criterion,) = result.gates[0].criteria
    return criterion.verdict, criterion.reason


def test_a_soak_of_build_a_never_passes_a_gate_for_build_b() -> None:
    soak_of_a = windows("1.0.0+aaa")
    assert verdict(soak_of_a, "1.0.0+aaa")[0] == "pass"
    got, reason = verdict(soak_of_a, "2.0.0+bbb")
    assert got == "inconclusive"
    assert "3 records of it measured another build than 2.0.0+bbb, the build gated here (1.0.0+aaa (3))" in reason
    assert "evidence counts only for the build it measured" in reason


def test_evidence_of_an_unknown_build_does_not_count_for_a_known_one() -> None:
    got, reason = verdict(windows(None), "2.0.0+bbb")
    assert got == "inconclusive" and "(unknown (3))" in reason


def test_only_the_gated_builds_evidence_decides_and_the_rest_is_named() -> None:
    got, reason = verdict(windows("2.0.0+bbb") + windows("1.0.0+aaa", "failed"), "2.0.0+bbb")
    assert got == "pass" and "Not counted: 3 records of it measured another build" in reason
    assert verdict(windows("2.0.0+bbb") + windows("1.0.0+aaa", "failed"), "1.0.0+aaa")[0] == "fail"


def test_without_a_known_build_every_record_counts_as_before() -> None:
    assert verdict(windows("1.0.0+aaa") + windows(None), None)[0] == "pass"


def test_evidence_older_than_max_age_is_stale() -> None:
    got, reason = verdict(windows("1.0.0+aaa", age=timedelta(days=31)), "1.0.0+aaa")
    assert got == "inconclusive"
    assert "3 records of it are older than its max_age of 30 d" in reason and "stale evidence does not count" in reason
    assert verdict(windows("1.0.0+aaa", age=timedelta(days=29)), "1.0.0+aaa")[0] == "pass"


def test_a_bad_max_age_is_refused_with_its_line() -> None:
    text = "version: 1\ngates:\n  g:\n    title: G\n    pass: 90\n    criteria:\n      - id: c\n        wording: w\n" \
           "        source: {kind: scenario, aggregate: ratio_passed}\n        pass: '>= 1'\n        max_age: soon\n"
    with pytest.raises(GatesConfigError) as info:
        parse_gates(text)
    assert ":11:" in str(info.value) and "max_age" in str(info.value) and "'soon'" in str(info.value)


def test_the_report_names_the_gated_build_and_the_build_of_each_piece(tmp_path: Path) -> None:
    run = tmp_path / "reports" / "run"
    write_run_build(run, RunBuild("2.0.0+bbb", "field build of gateway's /health"))
    writer = EvidenceWriter(run, "soak-import", stamp=False)  # as a soak of another build is brought in
    for record in windows("1.0.0+aaa"):
        writer.write(record)
    gates = tmp_path / "gates.yaml"
    gates.write_text(GATES_TEXT)
    result = build_report(run, gates, tmp_path / "reports" / "history.jsonl")
    written = json.loads((run / "verdict.json").read_text())
    assert written["build"]["id"] == "2.0.0+bbb"
    (criterion,) = written["gates"][0]["criteria"]
    assert criterion["verdict"] == "inconclusive" and "another build than 2.0.0+bbb" in criterion["reason"]
    html = result.index_html.read_text()
    assert "gating build <code>2.0.0+bbb</code>" in html and "build <code>1.0.0+aaa</code>" in html
    assert result.exit_code == 3


# -- "no data", by kind ----------------------------------------------------------------------------------------
UPTIME = parse_gates(textwrap.dedent("""\
    version: 1
    gates:
      beta:
        title: Beta
        pass: 90
        criteria:
          - id: beta.uptime
            wording: Up 99.9% of the time.
            source: {kind: measurement, name: uptime, aggregate: mean, samples_field: probes}
            pass: ">= 99.9%"
            key: true
"""))
WINDOW = Window(NOW - timedelta(hours=1), NOW)
INSTEAD = Monitoring("http://127.0.0.1:9", slis="instead")  # Prometheus's uptime is the one scored


def uptime_reason(records: list[Evidence]) -> str:
    (criterion,) = score(UPTIME, records, now=NOW).gates[0].criteria
    assert criterion.verdict == "inconclusive"
    return criterion.reason


def test_a_failed_query_an_empty_one_and_no_measurement_at_all_are_told_apart() -> None:
    failed = failed_query_record("uptime", "min(up)", "cannot reach http://127.0.0.1:9 (ConnectError)", WINDOW,
                           run="r", target="t", monitoring=INSTEAD)
    empty = to_evidence(Reading("uptime", None, "ratio", 0, "min(up)", 15.0), WINDOW, run="r", target="t",
                        monitoring=INSTEAD)
    assert uptime_reason([failed]).startswith(
        "No evidence: the query failed: cannot reach http://127.0.0.1:9 (ConnectError).")
    assert uptime_reason([empty]).startswith("No evidence: the query returned no events: min(up) found no samples "
                                             "between 2026-11-30T23:00:00.000Z and 2026-12-01T00:00:00.000Z.")
    assert uptime_reason([]).startswith("No evidence: the harness sent no load or probes: no measurement records "
                                        "(named uptime) in this run.")
    assert "query failed" in uptime_reason([empty, failed])  # the more telling kind first
