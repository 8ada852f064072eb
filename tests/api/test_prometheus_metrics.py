"""/metrics: Prometheus text with webhooks by source and outcome, dedup, incidents opened/open, latency."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

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
    from bot.container import Container

    other = Container.build(container.settings, clock=clock)
    for c in (container, other):
        configure(c)
    try:
        async with client_for(sidecar_app(container)) as first, client_for(sidecar_app(other)) as second:
            await first.post("/webhooks/alertmanager", json=fixture("001_firing_DBPrimaryDown.json"), headers=AM)
            mine, theirs = _samples((await first.get("/metrics")).text), _samples((await second.get("/metrics")).text)
    finally:
        await other.close()
    assert any(name == "tocsin_webhooks_total" for name, _ in mine)
    assert not any(name == "tocsin_webhooks_total" for name, _ in theirs)
