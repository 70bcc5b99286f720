#!/usr/bin/env bash
# The containers path (`launchgate stack up --provision containers`), tested for real. Installs docker.io and
# debootstrap when missing (as root, through apt), starts a private dockerd by PID (data root, exec root,
# socket and PID file under .launchgate/docker/; host networking only), builds the local images (cached),
# runs the tests marked `containers`, and stops dockerd by PID even when they fail. Where no engine can start,
# the tests are skipped with the reason. DOCKER_HOST set: that engine is used and left alone.
# LAUNCHGATE_SKIP_CONTAINERS=1 skips the whole step.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv/bin

if [[ "${LAUNCHGATE_SKIP_CONTAINERS:-}" == 1 ]]; then
  echo "containers: skipped (LAUNCHGATE_SKIP_CONTAINERS=1)"
  exit 0
fi
started=$SECONDS

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "containers: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } \
      || echo "containers: could not install ${missing[*]}"
  else
    echo "containers: missing ${missing[*]}; install with: sudo apt-get install -y ${missing[*]}"
  fi
fi

we_started=0
stop_engine() {
  if ((we_started)); then $VENV/python -m reference371os.provision.engine stop; fi
}
trap stop_engine EXIT
if [[ -z "${DOCKER_HOST:-}" ]]; then
  pidfile=.launchgate/docker/dockerd.pid
  already=0
  if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then already=1; fi
  if out=$($VENV/python -m reference371os.provision.engine start 2>&1); then
    export "${out?}"  # DOCKER_HOST=unix://...
    ((already)) || we_started=1
    echo "containers: dockerd up ($DOCKER_HOST) after $((SECONDS - started)) s"
  else
    export LAUNCHGATE_NO_ENGINE="$out"
    echo "containers: no Docker engine: $out"
  fi
fi

if [[ -z "${LAUNCHGATE_NO_ENGINE:-}" ]]; then
  t0=$SECONDS
  $VENV/python -m reference371os.provision.images  # the reference's code: outside the harness's coverage
  echo "containers: images ready after $((SECONDS - t0)) s"
fi
t0=$SECONDS
$VENV/coverage run -m pytest tests/test_containers.py reference/tests/test_provision.py -m containers -p no:cacheprovider -rs
echo "containers: tests took $((SECONDS - t0)) s; the whole containers step $((SECONDS - started)) s"
