"""deploy/kubernetes/: the soak's master Job, its Service and the worker Deployment. Checked offline: each
document against the Kubernetes OpenAPI schema (kubernetes-validate's bundled JSON schemas, strict: an unknown
field is an error), and the three against each other and against launchgate's own command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from launchgate.cli import build_parser
from launchgate.runner import PROJECT_ROOT

MANIFESTS = sorted((PROJECT_ROOT / "deploy" / "kubernetes").glob("*.yaml"))


def _documents() -> list[dict[str, Any]]:
    return [doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


def _kind(kind: str) -> dict[str, Any]:
    (found,) = [doc for doc in _documents() if doc["kind"] == kind]
    return found


@pytest.mark.parametrize("document", _documents(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_each_document_is_valid_kubernetes(document: dict[str, Any]) -> None:
    kubernetes_validate.validate(document, kubernetes_validate.latest_version(), strict=True)


def test_the_schema_check_catches_a_misspelt_field() -> None:
    job = _kind("Job")
    job["spec"]["template"]["spec"]["containers"][0]["comand"] = ["launchgate"]
    with pytest.raises(kubernetes_validate.ValidationError, match="comand"):
        kubernetes_validate.validate(job, kubernetes_validate.latest_version(), strict=True)


def _container(workload: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    command = container["command"]
    assert command[0] == "launchgate"
    return container, build_parser().parse_args(command[1:])  # the options launchgate really has


def test_master_workers_and_service_fit_together() -> None:
    job, deployment, service = _kind("Job"), _kind("Deployment"), _kind("Service")
    master, soak = _container(job)
    worker, joining = _container(deployment)
    assert soak.func.__name__ == "cmd_soak" and joining.func.__name__ == "cmd_worker"
    assert soak.expect_workers == deployment["spec"]["replicas"]
    (port,) = service["spec"]["ports"]
    (container_port,) = master["ports"]
    bind_host, _, bind_port = soak.master_bind.rpartition(":")
    assert bind_host == "0.0.0.0" and soak.allow_remote_workers
    assert int(bind_port) == container_port["containerPort"] == port["port"]
    assert port["targetPort"] == container_port["name"]
    assert joining.master == f"{service['metadata']['name']}:{port['port']}" and joining.allow_remote_master
    assert set(service["spec"]["selector"].items()) <= set(job["spec"]["template"]["metadata"]["labels"].items())
    # Same profile and locustfile on both sides (the master refuses a worker that differs), the profile mounted
    # from the same ConfigMap at the same path.
    assert (soak.target, soak.locustfile) == (joining.target, joining.locustfile)
    profile = [m for m in master["volumeMounts"] if m["name"] == "profile"]
    assert profile and profile == [m for m in worker["volumeMounts"] if m["name"] == "profile"]
    assert Path(profile[0]["mountPath"]).name == f"{soak.target}.toml"
    # The run directory lives on a volume, so that `soak --resume` finds it after a pod is replaced.
    mounts = [Path(m["mountPath"]) for m in master["volumeMounts"]]
    assert any(Path(soak.run_dir).is_relative_to(m) for m in mounts), (soak.run_dir, mounts)
