"""The REST API: list, show, declare and act on incidents with tokens bound to people or roles."""

from __future__ import annotations

import json

import pytest

from storage.queries import IncidentFilter
from tests.webhooks.support import AM, fixture


async def _declare(http, headers, **body):
    return await http.post("/api/incidents", json={"title": "Checkout 500s", "team": "payments", **body},
                           headers=headers)


async def test_declare_then_show_with_alerts_and_timeline(http, as_token):
    response = await _declare(http, as_token("responder"), severity="critical", service="checkout")
    assert response.status_code == 201
    body = response.json()
    assert body["changed"] and body["incident"]["number"] == 1
    assert body["incident"]["created_by"]["email"] == "responder@example.com"
    shown = await http.get("/api/incidents/1", headers=as_token("observer"))
    assert shown.status_code == 200
    detail = shown.json()
    assert (detail["title"], detail["severity"], detail["team"], detail["status"]) == (
        "Checkout 500s", "critical", "payments", "open")
    assert [e["kind"] for e in detail["timeline"]] == ["declared"]
    assert detail["alert_list"] == []


async def test_declare_with_an_open_dedup_key_returns_the_open_incident(http, as_token):
    first = await _declare(http, as_token("responder"), dedup_key="k")
    again = await _declare(http, as_token("responder"), dedup_key="k")
    assert (first.status_code, again.status_code) == (201, 200)
    assert not again.json()["changed"] and again.json()["incident"]["number"] == 1


async def test_actions_acknowledge_note_resolve_and_repeat(http, as_token, container):
    await _declare(http, as_token("responder"))
    headers = as_token("responder")
    ack = await http.post("/api/incidents/1/acknowledge", headers=headers)
    assert ack.status_code == 200 and ack.json()["incident"]["status"] == "acknowledged"
    again = await http.post("/api/incidents/1/acknowledge", headers=headers)
    assert again.status_code == 200 and not again.json()["changed"]
    note = await http.post("/api/incidents/1/notes", json={"text": "rolled back"}, headers=headers)
    assert note.status_code == 201
    resolved = await http.post("/api/incidents/1/resolve", json={"note": "fixed"}, headers=headers)
    assert resolved.json()["incident"]["status"] == "resolved"
    timeline = [(e["kind"], e["actor"], e["source"]) for e in (await http.get("/api/incidents/1",
                                                                              headers=headers)).json()["timeline"]]
    assert timeline == [("declared", "Responder", "api"), ("acknowledged", "Responder", "api"),
                        ("note", "Responder", "api"), ("resolved", "Responder", "api")]


async def test_escalate_and_cancel(http, as_token):
    await _declare(http, as_token("responder"))
    await _declare(http, as_token("responder"))
    esc = await http.post("/api/incidents/1/escalate", headers=as_token("responder"))
    assert esc.status_code == 200 and esc.json()["incident"]["status"] == "escalating"
    cancel = await http.post("/api/incidents/2/cancel", json={"reason": "duplicate of #1"}, headers=as_token("admin"))
    assert cancel.status_code == 200 and cancel.json()["incident"]["status"] == "cancelled"


async def test_a_refused_transition_is_409(http, as_token):
    await _declare(http, as_token("responder"))
    await http.post("/api/incidents/1/resolve", headers=as_token("responder"))
    response = await http.post("/api/incidents/1/escalate", headers=as_token("responder"))
    assert response.status_code == 409
    assert response.json()["error"] == "conflict" and "resolved" in response.json()["detail"]


async def test_an_observer_token_may_read_but_not_act(http, as_token):
    response = await _declare(http, as_token("observer"))
    assert response.status_code == 403 and response.json()["error"] == "forbidden"
    await _declare(http, as_token("responder"))
    assert (await http.get("/api/incidents", headers=as_token("observer"))).status_code == 200
    ack = await http.post("/api/incidents/1/acknowledge", headers=as_token("observer"))
    assert ack.status_code == 403 and "needs responder" in ack.json()["detail"]


async def test_a_person_token_acts_with_that_persons_team_role(http, as_token):
    await _declare(http, as_token("responder"))  # payments; the outsider leads platform only
    response = await http.post("/api/incidents/1/resolve", headers=as_token("outsider"))
    assert response.status_code == 403


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic eDp5"},
                                     {"Authorization": "Bearer "}])
