"""GET /api/notifications and GET /api/incidents/{number}/escalations, against the escalation engine on a fake
clock: the sidecar app keeps the ledger (its hook); the test runs due steps and delivers the outbox."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from storage.ports import DeliveryError
from tests.escalation.conftest import ticker
from tests.escalation.fakes import RecordingSender


@pytest.fixture
def fake_senders() -> dict[str, RecordingSender]:
    return {c: RecordingSender(c) for c in ("slack", "telegram", "email")}


@pytest.fixture
def senders(container, fake_senders) -> dict[str, RecordingSender]:
    return fake_senders


@pytest.fixture
def tick(container, clock, http, senders) -> Callable:
    """Move the clock, run the due steps and deliver the outbox, as ``tocsin serve`` does beside the sidecar
    (whose app keeps the ledger through its hook only)."""
    return ticker(container, clock)


@pytest.fixture
async def paged(http, as_token, tick, senders):
    """#1: level 1 ran 12 s late, then an acknowledgement cancelled levels 2 and 3 (closing notices to the
    team channels). #2: level 1 on time (its Telegram team chat fails for good), level 2 on time to the team
    lead by Slack DM, level 3 pending."""
    responder = as_token("responder")
    await http.post("/api/incidents", json={"title": "Checkout 500s", "team": "payments"}, headers=responder)
    assert await tick(minutes=5, seconds=12) == 1  # 03:05:12
    await http.post("/api/incidents", json={"title": "Queue backlog", "team": "payments"}, headers=responder)
    assert (await http.post("/api/incidents/1/acknowledge", headers=responder)).status_code == 200
    await tick()
    senders["telegram"].fail_with.append(DeliveryError("chat not found", permanent=True))
    assert await tick(minutes=5) == 1  # 03:10:12, #2 level 1
    assert await tick(minutes=10) == 1  # 03:20:12, #2 level 2


async def _get(http, as_token, path: str, **params):
    response = await http.get(path, params=params, headers=as_token("observer"))
    assert response.status_code == 200, response.text
    return response.json()


async def test_notifications_newest_first_with_each_filter(http, as_token, paged, people):
    everything = (await _get(http, as_token, "/api/notifications"))["notifications"]
    ids = [n["id"] for n in everything]
    assert ids == sorted(ids, reverse=True) and len(ids) == 8
    assert [(n["incident"], n["kind"], n["reason"], n["channel"], n["status"]) for n in everything] == [
        (2, "page", "step:0:1", "slack", "SENT"),
        (2, "notice", "down:telegram", "slack", "SENT"),  # the team told in Slack that Telegram refused the page
        (2, "page", "step:0:0", "telegram", "FAILED"),
        (2, "page", "step:0:0", "slack", "SENT"),
        (1, "notice", "closing:acknowledged", "telegram", "SENT"),
        (1, "notice", "closing:acknowledged", "slack", "SENT"),
        (1, "page", "step:0:0", "telegram", "SENT"),
        (1, "page", "step:0:0", "slack", "SENT"),
    ]
    assert everything[0]["person_id"] == people.ids["team_lead"] and everything[0]["address"] == "UTEAM_LEAD"
    assert everything[2]["last_error"] and "chat not found" in everything[2]["last_error"]

    async def picked(**params) -> list[int]:
        return [n["id"] for n in (await _get(http, as_token, "/api/notifications", **params))["notifications"]]

    assert await picked(incident=1) == ids[4:]
    assert await picked(incident=2) == ids[:4]
    assert await picked(incident=3) == []
    assert await picked(person=people.ids["team_lead"]) == [ids[0]]
    assert await picked(person="team_lead@example.com") == [ids[0]]
    assert await picked(channel="telegram") == [ids[2], ids[4], ids[6]]
    assert await picked(status="failed") == [ids[2]]
    assert await picked(status="SENT", channel="slack", incident=1) == [ids[5], ids[7]]
    assert await picked(limit=2) == ids[:2]
    assert await picked(limit=2, offset=2) == ids[2:4]
    assert await picked(offset=8) == []


@pytest.mark.parametrize(("params", "detail"), [
    ({"incident": "abc"}, "incident:"), ({"channel": "sms"}, "channel:"), ({"status": "lost"}, "status:"),
    ({"person": "ana"}, "person:"), ({"limit": "0"}, "limit:"),
    ({"limit": "201"}, "limit:"), ({"offset": "-1"}, "offset:"),
])
async def test_bad_notification_filters_are_400_naming_the_parameter(http, as_token, people, params, detail):
    response = await http.get("/api/notifications", params=params, headers=as_token("observer"))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_input" and response.json()["detail"].startswith(detail)


async def test_the_escalation_ledger_with_executed_cancelled_and_pending_steps(http, as_token, paged):
    first = await _get(http, as_token, "/api/incidents/1/escalations")
    assert (first["incident"], first["policy"], first["level"]) == (1, "default", 1)
    assert [(s["repeat"], s["level"], s["status"]) for s in first["steps"]] == [
        (0, 1, "EXECUTED"), (0, 2, "CANCELLED"), (0, 3, "CANCELLED")]
    executed, cancelled = first["steps"][0], first["steps"][1]
    assert executed["due_at"].startswith("2026-11-22T03:05:00")
    assert executed["executed_at"].startswith("2026-11-22T03:05:12") and executed["late_by_seconds"] == 12
    assert executed["targets"] == ["team_channel"]
    assert [(n["channel"], n["status"]) for n in executed["notifications"]] == [("slack", "SENT"),
                                                                                ("telegram", "SENT")]
    assert cancelled["note"] == "incident acknowledged" and cancelled["executed_at"] is None
    assert cancelled["targets"] == ["role:team_lead"] and cancelled["notifications"] == []

    second = await _get(http, as_token, "/api/incidents/2/escalations")
    assert second["level"] == 2
    assert [(s["status"], s["late_by_seconds"]) for s in second["steps"]] == [
        ("EXECUTED", 0), ("EXECUTED", 0), ("PENDING", None)]
    assert [n["address"] for n in second["steps"][1]["notifications"]] == ["UTEAM_LEAD"]
    pending = second["steps"][2]
    assert pending["due_at"].startswith("2026-11-22T04:05:12") and pending["notifications"] == []
    assert pending["targets"] == ["role:manager"] and pending["channels"] == ["slack", "telegram", "shell", "console", "email"]


async def test_unknown_incident_escalations_are_404(http, as_token, people):
    for path in ("/api/incidents/99/escalations", "/api/incidents/abc/escalations"):
        response = await http.get(path, headers=as_token("observer"))
        assert response.status_code == 404 and response.json()["error"] == "not_found", path


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}])
async def test_both_routes_need_a_token(http, headers, people):
    for path in ("/api/notifications", "/api/incidents/1/escalations"):
        response = await http.get(path, headers=headers)
        assert response.status_code == 401 and response.json()["error"] == "unauthorized", path


async def test_a_persons_token_reads_notifications_of_their_teams_only(http, as_token, paged, people):
    def read(who: str):
        return http.get("/api/notifications", headers=as_token(who))

    everything = (await read("observer")).json()["notifications"]  # a role-bound token
    assert everything and (await read("responder")).json()["notifications"] == everything  # payments' responder
    assert (await read("outsider")).json()["notifications"] == []  # leads platform only
    refused = await http.get("/api/incidents/1/escalations", headers=as_token("outsider"))
    assert refused.status_code == 403 and "no role in team payments" in refused.json()["detail"]
