"""The reference's Prometheus provisioning (reference371os/provision/prometheus.py and fixtures/prometheus): alert
rules and their unit tests, the rendered scrape configuration and the dashboard, checked with promtool; the
dashboard's metrics are the ones the services expose. The harness's SLIs read from the stack's Prometheus are tested
in tests/test_prometheus.py."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml
from reference_testkit import RunningStack, metric_families

from reference371os.layout import SERVICE_NAMES, Ports
from reference371os.provision.prometheus import (
    DASHBOARD_FILE,
    FIXTURES,
    RULES_FILE,
    duration,
    promtool_binary,
    render_config,
    write_config,
)

SERVICE_METRICS = {"http_requests_total", "http_request_duration_seconds_bucket", "process_resident_memory_bytes"}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = promtool_binary()
    if binary is None:
        pytest.fail("promtool not found: apt-get install -y prometheus (scripts/bootstrap.sh installs it)")
    return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=60)


# -- fixtures/prometheus ---------------------------------------------------------------------------------
def test_alert_rules_pass_promtool_check() -> None:
    result = promtool("check", "rules", str(FIXTURES / RULES_FILE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 4 rules found" in result.stdout
    names = {r["alert"] for g in yaml.safe_load((FIXTURES / RULES_FILE).read_text())["groups"] for r in g["rules"]}
    assert names == {"TargetDown", "HighErrorRatio", "HighLatencyP95", "MemoryGrowth"}


def test_each_alert_fires_on_its_signal() -> None:
    result = promtool("test", "rules", str(FIXTURES / "alerts_test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_rendered_config_passes_promtool_and_scrapes_every_service(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config", Ports(18370), scrape_interval=1.0)
    result = promtool("check", "config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    body = yaml.safe_load(config.read_text())
    assert body["global"]["scrape_interval"] == "1s"
    jobs = {c["job_name"]: c["static_configs"][0] for c in body["scrape_configs"]}
    assert set(jobs) == set(SERVICE_NAMES)
    assert jobs["gateway"]["targets"] == ["127.0.0.1:18370"] and jobs["gateway"]["labels"] == {"stack": "reference"}
    assert all(t.startswith("127.0.0.1:") for job in jobs.values() for t in job["targets"])


def test_scrape_durations() -> None:
    assert (duration(1), duration(5.0), duration(0.5), duration(15)) == ("1s", "5s", "500ms", "15s")
    with pytest.raises(ValueError, match="positive"):
        duration(0)
    assert "scrape_timeout: 10s" in render_config(Ports(18370), 30.0)  # never longer than Prometheus allows


def _dashboard_exprs() -> list[tuple[str, str]]:
    dashboard = json.loads((FIXTURES / DASHBOARD_FILE).read_text())
    exprs = [(p["title"], t["expr"]) for p in dashboard["panels"] for t in p.get("targets", [])]
    assert exprs, "the dashboard has no panel with a query"
    return exprs


def test_dashboard_parses_and_every_panel_query_is_valid_promql(tmp_path: Path) -> None:
    # Grafana's variables become what Grafana would put there; promtool then parses each query as a rule.
    grafana = {"$job": ".*", "${job}": ".*", "$__rate_interval": "1m", "$__range": "1h", "$__interval": "15s"}
    rules = []
    for i, (_title, expr) in enumerate(_dashboard_exprs()):
        for var, value in grafana.items():
            expr = expr.replace(var, value)
        assert "$" not in expr, f"unknown Grafana variable in {expr}"
        rules.append({"record": f"dashboard:panel_{i}", "expr": expr})
    rules_file = tmp_path / "dashboard_rules.yml"
    rules_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = promtool("check", "rules", str(rules_file))
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_covers_the_alerted_signals_with_metrics_the_services_expose(stack: RunningStack) -> None:
    used = set()
    for _title, expr in _dashboard_exprs():
        used |= set(re.findall(r"[a-z_]+(?=\{)", expr))
    assert SERVICE_METRICS | {"up"} == used
    exposed = metric_families(httpx.get(f"{stack.url('conduit')}/metrics", timeout=5).text)
    for name in SERVICE_METRICS:
        family = name.removesuffix("_bucket").removesuffix("_total")
        assert family in exposed or name in exposed, f"{name} is not exposed by the services"
