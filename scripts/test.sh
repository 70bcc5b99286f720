#!/usr/bin/env bash
# The test job (the CI gate): lint; launchgate's own tests against real stacks, the fault matrix and the
# end-to-end soaks included; the gate suite (features/) on the reference target; the browser tests in their
# own process (Playwright's sync API leaves an event loop behind); the containers path on a private Docker
# engine (scripts/test-containers.sh: installs docker.io, builds the images, stops dockerd by PID); then the
# coverage gate over launchgate/ (services and CLI are measured in their subprocesses too).
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
$VENV/coverage run -m pytest tests e2e -m browser -p no:cacheprovider "$@"
echo "== containers (a private Docker engine)"
bash scripts/test-containers.sh
$VENV/coverage combine -q
mkdir -p .launchgate && $VENV/coverage json -q -o .launchgate/coverage.json  # testing.coverage reads it
echo "== coverage of launchgate/"
$VENV/coverage report --fail-under=80
