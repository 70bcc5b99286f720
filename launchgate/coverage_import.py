"""Line coverage as evidence: `launchgate coverage FILE [--run RUN]`, and the record the gate suite writes.

The criterion testing.coverage reads `measurement` records (gates.yaml); this is their one shape, whether the
gate suite reads the file the profile names or a CI job imports a report into a run afterwards.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from launchgate.drivers.coverage_files import CoverageFileError, CoverageReading, read_coverage
from launchgate.evidence import Evidence, EvidenceWriter

CRITERION = "testing.coverage"


def coverage_evidence(reading: CoverageReading, run: str, target: str) -> Evidence:
    return Evidence(
        run=run,
        kind="measurement",
        name="line coverage",
        outcome="passed",  # a measurement taken; gates.yaml judges its value
        criterion=CRITERION,
        gate="preconditions",
        value=round(reading.ratio, 4),
        unit="ratio",
        started=reading.modified,  # measured when the report was written: its age is what max_age judges
        finished=reading.modified,
        target=target,
        details={"file": str(reading.path), "format": reading.format, "covered_lines": reading.covered,
                 "total_lines": reading.total, "file_modified": reading.modified},
    )


def coverage_command(args: argparse.Namespace) -> int:
    try:
        reading = read_coverage(Path(args.file))
    except CoverageFileError as exc:
        print(f"launchgate: {exc}", file=sys.stderr)
        return 2
    print(f"line coverage {reading.describe()}")
    if args.run:
        run_dir = Path(args.run)
        if not run_dir.is_dir():
            run_dir = Path(args.reports_dir) / args.run
        if not run_dir.is_dir():
            print(f"launchgate: no run directory {args.run!r} (looked in {args.reports_dir}/)", file=sys.stderr)
            return 2
        EvidenceWriter(run_dir, "coverage").write(coverage_evidence(reading, run_dir.name, args.target))
        print(f"recorded as {CRITERION} evidence in {run_dir}; rebuild the report with: launchgate report {run_dir}")
    return 0


def register(sub: Any) -> None:
    parser = sub.add_parser("coverage", help="read a coverage report (Cobertura XML, lcov, coverage.py JSON)")
    parser.add_argument("file")
    parser.add_argument("--run", help="record it as testing.coverage evidence in this run (directory or id)")
    parser.add_argument("--reports-dir", default="reports")
    parser.add_argument("--target", default="reference", help="the target the coverage belongs to")
    parser.set_defaults(func=coverage_command)
