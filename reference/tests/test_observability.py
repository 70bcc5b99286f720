"""Logs honour LOG_LEVEL and never carry a secret; metrics and config views are what operators need."""

from __future__ import annotations

import httpx
from reference_testkit import Campaigns, RunningStack, campaign_body, metric_families

from reference371os.layout import SERVICE_NAMES


def all_logs(running: RunningStack) -> str:
    return "\n".join(p.read_text(errors="replace") for p in running.stack.logs.glob("*.log"))


def test_no_secret_reaches_a_log_or_a_response(stack: RunningStack) -> None:
    secrets = stack.secrets
    # Exercise logins with every seeded password, an API key and a failing login that is logged.
    gateway = stack.client()
    for role, password in secrets.role_passwords.items():
        reply = gateway.post("/api/auth/login", json={"email": f"{role}@371os.local", "password": password})
        assert secrets.jwt_secret not in str(reply)
    gateway.raw("POST", "/api/auth/login", json={"email": "admin@371os.local", "password": secrets.admin_api_key})
    httpx.get(f"{stack.gateway}/api/email/campaigns", headers={"X-API-Key": secrets.admin_api_key}).raise_for_status()
    logs = all_logs(stack)
    leaked = [name for name, value in _named(secrets) if value in logs]
    assert leaked == [], f"secrets in the logs: {leaked}"
    for name in SERVICE_NAMES:
        body = httpx.get(f"{stack.url(name)}/config").text
        assert not [n for n, v in _named(secrets) if v in body], f"{name} /config shows a secret"


def test_log_level_is_honoured(make_stack) -> None:  # type: ignore[no-untyped-def]
    quiet: RunningStack = make_stack(log_level="WARNING")
    campaigns = Campaigns(quiet.client("admin"))
    campaigns.wait_until_final(campaigns.create(campaign_body(["quiet@recipients.test"]))["id"])
    logs = all_logs(quiet)
    assert " INFO " not in logs and " DEBUG " not in logs
    assert httpx.get(f"{quiet.url('conduit')}/config").json()["log_level"] == "WARNING"


def test_every_service_exposes_route_metrics_and_process_memory(stack: RunningStack) -> None:
    for name in SERVICE_NAMES:
        httpx.get(f"{stack.url(name)}/health")
        text = httpx.get(f"{stack.url(name)}/metrics").text
        families = metric_families(text)
        assert {"http_requests_total", "http_request_duration_seconds", "process_resident_memory_bytes",
                "process_cpu_seconds_total"} <= families, name
        assert 'route="/health"' in text, f"{name} labels no route"


def test_config_view_names_environment_without_secrets(stack: RunningStack) -> None:
    body = httpx.get(f"{stack.url('conduit')}/config").json()
    assert body["node_env"] == "development"
    assert body["chain_id"] == 31337
    assert body["key_mode"] == "sandbox"
    assert body["database_kind"] == "sqlite"


def _named(secrets) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    pairs = [("internal_token", secrets.internal_token), ("jwt_secret", secrets.jwt_secret),
             ("fernet_key", secrets.fernet_key), ("admin_api_key", secrets.admin_api_key),
             ("postiz_api_key", secrets.postiz_api_key)]
    return pairs + [(f"password:{role}", value) for role, value in secrets.role_passwords.items()]
