"""Bad input fails before any work: exit 2, one `launchgate: ` line on stderr naming the file (and line and field),
no traceback, no run directory, no stack. And `--exit-zero` (what `make report` uses) turns a verdict into exit 0.

Every command here is the real CLI in its own process. Nothing here starts a stack: that is what is asserted. A run
that got past its checks would start the reference stack on the port base the test passes, make a run directory
and run the suite; the asserts look for exactly those traces rather than timing the command.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from launchgate.evidence import Evidence, EvidenceWriter
from launchgate.gates.loader import load_gates
from launchgate.runner import PROJECT_ROOT
from launchgate.targets import TARGETS_DIR

GATES = PROJECT_ROOT / "gates.yaml"
REFERENCE = TARGETS_DIR / "reference.toml"
# A backstop against a hung command, never an assertion: the checks below say whether work started.
BACKSTOP_S = 600


def launchgate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "launchgate", *args], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=BACKSTOP_S)


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def free_port_base() -> int:
    """A port nothing listens on, for --port-base: if a stack started, its gateway would listen there."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def refused_before_work(done: subprocess.CompletedProcess[str], reports: Path, port_base: int) -> str:
    """Exit 2, one error line, no traceback, no run directory, no stack; returns the line."""
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("launchgate: "), lines
    assert not reports.exists() or not any(reports.iterdir()), f"a run directory was made: {list(reports.iterdir())}"
    assert not listening(port_base), f"something listens on the stack's port base {port_base}"
    return lines[0]


def run_refused(tmp_path: Path, *args: str) -> str:
    """`launchgate run ARGS` against the reference target (which a run would start): refused before work."""
    reports, port_base = tmp_path / "reports", free_port_base()
    done = launchgate("run", "--reports-dir", str(reports), "--port-base", str(port_base), *args)
    return refused_before_work(done, reports, port_base)


def line_of(text: str, starts: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(starts))


# -- --gates ----------------------------------------------------------------------------------------------------
def test_an_unknown_gate_name_is_refused_and_the_valid_ones_listed(tmp_path: Path) -> None:
    line = run_refused(tmp_path, "--gates", "alpha,gamma")
    valid = ", ".join(load_gates(GATES).gates)
    assert line == f"launchgate: {GATES}: unknown gate 'gamma' (from --gates); the gates are {valid}"


def test_report_shares_the_gate_name_check(tmp_path: Path) -> None:
    run = tmp_path / "reports" / "run-1"
    run.mkdir(parents=True)
    done = launchgate("report", str(run), "--gates", "gamma")
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"launchgate: {GATES}: unknown gate 'gamma' (from --gates)")
    assert list(run.iterdir()) == [], "the report was written for a gate that does not exist"


# -- --soak -----------------------------------------------------------------------------------------------------
def test_a_soak_that_is_a_file_is_refused(tmp_path: Path) -> None:
    soak = tmp_path / "soak.txt"
    soak.write_text("not a run\n")
    line = run_refused(tmp_path, "--soak", str(soak))
    assert line == f"launchgate: --soak {soak}: not a finished soak run directory: {soak} is a file"


def test_a_run_directory_that_is_not_a_soak_is_refused(tmp_path: Path) -> None:
    gate_run = tmp_path / "gate-run"
    EvidenceWriter(gate_run, "scenarios").write(Evidence(run="gate-run", kind="scenario", name="s", outcome="passed"))
    line = run_refused(tmp_path, "--soak", str(gate_run))
    assert line.startswith(f"launchgate: --soak {gate_run}: not a finished soak run directory: {gate_run} has no "
                           "run.json and soak.sqlite, so it is not a soak")


def test_a_soak_that_has_not_finished_is_refused(tmp_path: Path) -> None:
    soak = tmp_path / "soak"
    soak.mkdir()
    (soak / "run.json").write_text("{}")
    (soak / "soak.sqlite").write_bytes(b"")
    line = run_refused(tmp_path, "--soak", str(soak))
    assert line == (f"launchgate: --soak {soak}: not a finished soak run directory: {soak} has no evidence/soak.jsonl, "
                    f"so the soak has not finished (carry it on with `launchgate soak --resume {soak}`)")


