"""/metrics: Prometheus text with webhooks by source and outcome, dedup, incidents opened/open, latency."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.escalation.processes import Serve, Sink
from tests.webhooks.support import AM, client_for, configure, fixture, sidecar_app


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_metrics_count_webhooks_dedup_and_incidents(http):
    firing = fixture("001_firing_DBPrimaryDown.json")
    for _ in range(3):
        await http.post("/webhooks/alertmanager", json=firing, headers=AM)
    await http.post("/webhooks/alertmanager", json=firing, headers={"Authorization": "Bearer wrong"})
    await http.post("/webhooks/alertmanager", json=fixture("002_firing_DiskAlmostFull.json"), headers=AM)
    response = await http.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)
    assert samples[("tocsin_webhooks_total", (("outcome", "accepted"), ("source", "alertmanager")))] == 4
    assert samples[("tocsin_webhooks_total", (("outcome", "unauthorized"), ("source", "alertmanager")))] == 1
    assert samples[("tocsin_alerts_deduplicated_total", (("source", "alertmanager"),))] == 2
    assert samples[("tocsin_incidents_opened_total", (("severity", "critical"), ("source", "alertmanager")))] == 1
    assert samples[("tocsin_incidents_opened_total", (("severity", "medium"), ("source", "alertmanager")))] == 1
    assert samples[("tocsin_incidents_open", (("severity", "critical"),))] == 1
    assert samples[("tocsin_incidents_open", (("severity", "low"),))] == 0
    count = ("tocsin_http_request_duration_seconds_count",
             (("method", "POST"), ("route", "/webhooks/alertmanager"), ("status", "200")))
    assert samples[count] == 4


async def test_each_app_has_its_own_registry(container, people, clock):
    from bot import bootstrap

    other = bootstrap.build(container.settings, clock=clock, parts=bootstrap.SIDECAR)
    for c in (container, other):
        configure(c)
    try:
        async with client_for(sidecar_app(container), container) as first, client_for(sidecar_app(other), other) as second:
            await first.post("/webhooks/alertmanager", json=fixture("001_firing_DBPrimaryDown.json"), headers=AM)
            mine, theirs = _samples((await first.get("/metrics")).text), _samples((await second.get("/metrics")).text)
    finally:
        await other.close()
    assert any(name == "tocsin_webhooks_total" for name, _ in mine)
    assert not any(name == "tocsin_webhooks_total" for name, _ in theirs)


ROOT = Path(__file__).resolve().parents[2]
METRIC_DOCS = (ROOT / "docs" / "webhooks.md", ROOT / "docs" / "escalation.md")


def documented_metrics() -> set[str]:
    """The metric names in the first column of the tables under each doc's "## Metrics" heading."""
    names = set()
    for doc in METRIC_DOCS:
        section = doc.read_text().partition("\n## Metrics\n")[2].partition("\n## ")[0]
        names |= set(re.findall(r"^\| `([a-z_]+)` \|", section, re.MULTILINE))
    return names


def _families(text: str) -> dict[str, list]:
    """Family name -> samples; a counter is listed under both its name and its ``_total`` sample name."""
    found = {}
    for family in text_string_to_metric_families(text):
        found[family.name] = found[family.name + "_total"] = family.samples
    return found


async def test_every_metric_the_app_defines_is_documented_and_served(http):
    served = _families((await http.get("/metrics")).text)
    documented = documented_metrics()
    assert {"tocsin_webhooks_total", "escalation_lateness_seconds", "notifications_total"} <= documented
    assert documented <= set(served), f"documented but not on /metrics: {documented - set(served)}"
    undocumented = {name for name in served if not name.endswith(("_total", "_created"))} - \
        {name.removesuffix("_total") for name in documented}
    assert not undocumented, f"on /metrics but not in the docs' tables: {undocumented}"


def defined_metrics() -> set[str]:
    """Every metric name the code passes to a Counter, Gauge or Histogram, in the three packages."""
    names = set()
    for package in ("bot", "storage", "escalation"):
        for path in (ROOT / package).rglob("*.py"):
            names |= set(re.findall(r"\b(?:Counter|Gauge|Histogram)\(\s*\"([a-zA-Z_:][a-zA-Z0-9_:]*)\"", path.read_text()))
    return names


async def test_every_metric_defined_in_the_code_is_served(http):
    served = _families((await http.get("/metrics")).text)
    defined = defined_metrics()
    assert {"tocsin_webhooks", "escalation_lateness_seconds", "notifications_total"} <= defined
    assert defined <= set(served), f"defined but not on /metrics: {defined - set(served)}"


async def test_a_serve_process_serves_the_schedulers_metrics(tmp_path):
    config = tmp_path / "tocsin.yml"
    config.write_text("""teams:
  - {name: payments, escalation_policy: fast}
people:
  - {name: Lead, email: lead@example.com, teams: {payments: team_lead}}
escalation_policies:
  - name: fast
    steps:
      - {after: 1s, notify: ["role:team_lead"], channels: [webhook]}
api_tokens:
  - {name: ops, token: metrics-test-token, role: admin}
""")
    async with Sink() as sink:
        server = Serve(f"sqlite:///{tmp_path / 'tocsin.db'}", config, sink, tmp_path / "serve.log")
        try:
            await server.start()
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
                declared = await client.post("/api/incidents", json={"title": "Checkout down", "team": "payments"},
                                             headers={"Authorization": "Bearer metrics-test-token"})
                assert declared.status_code == 201, declared.text
                for _ in range(100):
                    samples = _samples((await client.get("/metrics")).text)
                    if samples.get(("notifications_total", (("channel", "webhook"), ("outcome", "sent")))):
                        break
                    await asyncio.sleep(0.1)
        finally:
            server.stop()
    assert samples[("notifications_total", (("channel", "webhook"), ("outcome", "sent")))] == 1, \
        (tmp_path / "serve.log").read_text()[-2000:]
    assert samples[("escalation_lateness_seconds_count", ())] == 1
    assert len(sink.keys) == 1
