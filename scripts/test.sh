#!/usr/bin/env bash
# The test job: lint; launchgate's own tests against real stacks; the gate suite (features/) on the
# reference target; the browser tests in their own process (Playwright's sync API leaves an event loop
# behind); then the coverage gate over launchgate/ (services and CLI are measured in their subprocesses).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv/bin

rm -f .coverage .coverage.*
echo "== ruff"
$VENV/ruff check .
echo "== tests/ (launchgate itself, against real stacks)"
$VENV/coverage run -m pytest tests -m "not browser and not containers" "$@"
echo "== features/ (the gate suite, reference target)"
$VENV/coverage run -m pytest features -p no:cacheprovider "$@"
echo "== browser tests (own process)"
$VENV/coverage run -m pytest tests e2e -m browser -p no:cacheprovider "$@" || rc=$?
if [[ ${rc:-0} -ne 0 && ${rc:-0} -ne 5 ]]; then exit "$rc"; fi  # 5: none collected yet
echo "== containers provisioning (a private Docker engine, by PID; scripts/test-containers.sh)"
bash scripts/test-containers.sh
$VENV/coverage combine -q
mkdir -p .launchgate && $VENV/coverage json -q -o .launchgate/coverage.json  # testing.coverage reads it
echo "== coverage of launchgate/"
$VENV/coverage report --fail-under=80