# -- the target profile -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line_starts", "replacement", "says"),
    [
        ('environment = "mock"', 'environment = "staging"',
         "field environment must be 'mock' or 'production', found 'staging'"),
        ("managed = true", "managd = true", "field managd is not one launchgate reads (did you mean 'managed'?)"),
        ("chain_id = 31337", 'chain_id = "31337"', "field chain.chain_id must be an integer, found '31337'"),
        ("agents = ", "agent = ", "field seed.agent is not one launchgate reads; known: templates, "
         "agents, proposals"),
        ("proposals = ", 'proposals = "PROP-1" # ', "field seed.proposals must be a list of names, found 'PROP-1'"),
    ],
    ids=["bad-value", "unknown-field", "wrong-type", "unknown-seed-kind", "seed-not-a-list"],
)
def test_an_invalid_profile_field_is_named_with_its_file_and_line(tmp_path: Path, line_starts: str,
                                                                   replacement: str, says: str) -> None:
    text = REFERENCE.read_text()
    number = line_of(text, line_starts)
    profile = tmp_path / "broken.toml"
    profile.write_text(re.sub(rf"(?m)^{re.escape(line_starts)}", replacement, text, count=1))
    assert run_refused(tmp_path, "--target", str(profile)) == f"launchgate: {profile}:{number}: {says}"


def test_a_profile_that_is_not_toml_is_named_with_its_line(tmp_path: Path) -> None:
    text = REFERENCE.read_text()
    profile = tmp_path / "broken.toml"
    profile.write_text(text.replace("[api]", "[api", 1))
    line = run_refused(tmp_path, "--target", str(profile))
    assert line.startswith(f"launchgate: {profile}:{line_of(text, '[api]')}: not valid TOML: ")


# -- --gates-file -------------------------------------------------------------------------------------------------
def test_a_gates_file_that_is_not_yaml_is_named_with_its_line(tmp_path: Path) -> None:
    gates = tmp_path / "gates.yaml"
    gates.write_text("gates:\n  alpha: [1,\n")
    line = run_refused(tmp_path, "--gates-file", str(gates))
    assert line.startswith(f"launchgate: {gates}:3: not valid YAML: ")


def test_an_unknown_field_in_the_gates_file_is_named_with_its_line(tmp_path: Path) -> None:
    text = GATES.read_text()
    number = line_of(text, '        pass: "')  # a criterion's pass threshold
    lines = text.splitlines(keepends=True)
    lines[number - 1] = lines[number - 1].replace("pass:", "passs:", 1)
    gates = tmp_path / "gates.yaml"
    gates.write_text("".join(lines))
    line = run_refused(tmp_path, "--gates-file", str(gates))
    assert re.fullmatch(rf"launchgate: {re.escape(str(gates))}:{number}: gates\.\w+\.criteria\[\d+\] \([\w.-]+\)"
                        r"\.passs: unknown field \(did you mean 'pass'\?\)", line), line


def test_report_shares_the_gates_file_check(tmp_path: Path) -> None:
    gates = tmp_path / "gates.yaml"
    gates.write_text("gates:\n  a:\n    title: A\n    pass: lots\n    criteria: []\n")
    run = tmp_path / "run-1"
    run.mkdir()
    done = launchgate("report", str(run), "--gates-file", str(gates))
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith(f"launchgate: {gates}:4: gates.a.pass: ")


def test_soak_checks_its_gates_file_before_it_starts(tmp_path: Path) -> None:
    gates = tmp_path / "gates.yaml"
    gates.write_text("gates:\n  alpha: [1,\n")
    run_dir, port_base = tmp_path / "soak", free_port_base()
    done = launchgate("soak", "--target", "reference", "--duration", "1m", "--gates", str(gates),
                      "--run-dir", str(run_dir), "--port-base", str(port_base))
    assert refused_before_work(done, run_dir, port_base).startswith(f"launchgate: {gates}:3: not valid YAML: ")


