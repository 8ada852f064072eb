"""``GET /api/oncall`` and ``POST /api/oncall/overrides``: per readable schedule, overrides applied and
role-gated by the token's person or role; bad input is a 4xx naming the field."""

from __future__ import annotations

import pytest

from tests.core.test_oncall_commands import PAYMENTS, PLATFORM
from tests.escalation.conftest import store_schedules

# The fake clock starts at Sun 2026-11-22 03:00 UTC; the responder is on call until Mon 23 Nov 09:00 Lisbon.


async def test_oncall_lists_the_readable_schedules_with_now_next_and_the_week(http, as_token, container):
    await store_schedules(container, PAYMENTS, PLATFORM)
    response = await http.get("/api/oncall", headers=as_token("responder"))
    assert response.status_code == 200, response.text
    [payments] = response.json()["schedules"]
    assert payments["schedule"] == "payments-primary" and payments["timezone"] == "Europe/Lisbon"
    assert payments["now"] == {"who": "responder@example.com", "start": "2026-11-22T03:00:00+00:00",
                               "end": "2026-11-23T09:00:00+00:00", "layer": "weekly"}
    assert payments["next"]["who"] == "team_lead@example.com"
    assert payments["shifts"][-1]["end"] == "2026-11-29T03:00:00+00:00"
    everything = await http.get("/api/oncall", headers=as_token("admin"))
    assert [s["schedule"] for s in everything.json()["schedules"]] == ["payments-primary", "platform-primary"]
    refused = await http.get("/api/oncall?team=payments", headers=as_token("outsider"))
    assert refused.status_code == 403 and "has no role in team payments" in refused.json()["detail"]


async def test_an_override_through_the_api_is_who_is_on_call(http, as_token, container):
    await store_schedules(container, PAYMENTS)
    made = await http.post("/api/oncall/overrides", headers=as_token("admin"), json={
        "schedule": "payments-primary", "person": "manager@example.com", "for": "responder@example.com",
        "duration": "2h"})
    assert made.status_code == 201, made.text
    assert made.json()["override"] == {"id": 1, "schedule": "payments-primary", "person": "manager@example.com",
                                       "for": "responder@example.com", "start": "2026-11-22T03:00:00+00:00",
                                       "end": "2026-11-22T05:00:00+00:00"}
    now = (await http.get("/api/oncall", headers=as_token("responder"))).json()["schedules"][0]["now"]
    assert now == {"who": "manager@example.com", "start": "2026-11-22T03:00:00+00:00",
                   "end": "2026-11-22T05:00:00+00:00", "layer": "override"}
    mine = await http.post("/api/oncall/overrides", headers=as_token("responder"), json={
        "schedule": "payments-primary", "person": "responder@example.com", "start": "2026-11-24T09:00",
        "end": "2026-11-24T17:00"})
    assert mine.status_code == 201, mine.text
    assert mine.json()["override"]["start"] == "2026-11-24T09:00:00+00:00"  # Lisbon is on UTC in winter


@pytest.mark.parametrize("who, body, status, detail", [
    ("responder", {"person": "manager@example.com", "duration": "1h"}, 403, "team_lead or above"),
    ("observer", {"person": "observer@example.com", "duration": "1h"}, 403, "team_lead or above"),
    ("outsider", {"person": "outsider@example.com", "duration": "1h"}, 403, "has no role in team payments"),
    ("admin", {"person": "manager@example.com", "duration": "forever"}, 400, "duration: 'forever'"),
    ("admin", {"person": "manager@example.com"}, 400, "end or duration: give exactly one"),
    ("admin", {"person": "manager@example.com", "end": "soon"}, 400, "end: 'soon' is not an ISO time"),
    ("admin", {"person": "manager@example.com", "start": "2026-11-23T09:00", "end": "2026-11-23T08:00"}, 400,
     "before it starts"),
    ("admin", {"person": "ghost@example.com", "duration": "1h"}, 404, "person: 'ghost@example.com'"),
    ("admin", {"schedule": "nope", "person": "manager@example.com", "duration": "1h"}, 404,
     "no on-call schedule 'nope'"),
    ("admin", {"duration": "1h"}, 400, "person: required"),
])
async def test_bad_or_refused_overrides_say_why(http, as_token, container, who, body, status, detail):
    await store_schedules(container, PAYMENTS)
    response = await http.post("/api/oncall/overrides", headers=as_token(who),
                               json={"schedule": "payments-primary", **body})
    assert response.status_code == status, response.text
    assert detail in response.json()["detail"]


