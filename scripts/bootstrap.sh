#!/usr/bin/env bash
# Installs, idempotently, what launchgate needs: system packages, uv, the .venv from uv.lock, and the npm
# tools from package-lock.json. Safe to run on every `make` call: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: PostgreSQL, Redis, Prometheus (+promtool) and Alertmanager (the watch's alerts), Chromium for
# Playwright (and ffmpeg for its videos), Node for anvil and Cucumber's messages reader.
APT_PACKAGES=(postgresql redis-server prometheus prometheus-alertmanager chromium ffmpeg nodejs npm)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  # nodejs/npm may come from elsewhere (nodesource, nvm): a working binary is enough.
  case "$pkg" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: missing system packages: ${missing[*]}" >&2
    echo "bootstrap: install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 2
  fi
fi

if ! command -v uv >/dev/null 2>&1; then
  echo "bootstrap: installing uv"
  if ! python3 -m pip --version >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    apt-get install -y -qq python3-pip >/dev/null  # Debian's python3 comes without pip
  fi
  python3 -m pip install --quiet --disable-pip-version-check uv 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages uv
  hash -r
fi
UV=$(command -v uv || echo "$HOME/.local/bin/uv")
# Byte-compiled at install, as a production install is: a host that sets PYTHONDONTWRITEBYTECODE (this one does)
# would otherwise compile every module again in every process, about half of each start's CPU (a pytest run,
# a service, a CLI call), and the test job starts hundreds of them.
# pytest rewrites the asserts of test modules, conftest.py files and plugins (steps/, launchgate/bdd/) on import and
# keeps the result beside them only where bytecode may be written: one collection that may write it saves each
# later pytest process (the gate suite, every faulted run) about 0.5 s of CPU.
"$UV" sync --frozen --quiet --compile-bytecode
.venv/bin/python -m compileall -q -j 0 launchgate steps load features tests reference/tests e2e conftest.py >/dev/null
PYTHONDONTWRITEBYTECODE= .venv/bin/python -m pytest features tests e2e --collect-only -q -p no:cacheprovider \
  >/dev/null 2>&1 || true

# npm ci only when the lock changed since the last install.
if ! cmp -s package-lock.json node_modules/.launchgate-lock 2>/dev/null \
   || [[ ! -x node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil ]]; then
  echo "bootstrap: installing npm packages (anvil, Cucumber's messages reader)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  cp package-lock.json node_modules/.launchgate-lock
fi
