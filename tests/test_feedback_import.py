"""UAT feedback intake: survey exports in, `feedback` evidence out, bad rows named by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from launchgate.evidence import read_evidence
from launchgate.gates.feedback_import import FeedbackFileError, feedback_command, import_feedback, parse_feedback
from launchgate.gates.loader import load_gates
from launchgate.gates.scoring import score

ROOT = Path(__file__).resolve().parents[1]

CSV = """\
Tester,Rating,Comment,Date
alice@example.test,5,"Great, really",2025-11-01
bob@example.test,2,meh,2025-11-02
,4,no name,2025-11-02
carol@example.test,7,too high,2025-11-03
dave@example.test,yes,"two
lines",2025-11-03
erin@example.test,4,bad date,03/11/2025
frank@example.test,4,extra,2025-11-03,oops
gina@example.test,4/5,,
hank@example.test,no,,2025-11-04T09:30:00+02:00
"""


def test_csv_rows_are_kept_or_rejected_with_their_line(tmp_path: Path) -> None:
    survey = tmp_path / "survey.csv"
    survey.write_text(CSV)
    result = import_feedback(survey, tmp_path / "run", testers=12)
    assert [(r.line, r.reason) for r in result.rejected] == [
        (4, "no tester"),
        (5, "rating '7' is not a whole number from 1 to 5"),
        (8, "date '03/11/2025' is not YYYY-MM-DD or ISO 8601"),
        (9, "1 more cell(s) than the header has columns (a comma in a comment without quotes?)"),
    ]
    assert [(a.tester.split("@")[0], a.rating, a.positive, a.line) for a in result.accepted] == [
        ("alice", 5, True, 2), ("bob", 2, False, 3), ("dave", None, True, 6), ("gina", 4, True, 10),
        ("hank", None, False, 11),
    ]
    assert result.accepted[-1].date == "2025-11-04T07:30:00Z"
    assert "5 answer(s) imported (3 positive), 4 row(s) rejected" in result.summary()
    assert "line 8: date" in result.summary() and "response rate: 5 of 12 invited testers" in result.summary()

    records, bad = read_evidence(tmp_path / "run")
    assert not bad
    answers = [r for r in records if r.kind == "feedback"]
    assert len(answers) == 5 and {r.criterion for r in answers} == {"beta.feedback-positive"}
    alice = answers[0]
    assert alice.outcome == "passed" and alice.value == 5 and alice.started == "2025-11-01T00:00:00Z"
    assert alice.details == {"tester": "alice@example.test", "rating": 5, "positive": True,
                             "comment": "Great, really", "date": "2025-11-01T00:00:00Z", "source": "survey.csv",
                             "line": 2}
    invited = [r for r in records if r.kind == "measurement"]
    assert [(r.name, r.value) for r in invited] == [("feedback.invited", 12)]


def test_imported_feedback_scores_with_its_response_rate(tmp_path: Path) -> None:
    rows = "\n".join(f"t{i},{5 if i < 9 else 1},,2025-11-0{1 + i % 9}" for i in range(10))
    (tmp_path / "s.csv").write_text("tester,rating,comment,date\n" + rows + "\n")
    run = tmp_path / "run"
    import_feedback(tmp_path / "s.csv", run, testers=20)
    records, _ = read_evidence(run)
    result = score(load_gates(ROOT / "gates.yaml"), records, gates=["beta"])
    crit = next(c for c in result.gates[0].criteria if c.id == "beta.feedback-positive")
    assert (crit.verdict, crit.value, crit.samples) == ("pass", 0.9, 10)
    assert crit.extra["response_text"] == "10 of 20 invited answered (50%)"


def test_json_export_with_a_wrapper_object_names_lines(tmp_path: Path) -> None:
    survey = tmp_path / "export.json"
    survey.write_text("""{"responses": [
  {"Tester": "alice", "Score": 5, "Comments": "ok", "Submitted At": "2025-11-01T10:00:00Z"},
  {"tester": "bob", "rating": "no"},
  {"name": "x"},
  3,
  {"email": "c@x.test", "positive": true}
]}
""")
    answers, rejected = parse_feedback(survey)
    assert [(a.tester, a.positive, a.line) for a in answers] == [("alice", True, 2), ("bob", False, 3),
                                                                 ("c@x.test", True, 6)]
    assert answers[0].comment == "ok" and answers[0].date == "2025-11-01T10:00:00Z"
    assert [(r.line, r.reason) for r in rejected] == [
        (4, "no rating"), (5, "expected an object with tester and rating, found 3")]


def test_json_lines_and_a_plain_array(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"tester": "a", "rating": 4}\n\n{"tester": "b", "rating": 0}\n{oops\n')
    answers, rejected = parse_feedback(tmp_path / "a.jsonl")
    assert [a.tester for a in answers] == ["a"]
    assert [(r.line, r.reason[:20]) for r in rejected] == [(3, "rating 0 is not a wh"), (4, "not valid JSON: Expe")]
    (tmp_path / "b.json").write_text('[{"tester": "a", "rating": "maybe"}]')
    answers, rejected = parse_feedback(tmp_path / "b.json")
    assert not answers and rejected[0].reason == "rating 'maybe' is neither 1-5 nor yes/no"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("x.csv", "who,what\na,b\n", "no tester or rating column (found: who, what)"),
        ("x.json", "{not json", "x.json:1: not valid JSON"),
        ("x.json", '{"people": []}', "expected a list of answers, or an object"),
        ("x.csv", "", "empty file"),
    ],
)
def test_unusable_files_raise_one_clear_error(tmp_path: Path, name: str, content: str, message: str) -> None:
    (tmp_path / name).write_text(content)
    with pytest.raises(FeedbackFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_feedback(tmp_path / name, tmp_path / "run")


def test_non_utf8_and_bad_tester_count(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_bytes(b"tester,rating\n\xff\xfe,4\n")
    with pytest.raises(FeedbackFileError, match="not UTF-8"):
        import_feedback(tmp_path / "x.csv", tmp_path / "run")
    with pytest.raises(FeedbackFileError, match="positive number"):
        import_feedback(tmp_path / "x.csv", tmp_path / "run", testers=0)


def test_semicolon_csv_and_launch_criterion(tmp_path: Path) -> None:
    (tmp_path / "s.csv").write_text("Name;Answer;Feedback\nann;Yes;fine\n")
    result = import_feedback(tmp_path / "s.csv", tmp_path / "run", criterion="launch.feedback-positive")
    records, _ = read_evidence(tmp_path / "run")
    assert result.positive == 1 and records[0].criterion == "launch.feedback-positive" and records[0].gate == "launch"


def test_feedback_command_prints_and_returns_whether_rows_were_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "good.csv").write_text("tester,rating\na,5\n")
    (tmp_path / "mixed.csv").write_text("tester,rating\na,5\nb,\n")
    assert feedback_command(tmp_path / "good.csv", tmp_path / "run", testers=3) == 0
    assert feedback_command(tmp_path / "mixed.csv", tmp_path / "run") == 1
    out = capsys.readouterr().out
    assert "good.csv: 1 answer(s) imported (1 positive), 0 row(s) rejected" in out
    assert "line 3: no rating" in out and f"evidence: {tmp_path / 'run' / 'evidence' / 'feedback.jsonl'}" in out