async def test_missing_or_unknown_tokens_get_401(http, headers, container):
    for method, path in (("GET", "/api/incidents"), ("POST", "/api/incidents"), ("GET", "/api/incidents/1"),
                         ("POST", "/api/incidents/1/acknowledge"), ("GET", "/api/alerts"),
                         ("GET", "/api/metrics")):
        response = await http.request(method, path, headers=headers, json={"title": "x"})
        assert response.status_code == 401, path
        assert response.json()["error"] == "unauthorized"
    assert (await container.queries.list(IncidentFilter()))[1] == 0


async def test_unknown_incident_is_404(http, as_token):
    for path in ("/api/incidents/99", "/api/incidents/abc"):
        response = await http.get(path, headers=as_token("observer"))
        assert response.status_code == 404 and response.json()["error"] == "not_found"
    response = await http.post("/api/incidents/99/acknowledge", headers=as_token("responder"))
    assert response.status_code == 404


@pytest.mark.parametrize(("body", "detail"), [
    ({"team": "payments"}, "title: required"),
    ({"title": 5}, "title: expected a string"),
    ({"title": "x", "severity": "apocalyptic"}, "unknown severity"),
    ({"title": "x", "labels": [1]}, "labels: expected an object"),
])
async def test_bad_declarations_are_400_naming_the_problem(http, as_token, body, detail):
    response = await http.post("/api/incidents", json=body, headers=as_token("responder"))
    assert response.status_code == 400 and detail in response.json()["detail"]


async def test_declaring_for_an_unknown_team_is_404_naming_the_known_teams(http, as_token):
    response = await http.post("/api/incidents", json={"title": "x", "team": "nope"}, headers=as_token("responder"))
    assert response.status_code == 404 and "there is no team 'nope' (known teams: payments" in response.json()["detail"]


