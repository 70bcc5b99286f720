"""Which routes the soak's failed requests were on, and why, from Locust's own `<prefix>_failures.csv` files
(one per load part; Locust writes them with --csv)."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

TOP = 3


def failures_by_route(locust_dir: Path, top: int = TOP) -> list[dict[str, object]]:
    """The `top` (route, error) pairs by count, over every part: [{"route", "error", "count"}]."""
    counts: Counter[tuple[str, str]] = Counter()
    for path in sorted(locust_dir.glob("part-*_failures.csv")):
        try:
            with path.open(newline="") as fh:
                for row in csv.DictReader(fh):
                    method, name = row.get("Method") or "", row.get("Name") or ""
                    route = name if name.startswith(f"{method} ") else f"{method} {name}".strip()
                    counts[(route, (row.get("Error") or "")[:200])] += int(row.get("Occurrences") or 0)
        except (OSError, ValueError, csv.Error):
            continue  # a file Locust was still writing: the counts of the others stand
    return [{"route": route, "error": error, "count": n} for (route, error), n in counts.most_common(top) if n]


def shown(failures: list[dict[str, object]]) -> str:
    """`412 x POST /api/social/posts (HTTPError(...)); 3 x GET /health (...)`."""
    return "; ".join(f"{f['count']:,} x {f['route']} ({f['error']})" for f in failures)
