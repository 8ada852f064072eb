"""Free-form values (numbers past a float, NUL, lone surrogates, odd link types) are stored, never a 5xx."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from storage.models import Alert
from tests.webhooks.fuzzing import Sample, cases, encode, samples
from tests.webhooks.support import API_TOKENS, bearer

JSON = {"Content-Type": "application/json"}
OBSERVER = bearer(API_TOKENS["observer"])
SAMPLES = {(s.source, s.name): s for s in samples()}
#: (sample, path to a free-form object, what it is called in the docs)
FREE_FORM = [
    (("alertmanager", "001_firing_DBPrimaryDown.json"), ["alerts", 0, "annotations"], "annotations"),
    (("generic", "001_trigger_backup.json"), ["details"], "details"),
    (("elastic", "001_kibana_threshold_met.json"), ["details"], "details"),
    (("elastic", "003_kibana_default_body_apm_latency.json"), ["context"], "context"),
    (("elastic", "004_watcher_firing.json"), ["ctx", "payload"], "payload"),
    (("pagerduty", "001_trigger_disk.json"), ["payload", "custom_details"], "custom_details"),
]


def _copy(sample: Sample) -> Any:
    return json.loads(json.dumps(sample.payload))


def _at(payload: Any, path: list) -> Any:
    for key in path:
        payload = payload[key]
    return payload


async def _post(client, sample: Sample, body: bytes):
    return await client.post(sample.path, content=body, headers={**sample.headers, **JSON})


async def _annotations(container) -> list[dict[str, Any]]:
    async with container.db.sessions() as session:
        return [a or {} for a in (await session.scalars(select(Alert.annotations).order_by(Alert.id))).all()]


@pytest.mark.parametrize(("sample", "path", "name"), FREE_FORM)
async def test_a_number_too_large_for_a_float_is_accepted_and_kept_as_written(client, container, sample, path, name):
    payload = _copy(SAMPLES[sample])
    _at(payload, path).update({"huge": "__raw_huge__", "list": ["__raw_tiny__", 1.5], "exp": "__raw_exp__"})
    response = await _post(client, SAMPLES[sample], encode(payload))
    assert response.status_code in (200, 202), response.text
    stored = json.dumps(await _annotations(container))
    assert '"huge": "1e999"' in stored and '"list": ["-1e999", 1.5]' in stored and '"exp": "1E+400"' in stored


def _string_paths(value: Any, path: list) -> list[list]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _string_paths(v, [*path, k])]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _string_paths(v, [*path, i])]
    return [path] if isinstance(value, str) else []


#: Keys whose strings have a grammar (a time, an enum) or authenticate: a NUL there is a 400 or a 401.
NOT_FREE_TEXT = {"status", "event_action", "routing_key", "startsAt", "endsAt", "date", "timestamp"}


FIRING = [(s.source, s.name) for s in samples() if s.name.startswith("001")]


@pytest.mark.parametrize("sample", FIRING, ids=lambda v: v[0])
async def test_nul_and_lone_surrogates_in_any_string_field_are_stored_not_refused(client, sample):
    for path in _string_paths(SAMPLES[sample].payload, []):
        if path[-1] in NOT_FREE_TEXT:
            continue
        payload = _copy(SAMPLES[sample])
        _at(payload, path[:-1])[path[-1]] = "bad\x00nul \ud800lone"
        response = await _post(client, SAMPLES[sample], encode(payload))
        assert response.status_code in (200, 202), (path, response.text)


async def test_nul_and_lone_surrogates_in_elastic_tags_are_stored(client, container):
    sample = SAMPLES[("elastic", "001_kibana_threshold_met.json")]
    for tags in (["prod\x00", "\ud800x", {"nested\x00": 1}], "one\x00tag\udfff"):
        payload = _copy(sample)
        payload["rule"]["tags"] = tags
        response = await _post(client, sample, encode(payload))
        assert response.status_code == 200, response.text
    stored = (await container.queries.get(1)).alerts[0].labels["tags"]
    assert "\x00" not in stored and stored.isprintable()


async def test_runbook_and_dashboard_urls_that_are_not_strings_do_not_break_the_incident(client, container):
    sample = SAMPLES[("alertmanager", "001_firing_DBPrimaryDown.json")]
    payload = _copy(sample)
    payload["alerts"][0]["annotations"].update(runbook_url=["https://a", "https://b"], dashboard_url={"u": 1})
    response = await _post(client, sample, encode(payload))
    assert response.status_code == 200, response.text
    number = response.json()["opened"][0]
    shown = await client.get(f"/api/incidents/{number}", headers=OBSERVER)
    assert shown.status_code == 200, shown.text
    assert all(isinstance(link["url"], str) for link in shown.json()["links"])
    assert (await _annotations(container))[0]["runbook_url"] == ["https://a", "https://b"]  # kept as sent


async def test_mutated_real_payloads_never_get_a_5xx(client):
    """The in-suite share of bench/fuzz_webhooks.py: a fixed seed, every source's fixtures."""
    statuses: dict[int, int] = {}
    for sample, body in cases(seed=20261202, count=400):
        response = await _post(client, sample, body)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, (sample.source, sample.name, body[:2000], response.text)
    assert statuses.get(200, 0) + statuses.get(202, 0) > 0 and statuses.get(400, 0) > 0, statuses


def test_the_fuzz_cases_are_the_same_for_the_same_seed():
    assert list(cases(7, 30)) == list(cases(7, 30)) and list(cases(7, 30)) != list(cases(8, 30))


async def test_an_acknowledgement_stamped_before_the_incident_was_created_is_stored(client, container, clock):
    """Two sidecars with clocks a little apart, or an acknowledgement that waited for the group's lock while
    another process opened the incident: the CHECK acknowledged_at >= created_at made it a 503 for ever."""
    trigger, ack, resolve = (SAMPLES[("pagerduty", name)] for name in (
        "001_trigger_disk.json", "002_acknowledge_disk.json", "003_resolve_disk.json"))
    assert (await _post(client, trigger, encode(trigger.payload))).status_code == 202
    clock.advance(seconds=-5)
    response = await _post(client, ack, encode(ack.payload))
    assert response.status_code == 202, response.text
    assert (await container.queries.get(1)).status == "acknowledged"
    clock.advance(seconds=-5)
    assert (await _post(client, resolve, encode(resolve.payload))).status_code == 202
    view = await container.queries.get(1)
    assert view.status == "resolved" and view.resolved_at >= view.created_at
