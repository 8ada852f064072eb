"""The stats page at /stats: MTTA and MTTR per team per day (or week) and incidents by severity, as inline
SVG with the same numbers in tables, over the incidents the person may read."""

from __future__ import annotations

import re

import pytest


def _table_rows(page: str, caption: str) -> list[list[str]]:
    table = re.search(rf"<table class=\"list\"><caption>{re.escape(caption)}</caption>.*?</table>", page, re.S)
    assert table, f"no table {caption!r}"
    return [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", table.group(0))][1:]


def _summary(page: str) -> list[list[str]]:
    table = re.search(r'<table class="list summary">.*?</table>', page, re.S).group(0)
    return [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", table)][1:]


@pytest.fixture
async def incidents(container, people, clock):
    """On 2026-11-22 payments' #1 (critical) is acknowledged after 5 min and resolved after 30, and
    platform's #2 (high) acknowledged after 2 min; on 2026-11-24 payments' #3 (low) is acknowledged after
    15 min and resolved after 60."""
    ic, outsider = people.slack("incident_commander"), people.slack("outsider")
    await container.incidents.declare(ic, "Checkout 500s", severity="critical", team="payments")
    await container.incidents.declare(outsider, "Queue stuck", severity="high", team="platform")
    clock.advance(minutes=2)
    await container.incidents.acknowledge(2, outsider)
    clock.advance(minutes=3)
    await container.incidents.acknowledge(1, ic)
    clock.advance(minutes=25)
    await container.incidents.resolve(1, ic)
    clock.advance(days=2)
    await container.incidents.declare(ic, "Slow refunds", severity="low", team="payments")
    clock.advance(minutes=15)
    await container.incidents.acknowledge(3, ic)
    clock.advance(minutes=45)
    await container.incidents.resolve(3, ic)


async def test_the_numbers_are_the_incidents_own(browser, incidents):
    page = (await (await browser("responder@example.com")).get("/stats?days=7")).text
    assert "Incidents opened 2026-11-18 to 2026-11-24 (UTC)" in page
    assert _summary(page) == [["payments", "2", "10 min", "45 min"]]  # not platform's
    assert _table_rows(page, "payments: MTTA and MTTR per day") == [
        ["2026-11-22", "1", "5 min", "30 min"], ["2026-11-24", "1", "15 min", "1 h"]]
    assert "<title>2026-11-22: MTTA 5 min (1 incident)</title>" in page
    assert "<title>2026-11-22: MTTR 30 min (1 incident)</title>" in page
    assert "<title>2026-11-24: MTTR 1 h (1 incident)</title>" in page
    assert _table_rows(page, "Incidents by severity") == [["critical", "1"], ["high", "0"], ["medium", "0"],
                                                          ["low", "1"]]
    assert "<title>critical: 1</title>" in page and "platform" not in page.split("</form>", 1)[1]


async def test_every_team_has_its_chart_for_an_admin_and_one_for_the_chosen_team(browser, incidents):
    eli = await browser("admin@example.com")
    page = (await eli.get("/stats")).text
    assert _summary(page) == [["payments", "2", "10 min", "45 min"], ["platform", "1", "2 min", "-"],
                              ["all", "3", "7 min", "45 min"]]
    assert page.count("<svg ") == 3
    assert _table_rows(page, "platform: MTTA and MTTR per day") == [["2026-11-22", "1", "2 min", "-"]]
    one = (await eli.get("/stats?team=platform")).text
    assert _summary(one) == [["platform", "1", "2 min", "-"]] and one.count("<svg ") == 2


async def test_ninety_days_count_in_weeks(browser, incidents):
    page = (await (await browser("responder@example.com")).get("/stats?days=90")).text
    assert "payments: MTTA and MTTR per week" in page
    assert [r[1:] for r in _table_rows(page, "payments: MTTA and MTTR per week")] == [["2", "10 min", "45 min"]]


async def test_an_empty_window_says_so_and_draws_nothing(browser, incidents, clock):
    clock.advance(days=10)
    page = (await (await browser("responder@example.com")).get("/stats?days=7")).text
    assert "No incidents in this window." in page and "<svg" not in page


@pytest.mark.parametrize(("query", "field"), [("days=8", "days"), ("days=%00", "days"),
                                              ("days=99999999999999999999", "days"), ("team=platform", "team"),
                                              ("team=nosuch", "team"), ("team=a%00", "team")])
async def test_a_bad_choice_is_a_400_naming_the_field(browser, incidents, query, field):
    answer = await (await browser("responder@example.com")).get(f"/stats?{query}")
    assert answer.status_code == 400
    assert re.search(r'<p class="reply error" role="alert">(.*?)</p>', answer.text).group(1).startswith(f"{field}: ")
    assert "<svg" not in answer.text


async def test_no_stats_without_a_session(http, incidents):
    answer = await http.get("/stats")
    assert answer.status_code == 303 and answer.headers["location"] == "/signin"