# -- make report: a verdict is not a crash --------------------------------------------------------------------------
@pytest.fixture
def failed_run(tmp_path: Path) -> Path:
    """A run whose one critical scenario failed: Internal Alpha fails (exit 1), the other gates lack evidence."""
    run = tmp_path / "reports" / "run-1"
    EvidenceWriter(run, "scenarios").write(Evidence(
        run="run-1", kind="scenario", name="a critical scenario", outcome="failed", target="reference",
        criterion="core.campaign-creation", gate="alpha", details={"tags": ["alpha", "critical"]}))
    return run


def test_without_exit_zero_a_failed_gate_exits_1_for_ci(failed_run: Path) -> None:
    done = launchgate("report", str(failed_run))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "exit code 1: a gate failed" in done.stdout


@pytest.mark.parametrize(("gates", "verdict_code"), [("", 1), ("preconditions", 3)])
def test_exit_zero_ends_with_the_verdict_in_words_and_exits_0(failed_run: Path, gates: str, verdict_code: int) -> None:
    done = launchgate("report", str(failed_run), "--exit-zero", *(["--gates", gates] if gates else []))
    assert done.returncode == 0 and done.stderr == "", done.stdout + done.stderr
    last = done.stdout.splitlines()[-1]
    if gates:
        assert last == f"Verdict: Preconditions INCONCLUSIVE; report: {failed_run / 'index.html'}"
    else:
        assert last == (f"Verdict: Preconditions INCONCLUSIVE, Internal Alpha FAIL, Closed Beta INCONCLUSIVE, "
                        f"Public Launch INCONCLUSIVE; report: {failed_run / 'index.html'}")
    assert f"the verdict's own exit code is {verdict_code}" in done.stdout
    assert (failed_run / "index.html").is_file()


def test_exit_zero_still_exits_2_on_bad_input(failed_run: Path) -> None:
    done = launchgate("report", str(failed_run), "--exit-zero", "--gates", "gamma")
    assert done.returncode == 2 and "unknown gate 'gamma'" in done.stderr


def test_make_report_runs_with_exit_zero() -> None:
    recipe = re.search(r"(?m)^report:.*\n\t(.*)$", (PROJECT_ROOT / "Makefile").read_text())
    assert recipe and "launchgate run" in recipe.group(1) and "--exit-zero" in recipe.group(1)


@pytest.mark.parametrize("command", [["soak", "--duration", "1m"], ["onboard"]])
def test_load_commands_refuse_a_bad_target_before_making_their_run_directory(tmp_path: Path,
                                                                            command: list[str]) -> None:
    run_dir, port_base = tmp_path / "reports" / "run", free_port_base()
    done = launchgate(*command, "--target", "nowhere", "--run-dir", str(run_dir), "--port-base", str(port_base))
    line = refused_before_work(done, tmp_path / "reports", port_base)
    assert "unknown target 'nowhere'" in line


# -- the contract's OpenAPI documents -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("openapi: 3.1.0\nx-launchgate-area: email\npaths:\n  /x: {get: [\n", "broken.yaml:5:1: not valid YAML"),
        ("swagger: '2.0'\npaths: {}\n", "broken.yaml: not an OpenAPI 3 document"),
        ("openapi: 3.1.0\npaths:\n  /x: {get: {responses: {}}}\n", "broken.yaml: 'x-launchgate-area' must name"),
    ],
)
def test_an_openapi_document_that_cannot_be_used_is_named_with_its_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, says: str
) -> None:
    contract = tmp_path / "contract"
    contract.mkdir()
    (contract / "broken.yaml").write_text(text)
    monkeypatch.setenv("LAUNCHGATE_CONTRACT_DIR", str(contract))
    line = run_refused(tmp_path, "--target", "reference")
    assert says in line and str(contract) in line, line
