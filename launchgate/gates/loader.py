"""Loading gates.yaml: every problem is reported with its line and field, one line per problem.

The YAML is composed (not just loaded) so that each value keeps the line it came from; validation
errors from the model are then mapped back to those lines.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from launchgate.gates.model import Criterion, Gate, GatesConfig, Selector, Source, StabilityWindows, Waiver

Path_ = tuple[str | int, ...]


class GatesConfigError(Exception):
    """gates.yaml cannot be used. `problems` holds one 'file:line: field: message' per problem.

    The message is every problem on ONE line, joined by '; ': a command prints it as its single error line.
    """

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = Path(path)
        self.problems = problems
        super().__init__("; ".join(problems) or f"{path}: the gates file cannot be used")


def load_gates(path: Path) -> GatesConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GatesConfigError(path, [f"{path}: cannot read: {exc.strerror or exc}"]) from exc
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise GatesConfigError(path, [f"{path}:{line}: not UTF-8 text"]) from None
    return parse_gates(text, path)


def check_gate_names(config: GatesConfig, names: list[str] | None, path: Path | str) -> None:
    """Gates asked for by name (`--gates`) must be in the file: checked before a run starts, not after it."""
    unknown = [name for name in names or [] if name not in config.gates]
    if unknown:
        which = ", ".join(repr(name) for name in unknown)
        raise GatesConfigError(path, [f"{path}: unknown gate {which} (from --gates); the gates are "
                                      f"{', '.join(config.gates)}"])


def parse_gates(text: str, path: Path | str = "gates.yaml") -> GatesConfig:
    where = str(path)
    data, lines, problems = _compose(text, where)
    if data is None and problems:  # syntax errors: nothing more can be said
        raise GatesConfigError(path, problems)
    if not isinstance(data, dict):
        raise GatesConfigError(path, [f"{where}:1: the file must be a mapping with `gates:` (and `waivers:`)"])
    problems += _id_checks(data, lines, where)
    config = None
    try:
        config = GatesConfig.model_validate(data)
    except ValidationError as exc:
        problems += _validation_problems(exc, data, lines, where)
    if config is not None:
        problems += _threshold_checks(config, data, lines, where)
    if problems or config is None:
        raise GatesConfigError(path, sorted(set(problems), key=_line_key))
    return config


# -- YAML with lines ------------------------------------------------------------------------------------
def _compose(text: str, where: str) -> tuple[Any, dict[Path_, int], list[str]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        return None, {}, [f"{where}:{line}: not valid YAML: {exc.problem or exc.context}"]
    except yaml.YAMLError as exc:
        return None, {}, [f"{where}:1: not valid YAML: {exc}"]
    if node is None:
        return None, {}, [f"{where}:1: the file is empty"]
    lines: dict[Path_, int] = {}
    problems: list[str] = []
    try:
        data = _build(node, (), lines, problems, where)
    finally:
        # The constructor remembers every node it built (and through each, the whole text): a process that reads
        # gates.yaml again and again (a watch rebuilds its report every few minutes) would keep them all.
        _SCALARS.constructed_objects.clear()
        _SCALARS.recursive_objects.clear()
    return data, lines, problems


_SCALARS = yaml.SafeLoader("")  # only its constructor is used: scalars become str, int, float, bool, date


def _build(node: yaml.Node, path: Path_, lines: dict[Path_, int], problems: list[str], where: str) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node, path, problems, where)
            if not isinstance(key, str | int | float | bool):
                problems.append(f"{where}:{key_node.start_mark.line + 1}: {_dotted(path)}: keys must be plain words")
                continue
            if key in out:
                problems.append(f"{where}:{key_node.start_mark.line + 1}: {_dotted((*path, key))}: duplicate key")
            out[key] = _build(value_node, (*path, key), lines, problems, where)
            lines[(*path, key)] = key_node.start_mark.line + 1  # a field's line is its key's line
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), lines, problems, where) for i, item in enumerate(node.value)]
    return _scalar(node, path, problems, where)


def _scalar(node: yaml.Node, path: Path_, problems: list[str], where: str) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        return None
    try:
        return _SCALARS.construct_object(node, deep=True)
    except (ValueError, yaml.YAMLError):  # e.g. the date 2025-13-01: the model reports it, with its field
        return node.value


# -- messages -------------------------------------------------------------------------------------------
_MODELS: tuple[type[BaseModel], ...] = (GatesConfig, Gate, Criterion, Source, Selector, StabilityWindows, Waiver)
_KNOWN_FIELDS = sorted({(f.alias or n) for m in _MODELS for n, f in m.model_fields.items()})


def _validation_problems(exc: ValidationError, data: Any, lines: dict[Path_, int], where: str) -> list[str]:
    problems = []
    errors = exc.errors(include_url=False)
    # `passs:` for `pass:` is one mistake: its "did you mean 'pass'?" says it; "pass: missing" would be a second.
    misspelt = {_misspelt(_clean_loc(e["loc"])) for e in errors if e["type"] == "extra_forbidden"}
    for err in errors:
        loc = _clean_loc(err["loc"])
        if err["type"] == "missing" and loc in misspelt:
            continue
        line = _line_for(loc, lines)
        message = _message(err, loc)
        problems.append(f"{where}:{line}: {_label(loc, data)}: {message}")
    return problems


def _misspelt(loc: Path_) -> Path_ | None:
    """Where the known field an unknown one is a near miss of would be (`(..., 'passs')` -> `(..., 'pass')`)."""
    close = difflib.get_close_matches(str(loc[-1]), _KNOWN_FIELDS, n=1) if loc else []
    return (*loc[:-1], close[0]) if close else None


def _clean_loc(loc: tuple[Any, ...]) -> Path_:
    # pydantic adds validator names ('function-before[...]', 'list[...]') for wrapped fields.
    return tuple(p for p in loc if isinstance(p, int) or ("[" not in p and "(" not in p))


def _message(err: Any, loc: Path_) -> str:
    kind, msg = err["type"], err["msg"]
    field = loc[-1] if loc else ""
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(field), _KNOWN_FIELDS, n=1)
        return "unknown field" + (f" (did you mean '{close[0]}'?)" if close else "")
    if kind == "missing":
        return "missing (required)"
    if kind == "string_pattern_mismatch" and field == "id":
        return "an id is lowercase words joined by dots, e.g. 'alpha.tests-passed'"
    return msg.removeprefix("Value error, ") + _found(err)


def _found(err: Any) -> str:
    if err["type"].startswith(("value_error", "assertion")) or isinstance(err.get("input"), dict | list):
        return ""
    return f" (found {err.get('input')!r})"


def _line_for(loc: Path_, lines: dict[Path_, int]) -> int:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def _label(loc: Path_, data: Any) -> str:
    """`gates.alpha.criteria[3] (alpha.stability).pass`: the path, with the criterion's id when it has one."""
    parts: list[str] = []
    node = data
    for part in loc:
        if isinstance(part, int):
            parts[-1] += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                parts[-1] += f" ({node['id']})"
        else:
            parts.append(str(part))
            node = node.get(part) if isinstance(node, dict) else None
    return ".".join(parts) or "(top level)"