async def test_overrides_are_listed_and_cancelled_through_the_api_role_gated_and_audited(http, as_token, container):
    from tests.core.test_oncall_overrides import _events

    await store_schedules(container, PAYMENTS, PLATFORM)
    lead = await http.post("/api/oncall/overrides", headers=as_token("admin"), json={
        "schedule": "payments-primary", "person": "manager@example.com", "for": "responder@example.com",
        "duration": "2h"})
    assert lead.status_code == 201, lead.text
    other = await http.post("/api/oncall/overrides", headers=as_token("admin"), json={
        "schedule": "platform-primary", "person": "admin@example.com", "duration": "1h"})
    assert other.status_code == 201, other.text
    listed = await http.get("/api/oncall/overrides", headers=as_token("responder"))
    assert listed.status_code == 200, listed.text
    assert listed.json()["overrides"] == [{
        "id": 1, "schedule": "payments-primary", "person": "manager@example.com", "for": "responder@example.com",
        "start": "2026-11-22T03:00:00+00:00", "end": "2026-11-22T05:00:00+00:00", "created_by": "automation"}]
    one = await http.get("/api/oncall/overrides?schedule=platform-primary", headers=as_token("admin"))
    assert [o["id"] for o in one.json()["overrides"]] == [2]
    hidden = await http.get("/api/oncall/overrides?schedule=platform-primary", headers=as_token("responder"))
    assert hidden.status_code == 403 and "has no role in team platform" in hidden.json()["detail"]

    refused = await http.delete("/api/oncall/overrides/1", headers=as_token("responder"))
    assert refused.status_code == 403 and "team_lead or above" in refused.json()["detail"]
    missing = await http.delete("/api/oncall/overrides/99", headers=as_token("admin"))
    assert missing.status_code == 404 and "no on-call override 99" in missing.json()["detail"]
    word = await http.delete("/api/oncall/overrides/first", headers=as_token("admin"))
    assert word.status_code == 404 and "no on-call override 'first'" in word.json()["detail"]
    cancelled = await http.delete("/api/oncall/overrides/1", headers=as_token("admin"))
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["override"]["cancelled_at"] == "2026-11-22T03:00:00+00:00"
    assert (await http.get("/api/oncall/overrides", headers=as_token("responder"))).json()["overrides"] == []
    now = (await http.get("/api/oncall", headers=as_token("responder"))).json()["schedules"][0]["now"]
    assert now["who"] == "responder@example.com"
    again = await http.delete("/api/oncall/overrides/1", headers=as_token("admin"))
    assert again.status_code == 409 and "already cancelled" in again.json()["detail"]
    assert [e[:3] for e in await _events(container)] == [(1, "created", "automation"), (2, "created", "automation"),
                                                         (1, "cancelled", "automation")]


async def test_a_shift_is_offered_listed_taken_and_cancelled_through_the_api(http, as_token, container):
    await store_schedules(container, PAYMENTS, PLATFORM)
    offered = await http.post("/api/oncall/offers", headers=as_token("responder"), json={"schedule": "payments-primary"})
    assert offered.status_code == 201, offered.text
    assert offered.json()["offer"] == {"id": 1, "schedule": "payments-primary", "person": "responder@example.com",
                                       "start": "2026-11-22T03:00:00+00:00", "end": "2026-11-23T09:00:00+00:00",
                                       "created_by": "Responder"}
    listed = await http.get("/api/oncall/offers?schedule=payments-primary", headers=as_token("observer"))
    assert [o["id"] for o in listed.json()["offers"]] == [1]
    nobody = await http.post("/api/oncall/offers/1/take", headers=as_token("admin"), json={})
    assert nobody.status_code == 400 and "name who takes the shift" in nobody.json()["detail"]
    own = await http.post("/api/oncall/offers/1/take", headers=as_token("responder"), json={})
    assert own.status_code == 400 and "your own shift" in own.json()["detail"]
    taken = await http.post("/api/oncall/offers/1/take", headers=as_token("admin"),
                            json={"person": "manager@example.com"})
    assert taken.status_code == 201, taken.text
    assert taken.json()["override"] == {"id": 1, "schedule": "payments-primary", "person": "manager@example.com",
                                        "for": "responder@example.com", "start": "2026-11-22T03:00:00+00:00",
                                        "end": "2026-11-23T09:00:00+00:00"}
    now = (await http.get("/api/oncall", headers=as_token("responder"))).json()["schedules"][0]["now"]
    assert now["who"] == "manager@example.com" and now["layer"] == "override"
    again = await http.post("/api/oncall/offers/1/take", headers=as_token("admin"), json={"person": "observer@example.com"})
    assert again.status_code == 409 and "already taken by manager@example.com" in again.json()["detail"]

    part = await http.post("/api/oncall/offers", headers=as_token("admin"), json={
        "schedule": "payments-primary", "person": "team_lead@example.com", "start": "2026-11-24T09:00",
        "end": "2026-11-24T17:00"})
    assert part.status_code == 201, part.text
    refused = await http.delete("/api/oncall/offers/2", headers=as_token("responder"))
    assert refused.status_code == 403 and "team_lead or above" in refused.json()["detail"]
    cancelled = await http.delete("/api/oncall/offers/2", headers=as_token("admin"))
    assert cancelled.status_code == 200 and cancelled.json()["offer"]["cancelled_at"] == "2026-11-22T03:00:00+00:00"
    assert (await http.get("/api/oncall/offers", headers=as_token("admin"))).json()["offers"] == []


@pytest.mark.parametrize("who, body, status, detail", [
    ("admin", {}, 400, "person: required for a token without a person"),
    ("responder", {"person": "team_lead@example.com"}, 403, "team_lead or above"),
    ("outsider", {}, 403, "has no role in team payments"),
    ("responder", {"start": "2026-11-22T09:00"}, 400, "start and end: give both, or neither"),
    ("responder", {"start": "soon", "end": "2026-11-23T08:00"}, 400, "start: 'soon' is not an ISO time"),
    ("responder", {"start": "2026-11-22T09:00", "end": "2026-11-23T10:00"}, 400, "not all responder@example.com's"),
    ("observer", {"person": "ghost@example.com"}, 404, "person: 'ghost@example.com'"),
])
async def test_bad_or_refused_offers_say_why(http, as_token, container, who, body, status, detail):
    await store_schedules(container, PAYMENTS)
    response = await http.post("/api/oncall/offers", headers=as_token(who), json={"schedule": "payments-primary", **body})
    assert response.status_code == status, response.text
    assert detail in response.json()["detail"]
    missing = await http.post("/api/oncall/offers/7/take", headers=as_token("responder"), json={})
    assert missing.status_code == 404 and "no shift offer 7" in missing.json()["detail"]
