"""API reads follow the token: a role-bound token reads every team, a person's token only the teams that
person has a role in (403 for another team's incident; lists, alerts and metrics leave the other teams
out). Notifications: tests/api/test_escalation_api.py."""

from __future__ import annotations

import pytest

from tests.webhooks.support import AM, fixture


@pytest.fixture
async def two_teams(http, as_token):
    """#1 in payments (by its responder), #2 in platform (by the outsider, platform's team lead), and #3
    from Alertmanager with an alert, routed to payments by its service label."""
    for who, team in (("responder", "payments"), ("outsider", "platform")):
        response = await http.post("/api/incidents", json={"title": f"{team} down", "team": team},
                                   headers=as_token(who))
        assert response.status_code == 201, response.text
    assert (await http.post("/webhooks/alertmanager", json=fixture("001_firing_DBPrimaryDown.json"),
                            headers=AM)).status_code == 200


async def _get(http, headers, path, **params):
    return await http.get(path, params=params, headers=headers)


async def test_a_persons_token_lists_only_their_teams(http, as_token, two_teams):
    listed = (await _get(http, as_token("outsider"), "/api/incidents")).json()
    assert [(i["number"], i["team"]) for i in listed["incidents"]] == [(2, "platform")] and listed["total"] == 1
    everything = (await _get(http, as_token("admin"), "/api/incidents")).json()
    assert everything["total"] == 3
    assert (await _get(http, as_token("observer"), "/api/incidents")).json()["total"] == 3  # a role-bound token


@pytest.mark.parametrize("path", ["/api/incidents/1", "/api/incidents/1/escalations"])
async def test_another_teams_incident_is_forbidden(http, as_token, two_teams, path):
    response = await _get(http, as_token("outsider"), path)
    assert response.status_code == 403, response.text
    assert response.json()["error"] == "forbidden" and "no role in team payments" in response.json()["detail"]
    assert (await _get(http, as_token("responder"), path)).status_code == 200


async def test_alerts_and_metrics_leave_other_teams_out(http, as_token, two_teams):
    outsider, responder = as_token("outsider"), as_token("responder")
    assert (await _get(http, outsider, "/api/alerts")).json()["alerts"] == []
    assert len((await _get(http, responder, "/api/alerts")).json()["alerts"]) == 1
    assert (await _get(http, outsider, "/api/metrics")).json()["overall"]["count"] == 1
    assert (await _get(http, responder, "/api/metrics")).json()["overall"]["count"] == 2
    refused = await _get(http, outsider, "/api/metrics", team="payments")
    assert refused.status_code == 403 and "no role in team payments" in refused.json()["detail"]
