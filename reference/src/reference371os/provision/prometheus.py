"""The stack's Prometheus: its configuration, rendered from fixtures/prometheus/, and where its binaries are."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import jinja2

from reference371os.layout import SERVICES, Ports
from reference371os.paths import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "prometheus"
CONFIG_TEMPLATE = "prometheus.yml.j2"
RULES_FILE = "alerts.yml"
DASHBOARD_FILE = "grafana-dashboard.json"
STACK_LABEL = "reference"  # every target carries stack="reference"; the rules and the dashboard select on it
INSTALL_HINT = "apt-get install -y prometheus (Debian ships prometheus and promtool in it)"


def prometheus_binary() -> Path | None:
    return _binary("LAUNCHGATE_PROMETHEUS", "prometheus")


def promtool_binary() -> Path | None:
    return _binary("LAUNCHGATE_PROMTOOL", "promtool")


def _binary(env: str, name: str) -> Path | None:
    override = os.environ.get(env)
    if override:
        return Path(override) if Path(override).exists() else None
    found = shutil.which(name)
    return Path(found) if found else None


def duration(seconds: float) -> str:
    """Prometheus's duration syntax: 1s, 5s, 500ms."""
    if seconds <= 0:
        raise ValueError(f"a scrape interval must be positive, found {seconds}")
    millis = round(seconds * 1000)
    return f"{millis // 1000}s" if millis % 1000 == 0 else f"{millis}ms"


def render_config(ports: Ports, scrape_interval: float) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(FIXTURES), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, autoescape=False)
    timeout = min(scrape_interval, 10.0)  # Prometheus refuses a timeout longer than the interval
    return env.get_template(CONFIG_TEMPLATE).render(
        scrape_interval=duration(scrape_interval),
        scrape_timeout=duration(timeout),
        stack=STACK_LABEL,
        services={spec.name: ports.service(spec.name) for spec in SERVICES},
    )


def write_config(directory: Path, ports: Ports, scrape_interval: float) -> Path:
    """prometheus.yml and the alert rules beside it (the config names them relatively); world-readable,
    because the official image runs Prometheus as `nobody`."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "prometheus.yml"
    config.write_text(render_config(ports, scrape_interval))
    shutil.copyfile(FIXTURES / RULES_FILE, directory / RULES_FILE)
    for path in (directory, config, directory / RULES_FILE):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return config
