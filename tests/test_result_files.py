"""Coverage reports (Cobertura, lcov, coverage.py JSON) and JUnit files: read right, or refused with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from launchgate.cli import main
from launchgate.drivers.coverage_files import CoverageFileError, read_coverage
from launchgate.drivers.junit_files import JunitFileError, read_junit
from launchgate.evidence import read_evidence

COBERTURA = '<?xml version="1.0"?>\n<coverage line-rate="0.87" lines-covered="87" lines-valid="100" version="7"/>'
LCOV = "TN:\nSF:src/a.ts\nDA:1,1\nLF:10\nLH:8\nend_of_record\nSF:src/b.ts\nLF:30\nLH:24\nend_of_record\n"
COVERAGE_PY = {"meta": {"format": 3}, "totals": {"covered_lines": 450, "num_statements": 500,
                                                 "percent_covered": 90.0}}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("name", "text", "fmt", "covered", "total"),
    [
        ("coverage.xml", COBERTURA, "cobertura", 87, 100),
        ("lcov.info", LCOV, "lcov", 32, 40),
        ("coverage.json", json.dumps(COVERAGE_PY), "coverage.py", 450, 500),
        ("report", LCOV, "lcov", 32, 40),  # no telling suffix: told by its content
    ],
)
def test_each_format_is_read(tmp_path: Path, name: str, text: str, fmt: str, covered: int, total: int) -> None:
    reading = read_coverage(write(tmp_path, name, text))
    assert (reading.format, reading.covered, reading.total) == (fmt, covered, total)
    assert reading.ratio == pytest.approx(covered / total)


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        ("c.xml", "<coverage lines-covered='1'", "cobertura: not well-formed XML"),
        ("c.xml", "<report/>", "the root element is <report>, not <coverage>"),
        ("c.xml", "<coverage line-rate='0.5'/>", "lacks the lines-covered and lines-valid attributes"),
        ("c.xml", "<coverage lines-covered='many' lines-valid='10'/>", "lines-covered is 'many', not a whole number"),
        ("c.xml", "<coverage lines-covered='12' lines-valid='10'/>", "12 lines covered out of 10 is impossible"),
        ("c.xml", "<coverage lines-covered='0' lines-valid='0'/>", "counts no lines at all"),
        ("l.info", "TN:\nSF:a.ts\nend_of_record\n", "lcov: no LF (lines found) record"),
        ("l.info", "SF:a.ts\nLF:ten\nLH:1\n", "lcov: LF on line 2 is 'ten'"),
        ("c.json", "{not json", "coverage.py: not valid JSON"),
        ("c.json", "{\"files\": {}}", "no \"totals\" object"),
        ("c.json", "{\"totals\": {\"percent_covered\": 80}}", "totals lack covered_lines and num_statements"),
        ("c.txt", "87%", "not a coverage format launchgate reads"),
    ],
)
def test_a_broken_file_is_refused_naming_the_file_and_the_problem(
    tmp_path: Path, name: str, text: str, says: str
) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(CoverageFileError) as caught:
        read_coverage(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert says in str(caught.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(CoverageFileError, match="no such coverage file"):
        read_coverage(tmp_path / "absent.xml")


def test_the_cli_reads_records_and_refuses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, "coverage.json", json.dumps(COVERAGE_PY))
    run = tmp_path / "run-1"
    run.mkdir()
    assert main(["coverage", str(good), "--run", str(run)]) == 0
    assert "90.0% of lines (450/500)" in capsys.readouterr().out
    (record,), _ = read_evidence(run)
    assert (record.kind, record.criterion, record.value, record.unit) == ("measurement", "testing.coverage", 0.9,
                                                                          "ratio")
    broken = write(tmp_path, "broken.xml", "<coverage")
    assert main(["coverage", str(broken)]) == 2
    assert f"launchgate: {broken}: cobertura: not well-formed XML" in capsys.readouterr().err
    assert main(["coverage", str(good), "--run", "no-such-run", "--reports-dir", str(tmp_path)]) == 2


JUNIT = """<?xml version="1.0"?>
<testsuites>
  <testsuite name="conduit" tests="3">
    <testcase classname="conduit.api" name="creates a campaign"/>
    <testcase classname="conduit.api" name="files a proposal">
      <failure message="expected 201, got 500">trace</failure>
    </testcase>
    <testcase classname="conduit.api" name="later"><skipped/></testcase>
  </testsuite>
  <testsuite name="governance"><testcase name="tallies votes"><error message="boom"/></testcase></testsuite>
</testsuites>"""


def test_junit_outcomes_are_read_from_the_cases(tmp_path: Path) -> None:
    results = read_junit(write(tmp_path, "junit.xml", JUNIT))
    assert results.summary() == "4 tests: 1 passed, 1 failed, 1 errors, 1 skipped"
    assert [(c.suite, c.name, c.message) for c in results.not_passed] == [
        ("conduit.api", "files a proposal", "expected 201, got 500"), ("governance", "tallies votes", "boom")
    ]
    lone = read_junit(write(tmp_path, "one.xml", '<testsuite name="s"><testcase name="t"/></testsuite>'))
    assert lone.summary().startswith("1 tests: 1 passed")


@pytest.mark.parametrize(
    ("text", "says"),
    [("<testsuites>", "not well-formed XML"), ("<results/>", "root element is <results>"),
     ("<testsuite name='s'><testcase/></testsuite>", "has no name")],
)
def test_a_broken_junit_file_is_refused(tmp_path: Path, text: str, says: str) -> None:
    path = write(tmp_path, "junit.xml", text)
    with pytest.raises(JunitFileError, match=says) as caught:
        read_junit(path)
    assert str(caught.value).startswith(str(path))
    with pytest.raises(JunitFileError, match="no such JUnit file"):
        read_junit(tmp_path / "absent.xml")
