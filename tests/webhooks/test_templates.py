"""Mapping and message templates: sandboxed, limited, checked by ``tocsin config check``, and at ingest a
failure is a 422 that keeps the delivery and is counted, never a 5xx."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config_file import ConfigError, TocsinConfig, parse, runtime_document, with_runtime
from storage import inbound
from storage.queries import IncidentFilter
from tests.telegram.test_inbound import tocsin
from tests.webhooks.support import AM, CONFIG, GENERIC_TOKEN, bearer, configure
from tests.webhooks.test_sources import GRAFANA_AUTH, GRAFANA_FIRING

TOKEN = "mapped-token-0123456789"
NESTED = ("{% for a in payload.items %}{% for b in payload.items %}{% for c in payload.items %}"
          "{% endfor %}{% endfor %}{% endfor %}{{ payload.title }}")


def mapped(mapping: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": "mapped", "type": "generic", "token": TOKEN, "team": "payments", "mapping": mapping, **extra}


def _config(*integrations: dict[str, Any], teams: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {**CONFIG, "teams": teams or CONFIG["teams"], "integrations": [*CONFIG["integrations"], *integrations]}


def _check(tmp_path: Path, config: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "tocsin.yml"
    path.write_text(yaml.safe_dump(config))
    return subprocess.run([sys.executable, "-m", "bot", "config", "check", str(path)], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)


# -- tocsin config check ------------------------------------------------------------------------------

REFUSED = [
    # what the file says, the key config check names, and what it says about it
    (mapped({"title": "{{ ''.__class__.__mro__ }}"}), "integrations[6].mapping.title", "'__mro__' is refused"),
    (mapped({"title": "{{ payload.title.upper() }}"}, example={"title": "x"}), "integrations[6].mapping.title",
     "'upper' is not a field of the payload"),
    (mapped({"title": "{% for i in range(10**6) %}{% endfor %}"}, example={}), "integrations[6].mapping.title",
     "range() of more than 1000 numbers"),
    (mapped({"title": NESTED}, example={"items": list(range(1000)), "title": "t"}), "integrations[6].mapping.title",
     "stopped after 0.25 s"),
    (mapped({"title": "{{ 'x' * 100000 }}"}, example={}), "integrations[6].mapping.title", "over 10000 characters"),
    (mapped({"title": "{{ payload.title | center(80) }}"}), "integrations[6].mapping.title", "No filter named 'center'"),
    (mapped({"title": "{{ payload.title | replace('', payload.title) }}"}, example={"title": "x" * 200}),
     "integrations[6].mapping.title", "over 10000 characters"),
    (mapped({"title": "{{ payload.ids | join(payload.title) }}"}, example={"title": "x" * 200, "ids": [1] * 100}),
     "integrations[6].mapping.title", "over 10000 characters"),
    (mapped({"title": "{% macro d(s, n) %}{% if n %}{{ d(s ~ s, n - 1) }}{% else %}{{ s }}{% endif %}{% endmacro %}"
                      "{{ d('ab', 40) }}"}, example={}), "integrations[6].mapping.title", "over 10000 characters"),
    (mapped({"title": "{{ payload.title"}), "integrations[6].mapping.title", "unexpected end of template"),
    (mapped({"title": "x", "status": "{{ payload.state }}"}, example={"state": "maybe"}),
     "integrations[6].mapping.status", "it must render firing or resolved"),
    (mapped({"title": "x", "colour": "red"}), "integrations[6].mapping.colour", "unknown key"),
    ({"name": "z", "type": "generic", "token": TOKEN, "preset": "nagios"}, "integrations[6].preset",
     "is not one of zabbix, datadog, uptime_kuma, sentry, newrelic"),
    ({"name": "z", "type": "generic", "token": TOKEN, "preset": ["zabbix"]}, "integrations[6].preset",
     "['zabbix'] is not one of"),
    ({"name": "z", "type": "alertmanager", "token": TOKEN, "preset": "zabbix"}, "integrations[6].preset",
     "only an integration of type generic"),
    ({"name": "z", "type": "generic", "token": TOKEN, "preset": "zabbix", "mapping": {"team": "{{ payload.nope() }}"}},
     "integrations[6].mapping.team", "has no attribute 'nope'"),
    ({"name": "z", "type": "alertmanager", "token": TOKEN, "message": {"title": "{{ labels.x.__class__ }}"}},
     "integrations[6].message.title", "'__class__' is refused"),
    ({"name": "z", "type": "generic", "token": TOKEN, "preset": "datadog",
      "message": {"summary": "{{ alert.labels.team | upper * 10000 }}"}},
     "integrations[6].message.summary", "over 10000 characters"),
]


@pytest.mark.parametrize(("integration", "key", "problem"), REFUSED, ids=[r[1] + ":" + r[2][:20] for r in REFUSED])
def test_config_check_refuses_a_template_naming_its_key(integration, key, problem):
    with pytest.raises(ConfigError) as refused:
        parse(_config(integration), env={})
    assert str(refused.value).startswith(f"{key}: ") and problem in str(refused.value), str(refused.value)


def test_config_check_command_renders_the_templates_against_the_example(tmp_path):
    bad = _check(tmp_path, _config(mapped({"title": "{{ payload.title }}", "dedup_key": "{{ payload.id }}",
                                           "status": "{{ 'resolved' if payload.ok else 'borked' }}"},
                                          example={"title": "Disk full", "id": "d1"})))
    assert bad.returncode != 0
    assert "integrations[6].mapping.status: rendered 'borked'; it must render firing or resolved" in bad.stderr
    team = {"name": "payments", "message": {"title": "[{{ labels.service }}] {{ title }}"}}
    good = _check(tmp_path, _config({"name": "zabbix", "type": "generic", "token": TOKEN, "preset": "zabbix"},
                                    teams=[team, {"name": "platform"}]))
    assert good.returncode == 0 and "OK" in good.stdout, good.stderr


# -- at ingest --------------------------------------------------------------------------------------

async def _metrics(client) -> str:
    return (await client.get("/metrics")).text


async def test_a_mapping_that_does_not_fit_the_payload_is_422_counted_and_kept(client, container):
    configure(container, integrations=[*CONFIG["integrations"],
                                       mapped({"title": "{{ payload.check.name }}", "dedup_key": "{{ payload.id }}"},
                                              example={"check": {"name": "Disk"}, "id": "1"})])
    response = await client.post("/webhooks/generic", json={"id": "7", "name": "renamed field"}, headers=bearer(TOKEN))
    assert response.status_code == 422 and response.json()["error"] == "template_failed"
    assert response.json()["detail"].startswith("mapping.title: rendered empty; an alert that fires needs a title")
    assert "tocsin inbound list" in response.json()["detail"]
    [kept] = await inbound.listing(container.db)
    assert (kept.platform, kept.payload["integration"], kept.payload["body"]) == (
        "webhook", "mapped", {"id": "7", "name": "renamed field"})
    assert kept.last_error.startswith("mapping.title: rendered empty")
    metrics = await _metrics(client)
    assert 'tocsin_template_failures_total{source="mapped",template="mapping.title"} 1.0' in metrics
    assert 'tocsin_webhooks_total{outcome="template_failed",source="mapped"} 1.0' in metrics
    assert (await container.queries.list(IncidentFilter()))[0] == []


async def test_a_template_that_runs_too_long_on_a_payload_is_stopped_at_the_time_limit(client, container):
    configure(container, integrations=[*CONFIG["integrations"],
                                       mapped({"title": NESTED}, example={"items": [1], "title": "fine"})])
    response = await client.post("/webhooks/generic", json={"items": list(range(1000)), "title": "t"},
                                 headers=bearer(TOKEN))
    assert response.status_code == 422
    assert response.json()["detail"].startswith("mapping.title: stopped after 0.25 s")
    huge = await client.post("/webhooks/generic", json={"items": [], "title": "t" * 20_000}, headers=bearer(TOKEN))
    assert huge.status_code == 422 and "over 10000 characters" in huge.json()["detail"]
    assert len(await inbound.listing(container.db)) == 2


async def test_a_template_cannot_reach_outside_the_payload_at_ingest(client, container):
    # the example does not reach the branch: config check passes, and the sandbox stops it at render
    title = "{% if payload.evil %}{{ payload.evil.format }}{{ payload.title.join }}{% else %}ok{% endif %}"
    configure(container, integrations=[*CONFIG["integrations"], mapped({"title": title}, example={})])
    response = await client.post("/webhooks/generic", json={"evil": "x", "title": "t"}, headers=bearer(TOKEN))
    assert response.status_code == 422
    assert response.json()["detail"].startswith("mapping.title: 'format' is not a field of the payload")


# -- message templates ---------------------------------------------------------------------------------

async def test_an_integrations_message_templates_word_the_title_and_summary(client, container):
    message = {"title": "{{ labels.alertname }} on {{ alerts[0].labels.instance }} ({{ alerts | length }} firing)",
               "summary": "{{ summary }} (value {{ payload.alerts[0].valueString | truncate(40) }})"}
    configure(container, integrations=[dict(CONFIG["integrations"][1], message=message), *CONFIG["integrations"][2:]])
    assert (await client.post("/webhooks/alertmanager", json=GRAFANA_FIRING, headers=GRAFANA_AUTH)).status_code == 200
    view = await container.queries.get(1)
    assert view.title == "HighCPU on web1 (1 firing)"
    assert view.alerts[0].summary == "CPU above 90% on web1 (value [ var='B' labels={instance=web1} value=95.2 ])"


async def test_a_teams_message_template_words_its_incidents_and_the_integrations_wins(client, container):
    teams = [{"name": "payments", "message": {"title": "[payments] {{ title }}"}},
             {"name": "platform", "message": {"title": "[platform] {{ title }}", "summary": "{{ summary | upper }}"}}]
    ci = dict(CONFIG["integrations"][4], message={"summary": "from ci: {{ summary }}"})
    configure(container, teams=teams, integrations=[CONFIG["integrations"][0], ci])
    body = {"title": "Nightly backup failed", "dedup_key": "b1"}
    assert (await client.post("/webhooks/generic", json=body, headers=bearer(GENERIC_TOKEN))).status_code == 200
    view = await container.queries.get(1)
    assert (view.title, view.alerts[0].summary) == ("[payments] Nightly backup failed", "from ci: Nightly backup failed")
    am = copy.deepcopy(GRAFANA_FIRING)
    am["alerts"][0]["labels"].pop("service")  # no service map: the integration's team, platform
    assert (await client.post("/webhooks/alertmanager", json=am, headers=AM)).status_code == 200
    view = await container.queries.get(2)
    assert (view.title, view.alerts[0].summary) == ("[platform] CPU above 90% on web1", "CPU ABOVE 90% ON WEB1")


async def test_a_message_template_that_fails_keeps_the_derived_words_and_is_counted(client, container):
    message = {"title": "{{ payload.alerts[0].labels.instance.split }}"}  # a str method: refused at render
    configure(container, integrations=[dict(CONFIG["integrations"][1], message=message)])
    assert (await client.post("/webhooks/alertmanager", json=GRAFANA_FIRING, headers=GRAFANA_AUTH)).status_code == 200
    assert (await container.queries.get(1)).title == "CPU above 90% on web1"
    metrics = await _metrics(client)
    assert 'tocsin_template_failures_total{source="grafana",template="message.title"} 1.0' in metrics


def test_templates_survive_the_reload_of_an_applied_config():
    team = {"name": "payments", "message": {"summary": "{{ summary }}!"}}
    config = parse(_config({"name": "z", "type": "generic", "token": TOKEN, "preset": "zabbix",
                            "mapping": {"title": "{{ payload.event_name }}"}, "message": {"title": "Z: {{ title }}"}},
                           teams=[team, {"name": "platform"}]), env={})
    reloaded = with_runtime(TocsinConfig(), json.loads(json.dumps(runtime_document(config))))  # without --config
    assert reloaded.integrations == config.integrations
    assert reloaded.team_messages == {"payments": {"summary": "{{ summary }}!"}, "platform": {}}


async def test_an_operator_sees_the_kept_delivery_and_is_told_it_is_not_replayed(client, container, db_url):
    configure(container, integrations=[*CONFIG["integrations"], mapped({"title": "{{ payload.name }}"}, example={"name": "Disk"})])
    assert (await client.post("/webhooks/generic", json={"id": 1}, headers=bearer(TOKEN))).status_code == 422
    [kept] = await inbound.listing(container.db)
    listed = tocsin(db_url, "inbound", "list")
    assert listed.returncode == 0 and f"#{kept.id}" in listed.stdout and "webhook of integration 'mapped'" in listed.stdout
    assert "mapping.title: rendered empty" in listed.stdout and TOKEN not in listed.stdout
    refused = tocsin(db_url, "inbound", "replay", str(kept.id))
    assert refused.returncode == 1 and "kept for inspection only: fix the mapping" in refused.stderr
    assert "nothing to replay" in tocsin(db_url, "inbound", "replay", "--all").stdout
    assert [r.status for r in await inbound.listing(container.db)] == ["dead"]


async def test_message_templates_over_odd_payload_text_store_it_cleaned(client, container):
    message = {"title": "{{ payload.receiver }} {{ title }}", "summary": "{{ payload.receiver }}"}
    configure(container, integrations=[dict(CONFIG["integrations"][1], message=message)])
    body = dict(copy.deepcopy(GRAFANA_FIRING), receiver="tocsin\x00\ud800")
    sent = await client.post("/webhooks/alertmanager", content=json.dumps(body).encode(),  # \\ud800 escaped
                             headers={**GRAFANA_AUTH, "Content-Type": "application/json"})
    assert sent.status_code == 200, sent.text
    view = await container.queries.get(1)
    assert view.title == "tocsin? CPU above 90% on web1" and view.alerts[0].summary == "tocsin?"
