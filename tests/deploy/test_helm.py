"""deploy/helm/aigw rendered by Helm's own engine (the Helm v4 SDK through helm-python-sdk; no
helm binary is needed) with its defaults (one node) and as a cluster, linted by Helm, and every
manifest validated against the Kubernetes schemas (kubernetes-validate, strict: unknown fields
fail) and the ServiceMonitor against prometheus-operator's CRD model. The probes, the drain
timing, the security context and the wiring between the objects are asserted."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml
from cloudcoil.models.prometheus_operator.v1 import ServiceMonitor

from .cluster_config import check, cluster_keys
from .install import ROOT
from .test_compose import SECRETS

CHART = ROOT / "deploy" / "helm" / "aigw"
KUBERNETES = "1.30"  # the oldest release still supported upstream when this chart was written
CLUSTER = {
    "replicaCount": 3,
    "store": {"existingSecret": "aigw-store"},
    "cluster": {"redisUrl": "redis://redis.ai.svc:6379/0"},
    "secrets": {"existingSecret": "aigw-secrets"},
    "autoscaling": {"enabled": True},
    "serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}},
    "server": {"shutdownTimeoutSeconds": 45},
}


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    with helm.Chart.load(str(CHART)) as chart:
        rendered = chart.render(values, name="gw", namespace="ai")
    return [
        doc
        for path, text in rendered.items()
        if path.endswith(".yaml")
        for doc in yaml.safe_load_all(text)
        if doc
    ]


def by_kind(docs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        found.setdefault(doc["kind"], []).append(doc)
    return found


def validate(doc: dict[str, Any]) -> None:
    if doc["kind"] == "ServiceMonitor":
        model = ServiceMonitor.model_validate(doc)
        # The model drops what the CRD does not define: a round trip must give the same object.
        assert model.model_dump(by_alias=True, exclude_none=True) == doc
        return
    kubernetes_validate.validate(doc, KUBERNETES, strict=True)


def test_helm_lint_finds_nothing():
    for values in ({}, CLUSTER):
        report = helm.lint(str(CHART), values, strict=True)
        assert not report["errors"], report
        assert all(m["severity"] < 2 for m in report["messages"]), report["messages"]


@pytest.mark.parametrize("values", [{}, CLUSTER], ids=["single", "cluster"])
def test_every_rendered_manifest_matches_its_schema(values: dict[str, Any]):
    docs = render(values)
    assert docs
    for doc in docs:
        validate(doc)
    # The validator is not a rubber stamp: a misspelt field is refused.
    deployment = by_kind(docs)["Deployment"][0]
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(deployment)


def container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (deployment,) = by_kind(docs)["Deployment"]
    (main,) = deployment["spec"]["template"]["spec"]["containers"]
    return dict(main)


def node_config(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (configmap,) = by_kind(docs)["ConfigMap"]
    config: dict[str, Any] = yaml.safe_load(configmap["data"]["aigw.yaml"])
    return config


@pytest.mark.parametrize("values", [{}, CLUSTER], ids=["single", "cluster"])
def test_probes_drain_and_security_context(values: dict[str, Any]):
    docs = render(values)
    (deployment,) = by_kind(docs)["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    main = container(docs)
    ports = {p["name"]: p["containerPort"] for p in main["ports"]}
    server = node_config(docs)["server"]
    assert ports == {"http": server["port"], "admin": server["admin_port"]}
    assert server["host"] == server["admin_host"] == "0.0.0.0"  # kubelet probes the pod's address

    # Readiness on /ready, liveness on /health, both on the admin listener; a start-up probe
    # gives a slow start two minutes before liveness can restart the pod.
    assert main["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "admin"}
    assert main["livenessProbe"]["httpGet"] == {"path": "/health", "port": "admin"}
    startup = main["startupProbe"]
    assert startup["httpGet"] == {"path": "/health", "port": "admin"}
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 120

    # Drain: preStop holds SIGTERM while the pod leaves the endpoints; then the drain of
    # shutdown_timeout_s and the supervisor's 10 s fit in the grace period.
    (sleep, seconds) = main["lifecycle"]["preStop"]["exec"]["command"]
    assert sleep == "sleep" and int(seconds) >= 5
    shutdown = server["shutdown_timeout_s"]
    assert shutdown == (values.get("server", {}).get("shutdownTimeoutSeconds", 30))
    assert pod["terminationGracePeriodSeconds"] >= int(seconds) + shutdown + 10

    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert main["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert main["resources"]["requests"] and main["resources"]["limits"]
    # A read-only root: the store, /tmp and the shared memory are volumes.
    mounts = {m["mountPath"] for m in main["volumeMounts"]}
    assert {"/var/lib/aigw", "/tmp", "/dev/shm", "/etc/aigw"} <= mounts


def test_single_node_keeps_its_sqlite_store_on_a_volume_and_refuses_replicas():
    docs = render({})
    kinds = by_kind(docs)
    (deployment,) = kinds["Deployment"]
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"] == {"type": "Recreate"}
    (claim,) = kinds["PersistentVolumeClaim"]
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert not {"HorizontalPodAutoscaler", "PodDisruptionBudget", "ServiceMonitor"} & set(kinds)
    with pytest.raises(helm.HelmError, match=r"need store\.url \(PostgreSQL\)"):
        render({"replicaCount": 3})


def test_cluster_wires_secrets_store_redis_autoscaling_and_monitoring():
    docs = render(CLUSTER)
    kinds = by_kind(docs)
    (deployment,) = kinds["Deployment"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    assert "replicas" not in deployment["spec"]  # the autoscaler owns it

    env = {e["name"]: e for e in container(docs)["env"]}
    secret_of = {name: e["valueFrom"]["secretKeyRef"]["name"] for name, e in env.items() if "valueFrom" in e}
    assert secret_of["AIGW_ADMIN_TOKEN"] == secret_of["AIGW_SECRET_KEY"] == "aigw-secrets"
    assert secret_of["AIGW_STORE_URL"] == "aigw-store"
    assert env["AIGW_REDIS_URL"]["value"] == CLUSTER["cluster"]["redisUrl"]

    config = node_config(docs)
    assert cluster_keys(config) == {
        ("store", "url"): "${AIGW_STORE_URL}",
        ("cluster", "redis_url"): "${AIGW_REDIS_URL}",
    }

    (hpa,) = kinds["HorizontalPodAutoscaler"]
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    (pdb,) = kinds["PodDisruptionBudget"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    services = {s["metadata"]["name"]: s for s in kinds["Service"]}
    for service in services.values():
        assert service["spec"]["selector"].items() <= labels.items()
    (monitor,) = kinds["ServiceMonitor"]
    wanted = monitor["spec"]["selector"]["matchLabels"].items()
    scraped = [s for s in services.values() if wanted <= s["metadata"]["labels"].items()]
    assert [s["metadata"]["name"] for s in scraped] == ["gw-aigw-admin"]
    assert monitor["spec"]["endpoints"] == [{"port": "admin", "path": "/metrics", "interval": "30s"}]
    assert [p["name"] for p in scraped[0]["spec"]["ports"]] == ["admin"]
    assert monitor["metadata"]["labels"]["release"] == "prometheus"


@pytest.mark.parametrize("values", [{}, CLUSTER], ids=["single", "cluster"])
def test_rendered_node_config_passes_aigw_config_check(values: dict[str, Any], tmp_path: Path):
    config = node_config(render(values))
    env = {**SECRETS, "AIGW_STORE_URL": "postgresql://aigw@pg/aigw", "AIGW_REDIS_URL": "redis://redis:6379/0"}
    result = check(config, tmp_path, {**os.environ, **env})
    assert result.returncode == 0, result.stdout + result.stderr
