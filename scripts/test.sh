#!/usr/bin/env bash
# The test job: lint, launchgate's own tests with coverage of launchgate/ (services and CLI measured in
# their subprocesses too), and the coverage gate.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv/bin

rm -f .coverage .coverage.*
echo "== ruff"
$VENV/ruff check .
echo "== tests/ (launchgate itself, against real stacks)"
$VENV/coverage run -m pytest tests "$@"
$VENV/coverage combine -q
echo "== coverage of launchgate/"
$VENV/coverage report --fail-under=80
