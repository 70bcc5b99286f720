#!/usr/bin/env bash
# The test job (the CI gate): lint; launchgate's own tests against real stacks, the fault matrix (whose healthy run
# is the whole gate suite, features/, on the reference target) and the end-to-end soaks included; the browser tests
# in their own process (Playwright's sync API leaves an event loop behind); the containers path on a private Docker
# engine (scripts/test-containers.sh: installs docker.io, builds the images, stops dockerd by PID); then the
# coverage gate over launchgate/ (services and CLI are measured in their subprocesses too). Ends with a table of
# how long each phase took.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv/bin

phases=()
phase() {  # phase NAME COMMAND...: runs it, times it, and stops the job on failure (with the table so far)
  local name=$1 start=$SECONDS code=0
  shift
  echo "== $name"
  "$@" || code=$?
  phases+=("$(printf '%-34s %5d s%s' "$name" $((SECONDS - start)) "$( ((code)) && echo "  FAILED (exit $code)")")")
  if ((code)); then table; exit "$code"; fi
}
table() {
  echo "== time per phase"
  printf '%s\n' "${phases[@]}"
  printf '%-34s %5d s\n' "total" "$SECONDS"
}

rm -f .coverage .coverage.*
phase "ruff" $VENV/ruff check .
# Modules are spread over two workers, a module's tests staying together (they share its stacks). The fault
# matrix, the soaks and the stacks wait on processes more than they compute.
phase "tests/ (real stacks, fault matrix)" \
  $VENV/coverage run -m pytest tests -m "not browser and not containers" -n 2 --dist loadfile "$@"
phase "browser tests (own process)" $VENV/coverage run -m pytest tests e2e -m browser -p no:cacheprovider "$@"
phase "containers (a private Docker engine)" bash scripts/test-containers.sh
$VENV/coverage combine -q
mkdir -p .launchgate && $VENV/coverage json -q -o .launchgate/coverage.json  # testing.coverage reads it
phase "coverage of launchgate/ (>= 80 %)" $VENV/coverage report --fail-under=80
table
