"""``GET /api/oncall/fairness``: hours on call, outside working hours, pages and night pages per person, in each
person's zone, over an explicit window; the pages come from the escalation engine on the fake clock."""

from __future__ import annotations

from datetime import date, time

import pytest
from sqlalchemy import update

from storage.models import Person
from storage.oncall import Layer, Rule, Schedule
from tests.api.test_escalation_api import fake_senders, paged, senders, tick  # noqa: F401 (fixtures)
from tests.escalation.conftest import store_schedules

# Weeks from Mon 2 Nov 09:00 Lisbon (= UTC in winter): responder, team lead, responder from Mon 16 Nov 09:00,
# team lead from Mon 23 Nov 09:00. The fake clock starts at Sun 22 Nov 03:00 UTC.
PAYMENTS = Schedule("payments-primary", "payments", "Europe/Lisbon", (
    Layer("weekly", ("responder@example.com", "team_lead@example.com"), Rule("weekly", at=time(9), weekday=0),
          date(2026, 11, 2)),))
PLATFORM = Schedule("platform-primary", "platform", "UTC", (
    Layer("daily", ("outsider@example.com",), Rule("daily", at=time(9)), date(2026, 11, 2)),))
WEEK = {"from": "2026-11-16T00:00:00Z", "to": "2026-11-23T00:00:00Z"}


async def _zone(container, email, zone):
    async with container.db.transaction() as session:
        await session.execute(update(Person).where(Person.email == email).values(timezone=zone))


@pytest.mark.usefixtures("paged")
async def test_fairness_counts_hours_outside_working_hours_and_night_pages_in_each_zone(http, as_token, container):
    await store_schedules(container, PAYMENTS, PLATFORM)
    await _zone(container, "responder@example.com", "America/New_York")
    response = await http.get("/api/oncall/fairness", params={**WEEK, "team": "payments"},
                              headers=as_token("observer"))
    assert response.status_code == 200, response.text
    people = {p["person"]: p for p in response.json()["people"]}
    assert set(people) == {"responder@example.com", "team_lead@example.com"}, "only payments' schedules"
    # The responder, on call from Mon 16 Nov 09:00 UTC: 159 h, of them 5 x 8 h in New York's working hours.
    assert people["responder@example.com"] == {"person": "responder@example.com", "timezone": "America/New_York",
                                               "hours_on_call": 159.0, "hours_outside_working_hours": 119.0,
                                               "pages": 0, "night_pages": 0}
    # The team lead: Mon 16 Nov 00:00-09:00 UTC, before work in UTC; paged by Slack DM at Sun 22 Nov 03:20 UTC.
    assert people["team_lead@example.com"] == {"person": "team_lead@example.com", "timezone": "UTC",
                                               "hours_on_call": 9.0, "hours_outside_working_hours": 9.0,
                                               "pages": 1, "night_pages": 1}

    await _zone(container, "team_lead@example.com", "Asia/Tokyo")  # 09:00-18:00 and 12:20 there
    tokyo = (await http.get("/api/oncall/fairness", params={**WEEK, "team": "payments"},
                            headers=as_token("observer"))).json()["people"]
    assert [(p["hours_outside_working_hours"], p["pages"], p["night_pages"]) for p in tokyo
            if p["person"] == "team_lead@example.com"] == [(1.0, 1, 0)]
    before = (await http.get("/api/oncall/fairness", params={"from": "2026-11-16T00:00:00Z",
                                                            "to": "2026-11-22T03:20:00Z", "team": "payments"},
                             headers=as_token("observer"))).json()["people"]
    assert [p["pages"] for p in before if p["person"] == "team_lead@example.com"] == [0], "a window excludes pages"


async def test_fairness_shows_only_the_schedules_and_pages_a_token_may_read(http, as_token, container, people):
    await store_schedules(container, PAYMENTS, PLATFORM)
    outsider = await http.get("/api/oncall/fairness", params=WEEK, headers=as_token("outsider"))
    assert outsider.status_code == 200, outsider.text
    assert [p["person"] for p in outsider.json()["people"]] == ["outsider@example.com"]
    assert outsider.json()["people"][0]["hours_on_call"] == 168.0
    refused = await http.get("/api/oncall/fairness", params={**WEEK, "team": "payments"},
                             headers=as_token("outsider"))
    assert refused.status_code == 403 and "has no role in team payments" in refused.json()["detail"]
    admin = await http.get("/api/oncall/fairness", params=WEEK, headers=as_token("admin"))
    assert {p["person"] for p in admin.json()["people"]} == {"responder@example.com", "team_lead@example.com",
                                                             "outsider@example.com"}
    assert (await http.get("/api/oncall/fairness", params=WEEK)).status_code == 401


@pytest.mark.parametrize(("params", "detail"), [
    ({"from": "last week"}, "from"),
    ({"to": "2026-13-01T00:00:00Z"}, "to"),
    ({"from": "2026-11-23T00:00:00Z", "to": "2026-11-16T00:00:00Z"}, "to: must be after from"),
    ({"from": "2025-01-01T00:00:00Z", "to": "2026-11-16T00:00:00Z"}, "to: at most 366 days after from"),
    ({"from": "0002-01-01T00:00:00Z", "to": "0002-01-02T00:00:00Z"}, "from: must be a time between"),
])
async def test_bad_windows_are_400_naming_the_parameter(http, as_token, container, people, params, detail):
    await store_schedules(container, PAYMENTS)
    response = await http.get("/api/oncall/fairness", params=params, headers=as_token("observer"))
    assert response.status_code == 400 and response.json()["detail"].startswith(detail), response.text


async def test_an_unknown_team_is_404(http, as_token, container, people):
    response = await http.get("/api/oncall/fairness", params={**WEEK, "team": "nope"}, headers=as_token("admin"))
    assert response.status_code == 404 and "nope" in response.json()["detail"]
