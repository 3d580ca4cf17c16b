"""deploy/observability against a live node: `promtool check rules` passes on the alert rules and
`promtool check metrics` on the node's /metrics, and every metric and label the rules and the
Grafana dashboard's queries name is one the node exports. A budget's share used is exported."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from gateway.metrics import names
from tests.e2e.conftest import Gateway

ASSETS = Path(__file__).resolve().parents[2] / "deploy" / "observability"
RULES = ASSETS / "alerts.yaml"
DASHBOARD = ASSETS / "grafana-dashboard.json"
# Labels Prometheus adds at scrape, and the one a dashboard query makes with label_replace.
NOT_EXPORTED = {"job", "instance", "class"}

YAML = """
model_groups:
  - name: chat
    deployments: [{provider: mock}]
tenants:
  - name: default
    apps:
      - name: demo
        budgets: [{requests: 10, per: day}]
"""
MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory) -> Iterator[Gateway]:
    gw = Gateway(tmp_path_factory.mktemp("gw"), YAML)
    gw.keys = {"demo": gw.new_key("demo")}
    gw.start()
    yield gw
    assert gw.stop() == 0


def rule_queries() -> list[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def dashboard_queries() -> list[str]:
    def panels(items: list[dict]) -> Iterator[dict]:
        for p in items:
            yield p
            yield from panels(p.get("panels", []))

    board = json.loads(DASHBOARD.read_text())
    queries = [t["expr"] for p in panels(board["panels"]) for t in p.get("targets", [])]
    queries += [v["definition"] for v in board["templating"]["list"] if v["type"] == "query"]
    assert len(queries) > 20  # the walk found the panels
    return queries


def exported_labels(text: str) -> dict[str, set[str]]:
    """Every sample name the node serves (counters' `_total`, histograms' `_bucket` …) and the
    labels of its family."""
    out: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        labels = {name for s in family.samples for name in s.labels}
        for s in family.samples:
            out.setdefault(s.name, set()).update(labels)
        # A family with no sample yet (no budget on a node): its name still counts.
        out.setdefault(family.name + ("_total" if family.type == "counter" else ""), set())
    # The workers' families declare their labels (a cost needs a priced model to have a sample).
    for spec in names.WORKER_METRICS:
        for suffix in {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}[
            spec.kind
        ]:
            if spec.name + suffix in out:
                out[spec.name + suffix].update(spec.labels)
    return out


def metrics_text(gw: Gateway) -> str:
    return httpx.get(gw.admin_url + "/metrics").text


def test_promtool_accepts_the_alert_rules():
    done = subprocess.run(["promtool", "check", "rules", str(RULES)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rule_queries())} rules found" in done.stdout


def test_promtool_accepts_the_live_metrics(gateway: Gateway):
    done = subprocess.run(
        ["promtool", "check", "metrics"], input=metrics_text(gateway), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("source", ["alerts", "dashboard"])
def test_every_metric_and_label_queried_is_exported(gateway: Gateway, source: str):
    # A plain request and a stream first, so the labelled request families have samples (and
    # their labels show).
    api = openai.OpenAI(base_url=gateway.base_url + "/v1", api_key=gateway.keys["demo"], max_retries=0)
    api.chat.completions.create(model="chat", messages=MESSAGES)
    for _ in api.chat.completions.create(model="chat", messages=MESSAGES, stream=True):
        pass
    # Workers publish every flush interval (1 s): poll until the stream shows.
    for _ in range(2000):
        exported = exported_labels(metrics_text(gateway))
        if exported.get("aigw_time_to_first_byte_seconds_bucket"):
            break
    values: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(metrics_text(gateway)):
        for sample in family.samples:
            for label, value in sample.labels.items():
                values.setdefault(label, set()).add(value)
    queries = rule_queries() if source == "alerts" else dashboard_queries()
    for query in queries:
        if query.startswith("up{"):  # Prometheus's own: is the node scraped at all
            continue
        metrics = set(re.findall(r"\baigw_[a-z_]+\b", query))
        assert metrics, query
        unknown = metrics - exported.keys()
        assert not unknown, f"{query}: not exported: {unknown}"
        named = {m.group(1) for m in re.finditer(r"\b([a-z_]+)\s*(?:=~|!~|!=|=)\s*\"", query)}
        for grouping in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", query):
            named |= {label.strip() for label in grouping.split(",") if label.strip()}
        named -= {"le"} if any(m.endswith("_bucket") for m in metrics) else set()
        # label_replace's own arguments are strings, not matchers: its target label is `class`.
        known = set().union(*(exported[m] for m in metrics)) | NOT_EXPORTED
        assert named <= known, f"{query}: labels no metric of it has: {named - known}"
        # A label compared with one value (state="invalid", reason!="write_error") is one it takes.
        for label, value in re.findall(r"\b([a-z_]+)\s*!?=\s*\"([^\"]*)\"", query):
            assert not value or value in values.get(label, set()), f"{query}: {label} is never {value!r}"


def test_the_share_of_a_budget_used_is_exported(gateway: Gateway):
    key = ("app", "default/demo", "requests", "day")

    def used() -> float | None:
        for family in text_string_to_metric_families(metrics_text(gateway)):
            for s in family.samples:
                if s.name == "aigw_budget_used_ratio":
                    labels = (s.labels["scope"], s.labels["subject"], s.labels["kind"], s.labels["period"])
                    if labels == key:
                        return s.value
        return None

    before = used()
    assert before is not None
    api = openai.OpenAI(base_url=gateway.base_url + "/v1", api_key=gateway.keys["demo"], max_retries=0)
    api.chat.completions.create(model="chat", messages=MESSAGES)
    # Admission charges the budget before it forwards: the count is there once the answer is.
    assert used() == pytest.approx(before + 0.1)
