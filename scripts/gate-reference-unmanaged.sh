#!/usr/bin/env bash
# The reference gated as a deployment the harness did not start, and its verdicts compared with the managed run's,
# criterion by criterion: what a staging user gets is the same truth.
#   scripts/gate-reference-unmanaged.sh [MANAGED_RUN_DIR | --no-compare]
# Without an argument it first runs the managed gate suite itself (`launchgate run --target reference`), one after
# the other: each onboarding rehearsal needs the whole 2-core host. --no-compare gates the unmanaged reference only
# (scripts/test.sh compares it with its main job once both have ended).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv/bin
reports=.launchgate/unmanaged-reports
managed=${1:-}
if [[ -n $managed && $managed != --no-compare && ! -f $managed/verdict.json ]]; then
  echo "gate-reference-unmanaged: $managed holds no verdict.json (a run directory of launchgate run)" >&2
  exit 2
fi
if [[ -z $managed ]]; then
  $VENV/launchgate run --target reference --reports-dir "$reports/managed" --exit-zero
  managed=$(readlink -f "$reports/managed/latest")
fi
# A stack of its own, fresh, as the managed run's is: the stack commands and the profile's hooks read its state
# directory from LAUNCHGATE_STACK_STATE.
export LAUNCHGATE_STACK_STATE=.launchgate/unmanaged-stack
$VENV/launchgate stack down >/dev/null 2>&1 || true
rm -rf "$LAUNCHGATE_STACK_STATE"
trap '$VENV/launchgate stack down >/dev/null 2>&1 || true' EXIT INT TERM
$VENV/launchgate stack up
# What an operator hands the harness for a staging deployment: credentials and secrets in the environment.
eval "$($VENV/launchgate stack credentials)"
$VENV/launchgate run --target reference-unmanaged --reports-dir "$reports/unmanaged" --exit-zero
if [[ $managed != --no-compare ]]; then
  $VENV/python -m launchgate.gates.verdict_diff "$managed" "$(readlink -f "$reports/unmanaged/latest")"
fi
