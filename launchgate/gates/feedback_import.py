"""UAT feedback intake: a survey export (CSV, JSON or JSON Lines) becomes `feedback` evidence.

Each row needs a tester and a rating: 1-5 (4 and 5 are positive) or yes/no (yes is positive); a comment and
a date (ISO 8601) are optional. Headers are matched loosely (Tester/Name/Email, Rating/Score/Answer, ...).
Bad rows are listed with their line numbers and left out; good rows are written. When the number of invited
testers is known, a `feedback.invited` measurement is written too, so the report can show the response rate.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from launchgate.evidence import Evidence, EvidenceWriter, now_iso
from launchgate.gates.scoring import INVITED_NAME

ALIASES = {
    "tester": ("tester", "name", "email", "user", "respondent", "participant"),
    "rating": ("rating", "score", "answer", "positive", "recommend", "satisfied", "would recommend"),
    "comment": ("comment", "comments", "feedback", "notes", "remarks"),
    "date": ("date", "timestamp", "submitted", "submitted at", "submitted_at", "time", "created"),
}
YES = ("yes", "y", "true")
NO = ("no", "n", "false")  # numbers are always ratings: 1 is the worst of five, never a "yes"
LIST_KEYS = ("responses", "rows", "data", "items", "answers", "feedback")


class FeedbackFileError(Exception):
    """The file as a whole cannot be read (format, encoding, missing columns)."""


@dataclass
class RejectedRow:
    line: int  # 0 when the position is unknown (then `item` says which entry)
    reason: str
    item: int = 0

    def where(self) -> str:
        return f"line {self.line}" if self.line else f"item {self.item}"


@dataclass
class Answer:
    line: int
    tester: str
    rating: int | None  # 1-5, or None for a yes/no answer
    positive: bool
    comment: str
    date: str | None


@dataclass
class FeedbackImport:
    source: Path
    accepted: list[Answer] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    invited: int | None = None
    evidence_file: Path | None = None

    @property
    def positive(self) -> int:
        return sum(a.positive for a in self.accepted)

    def summary(self) -> str:
        lines = [f"{self.source.name}: {len(self.accepted)} answer(s) imported ({self.positive} positive), "
                 f"{len(self.rejected)} row(s) rejected"]
        if self.invited:
            testers = len({a.tester for a in self.accepted})
            lines.append(f"  response rate: {testers} of {self.invited} invited testers")
        lines += [f"  {r.where()}: {r.reason}" for r in self.rejected]
        return "\n".join(lines)


def import_feedback(
    file: Path,
    run_dir: Path,
    *,
    testers: int | None = None,
    criterion: str = "beta.feedback-positive",
    target: str = "reference",
) -> FeedbackImport:
    """Reads `file`, writes one `feedback` record per good row into `run_dir`, and reports the bad rows."""
    file = Path(file)
    if testers is not None and testers < 1:
        raise FeedbackFileError(f"invited testers must be a positive number, found {testers}")
    answers, rejected = parse_feedback(file)
    result = FeedbackImport(source=file, accepted=answers, rejected=rejected, invited=testers)
    writer = write_answers(answers, Path(run_dir), "feedback", criterion, target, file.name)
    gate = criterion.split(".", 1)[0]
    if testers is not None:
        writer.write(Evidence(run=writer.run_id, kind="measurement", name=INVITED_NAME, outcome="passed",
                              criterion=criterion, gate=gate, value=float(testers), unit="testers", target=target,
                              details={"source": file.name}))
    result.evidence_file = writer.path
    return result


def write_answers(answers: list[Answer], run_dir: Path, stream: str, criterion: str, target: str,
                  source: str) -> EvidenceWriter:
    """One `feedback` record per answer (the scorer keeps each tester's latest)."""
    writer = EvidenceWriter(run_dir, stream)
    gate = criterion.split(".", 1)[0]
    for answer in answers:
        when = answer.date or now_iso()
        writer.write(Evidence(
            run=writer.run_id, kind="feedback", name=f"feedback from {answer.tester}",
            outcome="passed" if answer.positive else "failed", criterion=criterion, gate=gate,
            value=float(answer.rating if answer.rating is not None else int(answer.positive)),
            unit="rating 1-5" if answer.rating is not None else "yes/no",
            started=when, finished=when, target=target,
            details={"tester": answer.tester, "rating": answer.rating if answer.rating is not None
                     else ("yes" if answer.positive else "no"), "positive": answer.positive,
                     "comment": answer.comment, "date": answer.date, "source": source, "line": answer.line},
        ))
    return writer


def parse_feedback(file: Path) -> tuple[list[Answer], list[RejectedRow]]:
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FeedbackFileError(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise FeedbackFileError(f"{file}: cannot read: {exc.strerror or exc}") from None
    suffix = file.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        rows = _jsonl_rows(text, file)
    elif suffix == ".json" or text.lstrip().startswith(("[", "{")):
        rows = _json_rows(text, file)
    else:
        rows = _csv_rows(text, file)
    answers, rejected = [], []
    for line, item, row in rows:
        try:
            answers.append(_answer(row, line))
        except ValueError as exc:
            rejected.append(RejectedRow(line, str(exc), item))
    return answers, rejected


# -- formats --------------------------------------------------------------------------------------------
Row = tuple[int, int, dict[str, Any]]  # (line, item number, fields)


def _csv_rows(text: str, file: Path) -> list[Row]:
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, None)
    if not header:
        raise FeedbackFileError(f"{file}: empty file")
    columns = _columns(header, file)
    rows: list[Row] = []
    start = reader.line_num + 1
    for item, cells in enumerate(reader, 1):
        if any(c.strip() for c in cells):
            fields = {name: cells[i] if i < len(cells) else "" for name, i in columns.items()}
            if len(cells) > len(header):
                fields["__extra__"] = len(cells) - len(header)
            rows.append((start, item, fields))
        start = reader.line_num + 1
    return rows


def _columns(header: list[str], file: Path) -> dict[str, int]:
    normal = [h.strip().lower().replace("-", " ").replace("_", " ") for h in header]
    columns: dict[str, int] = {}
    for name, aliases in ALIASES.items():
        for alias in aliases:
            if alias.replace("_", " ") in normal:
                columns[name] = normal.index(alias.replace("_", " "))
                break
    missing = [n for n in ("tester", "rating") if n not in columns]
    if missing:
        raise FeedbackFileError(f"{file}: no {' or '.join(missing)} column (found: {', '.join(header)})")
    return columns


def _json_rows(text: str, file: Path) -> list[Row]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FeedbackFileError(f"{file}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    path: list[str] = []
    if isinstance(data, dict):
        key = next((k for k in LIST_KEYS if isinstance(data.get(k), list)), None)
        if key is None:
            raise FeedbackFileError(f"{file}: expected a list of answers, or an object with one of {LIST_KEYS}")
        path, data = [key], data[key]
    if not isinstance(data, list):
        raise FeedbackFileError(f"{file}: expected a list of answers")
    lines = _json_item_lines(text, path, len(data))
    return [(lines[i], i + 1, _normalise(item) if isinstance(item, dict) else {"__not_object__": item})
            for i, item in enumerate(data)]


def _json_item_lines(text: str, path: list[str], count: int) -> list[int]:
    """Line of each list item, from YAML's node marks (JSON is YAML); 0s when YAML cannot follow it."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        for key in path:
            node = next(v for k, v in node.value if k.value == key)
        lines = [item.start_mark.line + 1 for item in node.value]
    except (yaml.YAMLError, StopIteration, AttributeError, TypeError):
        return [0] * count
    return lines if len(lines) == count else [0] * count


def _jsonl_rows(text: str, file: Path) -> list[Row]:
    rows: list[Row] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            rows.append((number, len(rows) + 1, {"__bad_json__": exc.msg}))
            continue
        rows.append((number, len(rows) + 1, _normalise(item) if isinstance(item, dict) else {"__not_object__": item}))
    return rows


def _normalise(item: dict[str, Any]) -> dict[str, Any]:
    lowered = {str(k).strip().lower().replace("-", " ").replace("_", " "): v for k, v in item.items()}
    out: dict[str, Any] = {}
    for name, aliases in ALIASES.items():
        for alias in aliases:
            if alias.replace("_", " ") in lowered:
                out[name] = lowered[alias.replace("_", " ")]
                break
    return out


# -- one answer -----------------------------------------------------------------------------------------
def _answer(row: dict[str, Any], line: int) -> Answer:
    if "__bad_json__" in row:
        raise ValueError(f"not valid JSON: {row['__bad_json__']}")
    if "__not_object__" in row:
        raise ValueError(f"expected an object with tester and rating, found {row['__not_object__']!r}")
    if row.get("__extra__"):
        raise ValueError(f"{row['__extra__']} more cell(s) than the header has columns (a comma in a comment "
                         "without quotes?)")
    tester = str(row.get("tester") or "").strip()
    if not tester:
        raise ValueError("no tester")
    rating, positive = _rating(row.get("rating"))
    comment = str(row.get("comment") or "").strip()
    return Answer(line, tester, rating, positive, comment, _date(row.get("date")))


def _rating(raw: Any) -> tuple[int | None, bool]:
    if isinstance(raw, bool):
        return None, raw
    text = str(raw if raw is not None else "").strip().lower()
    if not text:
        raise ValueError("no rating")
    if text in YES or text in NO:
        return None, text in YES
    number_text = text.split("/", 1)[0].strip()  # "4/5"
    try:
        number = float(number_text)
    except ValueError:
        raise ValueError(f"rating {raw!r} is neither 1-5 nor yes/no") from None
    if number != int(number) or not 1 <= number <= 5:
        raise ValueError(f"rating {raw!r} is not a whole number from 1 to 5")
    return int(number), number >= 4


def _date(raw: Any) -> str | None:
    text = str(raw if raw is not None else "").strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text.replace("/", "-"))
            return datetime(day.year, day.month, day.day, tzinfo=UTC).isoformat().replace("+00:00", "Z")
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"date {text!r} is not YYYY-MM-DD or ISO 8601") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def feedback_command(file: Path, run_dir: Path, testers: int | None = None,
                     criterion: str = "beta.feedback-positive") -> int:
    """`launchgate uat import`: prints what was imported and each rejected row; 0 when every row was good,
    1 when some were rejected (the good ones are written all the same). FeedbackFileError means exit 2."""
    result = import_feedback(file, run_dir, testers=testers, criterion=criterion)
    print(result.summary())
    print(f"evidence: {result.evidence_file}")
    return 1 if result.rejected else 0