def _dotted(path: Path_) -> str:
    return ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in path).replace(".[", "[") or "(top level)"


def _line_key(problem: str) -> tuple[int, str]:
    try:
        return int(problem.split(":")[1]), problem
    except (IndexError, ValueError):
        return 0, problem


# -- checks across the file -----------------------------------------------------------------------------
def _id_checks(data: dict[Any, Any], lines: dict[Path_, int], where: str) -> list[str]:
    """Duplicate criterion ids and waivers of unknown criteria, on the raw data so they show beside model errors."""
    problems: list[str] = []
    seen: dict[str, str] = {}
    gates = data.get("gates") if isinstance(data.get("gates"), dict) else {}
    for gate_id, gate in gates.items():
        criteria = gate.get("criteria") if isinstance(gate, dict) else None
        for i, crit in enumerate(criteria if isinstance(criteria, list) else []):
            crit_id = crit.get("id") if isinstance(crit, dict) else None
            if not isinstance(crit_id, str):
                continue
            if crit_id in seen:
                loc: Path_ = ("gates", gate_id, "criteria", i, "id")
                problems.append(f"{where}:{_line_for(loc, lines)}: {_label(loc, data)}: duplicate criterion id "
                                f"(already in gate '{seen[crit_id]}')")
            seen.setdefault(crit_id, str(gate_id))
    waivers = data.get("waivers")
    for i, waiver in enumerate(waivers if isinstance(waivers, list) else []):
        crit_id = waiver.get("criterion") if isinstance(waiver, dict) else None
        if isinstance(crit_id, str) and seen and crit_id not in seen:
            loc = ("waivers", i, "criterion")
            problems.append(f"{where}:{_line_for(loc, lines)}: waivers[{i}].criterion: unknown criterion {crit_id!r}")
    return problems


def _threshold_checks(config: GatesConfig, data: Any, lines: dict[Path_, int], where: str) -> list[str]:
    problems: list[str] = []
    for gate_id, gate in config.gates.items():
        for i, crit in enumerate(gate.criteria):
            if crit.warning is not None and _warning_stricter(crit):
                loc: Path_ = ("gates", gate_id, "criteria", i, "warning")
                problems.append(
                    f"{where}:{_line_for(loc, lines)}: {_label(loc, data)}: the warning threshold "
                    f"({crit.warning.text()}) must be easier to meet than pass ({crit.pass_.text()})"
                )
    return problems


def _warning_stricter(crit: Criterion) -> bool:
    p, w = crit.pass_, crit.warning
    assert w is not None
    if p.op in (">=", ">") and w.op in (">=", ">"):
        return w.value > p.value
    if p.op in ("<=", "<") and w.op in ("<=", "<"):
        return w.value < p.value
    return False
