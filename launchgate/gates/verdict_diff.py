"""Two runs' verdicts, criterion by criterion: `python -m launchgate.gates.verdict_diff RUN_A RUN_B`.

The proof that a profile sees what another sees: the reference gated as a deployment the harness did not start
(fixtures/targets/reference-unmanaged.toml) against the managed run (scripts/gate-reference-unmanaged.sh).
Exit 0 when every criterion has the same verdict, 1 when one differs (each named, with both reasons), 2 when a
run directory holds no verdict.json.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Difference:
    criterion: str
    a: str
    b: str
    reason_a: str
    reason_b: str


def verdicts(run_dir: Path) -> dict[str, tuple[str, str]]:
    """criterion -> (verdict, reason) of a run's verdict.json; ValueError naming the file if it has none."""
    path = run_dir / "verdict.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: no readable verdict ({type(exc).__name__})") from None
    return {c["id"]: (c["verdict"], c["reason"]) for gate in data["gates"] for c in gate["criteria"]}


def differences(a: dict[str, tuple[str, str]], b: dict[str, tuple[str, str]]) -> list[Difference]:
    missing = ("absent", "the run decided no such criterion")
    return [Difference(c, a.get(c, missing)[0], b.get(c, missing)[0], a.get(c, missing)[1], b.get(c, missing)[1])
            for c in sorted({*a, *b}) if a.get(c, missing)[0] != b.get(c, missing)[0]]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m launchgate.gates.verdict_diff RUN_A RUN_B", file=sys.stderr)
        return 2
    try:
        a, b = (verdicts(Path(p)) for p in argv)
    except ValueError as exc:
        print(f"verdict_diff: {exc}", file=sys.stderr)
        return 2
    found = differences(a, b)
    for d in found:
        print(f"{d.criterion}: {d.a} in {argv[0]} ({d.reason_a}), {d.b} in {argv[1]} ({d.reason_b})")
    total = len({*a, *b})
    print(f"{total - len(found)} of {total} criteria have the same verdict in both runs")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