async def test_bodies_are_checked_for_size_type_and_syntax(http, as_token, container):
    headers = as_token("responder")
    big = b'{"title": "' + b"x" * container.settings.max_body_bytes + b'"}'
    assert (await http.post("/api/incidents", content=big,
                            headers={**headers, "Content-Type": "application/json"})).status_code == 413
    assert (await http.post("/api/incidents", content=b"title=x",
                            headers={**headers, "Content-Type": "text/plain"})).status_code == 415
    bad = await http.post("/api/incidents", content=b"{", headers={**headers, "Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_json"
    listed = await http.post("/api/incidents", content=b"[]", headers={**headers, "Content-Type": "application/json"})
    assert listed.status_code == 400


async def test_list_filters_and_pages(http, as_token, container):
    headers = as_token("responder")
    await _declare(http, headers, severity="critical", service="checkout")
    await _declare(http, headers, severity="low", service="search")
    await _declare(http, as_token("admin"), severity="critical", team="platform")
    await http.post("/api/incidents/1/resolve", headers=headers)
    read = as_token("observer")

    async def numbers(query: str) -> tuple[list[int], int]:
        body = (await http.get(f"/api/incidents?{query}", headers=read)).json()
        return [i["number"] for i in body["incidents"]], body["total"]

    assert await numbers("") == ([3, 2, 1], 3)
    assert await numbers("status=active") == ([3, 2], 2)
    assert await numbers("status=resolved,cancelled") == ([1], 1)
    assert await numbers("severity=critical") == ([3, 1], 2)
    assert await numbers("team=platform") == ([3], 1)
    assert await numbers("service=search") == ([2], 1)
    assert await numbers("limit=1&offset=1") == ([2], 3)
    for query in ("status=nope", "severity=bad", "limit=0", "limit=201", "offset=-1", "limit=x"):
        response = await http.get(f"/api/incidents?{query}", headers=read)
        assert response.status_code == 400 and response.json()["error"] == "invalid_input", query


async def test_list_searches_titles_and_the_time_opened(http, as_token, clock):
    headers = as_token("responder")
    await _declare(http, headers, title="Checkout 50% errors")
    clock.advance(hours=2)
    await _declare(http, headers, title="checkout_latency")
    await _declare(http, headers, title="Search down")
    read = as_token("observer")

    async def numbers(query: str) -> list[int]:
        response = await http.get(f"/api/incidents?{query}", headers=read)
        assert response.status_code == 200, response.text
        return [i["number"] for i in response.json()["incidents"]]

    assert await numbers("q=CHECKOUT") == [2, 1]
    assert await numbers("q=50%25") == [1] and await numbers("q=t_l") == [2]
    assert await numbers("opened_from=2026-11-22T04:00:00Z") == [3, 2]
    assert await numbers("opened_to=2026-11-22T05:00:00%2B01:00&q=checkout") == [1]
    assert await numbers("opened_from=&opened_to=") == [3, 2, 1]
    for query in ("opened_from=yesterday", "opened_to=2026-13-01T00:00:00Z", "q=%00"):
        response = await http.get(f"/api/incidents?{query}", headers=read)
        assert response.status_code == 400 and response.json()["detail"].startswith(query.split("=")[0]), query


async def test_alerts_and_truncation_show_through_the_api(http, as_token):
    payload = fixture("005_firing_HighLatency.json")
    payload["truncatedAlerts"] = 4
    assert (await http.post("/webhooks/alertmanager", json=payload, headers=AM)).status_code == 200
    incident = (await http.get("/api/incidents/1", headers=as_token("observer"))).json()
    assert incident["alerts"] == {"firing": 2, "resolved": 0, "truncated": 4, "more": "+4 more"}
    assert {a["labels"]["instance"] for a in incident["alert_list"]} == {"api1:8080", "api2:8080"}
    alerts = (await http.get("/api/alerts?incident=1&status=firing", headers=as_token("observer"))).json()
    assert len(alerts["alerts"]) == 2
    assert (await http.get("/api/alerts?status=resolved", headers=as_token("observer"))).json() == {"alerts": []}
    assert (await http.get("/api/alerts?incident=x", headers=as_token("observer"))).status_code == 400


async def test_metrics_give_mtta_mttr_and_counts(http, as_token, clock):
    headers = as_token("responder")
    await _declare(http, headers, severity="critical", service="checkout")
    clock.advance(minutes=2)
    await http.post("/api/incidents/1/acknowledge", headers=headers)
    clock.advance(minutes=8)
    await http.post("/api/incidents/1/resolve", headers=headers)
    await _declare(http, as_token("admin"), severity="low", team="platform")
    body = (await http.get("/api/metrics?window=7d", headers=as_token("observer"))).json()
    assert body["overall"] == {"count": 2, "mtta_seconds": 120.0, "mttr_seconds": 600.0}
    assert body["by_team"]["payments"]["mttr_seconds"] == 600.0
    assert body["by_service"]["checkout"]["mtta_seconds"] == 120.0
    assert body["by_severity"]["critical"]["count"] == 1
    assert body["counts"] == {"by_status": {"resolved": 1, "open": 1}, "by_severity": {"critical": 1, "low": 1}}
    team = (await http.get("/api/metrics?window=24h&team=platform", headers=as_token("observer"))).json()
    assert team["overall"]["count"] == 1
    for window in ("7x", "0m", "forever", "99999d"):
        assert (await http.get(f"/api/metrics?window={window}", headers=as_token("observer"))).status_code == 400


async def test_an_unreachable_database_is_503_json():
    from bot import bootstrap
    from bot.config_file import TocsinConfig
    from bot.settings import Settings
    from tests.webhooks.support import API_TOKENS, client_for, configure, sidecar_app

    container = bootstrap.build(Settings(database_url="postgresql://postgres@127.0.0.1:1/none", scheduler=False),
                                TocsinConfig(), parts=bootstrap.SIDECAR)
    configure(container)
    try:
        async with client_for(sidecar_app(container), container) as http:
            response = await http.get("/api/incidents", headers={"Authorization": f"Bearer {API_TOKENS['admin']}"})
    finally:
        await container.close()
    assert response.status_code == 503 and response.json()["error"] == "unavailable"


async def test_odd_text_in_a_declaration_is_stored_not_a_503(http, as_token):
    body = json.dumps({"title": "nul \x00 and \ud800", "labels": {"k\x00": "v\udfff", "n": [1, {"x": "\x00"}]}})
    response = await http.post("/api/incidents", content=body.encode(),
                               headers={**as_token("responder"), "Content-Type": "application/json"})
    assert response.status_code == 201, response.text
    assert response.json()["incident"]["title"] == "nul  and ?"
