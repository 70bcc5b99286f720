"""Evidence of another run (a soak, an onboarding rehearsal) brought into a gate run, each record naming its
origin. The source run is never changed; its records keep their own times, so durations stay honest."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from launchgate.evidence import BadLine, Evidence, EvidenceWriter, read_evidence


class EvidenceImportError(Exception):
    """The source is not a run directory with evidence."""


@dataclass
class Imported:
    source: Path
    records: list[Evidence]
    bad: list[BadLine]


def import_run(source: Path, run_dir: Path, stream: str) -> Imported:
    """Copies every readable record of `source` into `run_dir`'s evidence stream `stream`, once: whoever creates
    the stream first writes it (several scenarios, or xdist workers, may read the same soak). Unreadable lines
    (a crash can cut the last one) are left out and returned, for the scenario to name."""
    if not (source / "evidence").is_dir():
        raise EvidenceImportError(f"{source} holds no evidence/ directory: it is not a finished launchgate run")
    records, bad = read_evidence(source)
    writer = EvidenceWriter(run_dir, stream, stamp=False)  # each record keeps the build it measured
    if not writer.claim():
        return Imported(source, records, bad)
    for record in records:
        origin = {"imported_from": str(source), "source_run": record.run}
        writer.write(dataclasses.replace(record, run=writer.run_id, details={**record.details, **origin}))
    return Imported(source, records, bad)
