"""The incident list at /incidents: every incident a person may read, newest first, narrowed by a plain
GET form's filters, a page of 50 at a time; a bad filter is a 400 that names the field."""

from __future__ import annotations

import re

import pytest

from tests.webhooks.test_statement_budget import Counter


def _numbers(page: str) -> list[int]:
    """The incident numbers in the list's table, in its order."""
    table = re.search(r'<table class="list incidents">.*?</table>', page, re.S)
    return [int(n) for n in re.findall(r'<td><a href="/incidents/(\d+)">', table.group(0))] if table else []


def _row(page: str, number: int) -> list[str]:
    row = re.search(rf'<tr class="sev-\w+"><td><a href="/incidents/{number}">.*?</tr>', page, re.S).group(0)
    return [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]


@pytest.fixture
async def incidents(container, people, clock):
    """Five incidents over three days: #1 payments critical, acknowledged after 5 min and resolved after
    30; #2 platform high; #3 payments low, cancelled; #4 payments "50% error_rate"; #5 without a team."""
    ic, outsider = people.slack("incident_commander"), people.slack("outsider")
    declare = container.incidents.declare
    await declare(ic, "Checkout 500s", severity="critical", service="checkout", team="payments")
    clock.advance(minutes=5)
    await container.incidents.acknowledge(1, ic)
    clock.advance(minutes=25)
    await container.incidents.resolve(1, ic)
    clock.advance(days=1)
    await declare(outsider, "Queue stuck", severity="high", service="queue", team="platform")
    await declare(ic, "Slow refunds", severity="low", service="refunds", team="payments")
    await container.incidents.cancel(3, ic)
    clock.advance(days=1)
    await declare(ic, "50% error_rate on checkout", severity="medium", service="checkout", team="payments")
    await declare(people.slack("admin"), "DNS flapping", severity="high")
    clock.advance(hours=1)


async def test_the_list_shows_every_readable_incident_newest_first_with_who_and_how_long(browser, incidents):
    page = (await (await browser("responder@example.com")).get("/incidents")).text
    assert _numbers(page) == [5, 4, 3, 1]  # not #2: platform's
    assert "4 incidents match; showing 1-4." in page
    assert _row(page, 1) == ["#1", "Checkout 500s", "critical", "resolved", "payments", "checkout",
                             "2026-11-22 03:00", "Incident Commander, 2026-11-22 03:05",
                             "Incident Commander, 2026-11-22 03:30", "5 min", "30 min"]
    assert _row(page, 3)[3] == "cancelled" and _row(page, 3)[-2:] == ["-", "-"]
    assert _row(page, 5)[4] == "-"


async def test_an_admin_sees_every_team(browser, incidents):
    assert _numbers((await (await browser("admin@example.com")).get("/incidents")).text) == [5, 4, 3, 2, 1]


async def test_filters_narrow_the_list(browser, incidents):
    ana = await browser("responder@example.com")

    async def shown(query: str) -> list[int]:
        answer = await ana.get(f"/incidents?{query}")
        assert answer.status_code == 200, answer.text
        return _numbers(answer.text)

    assert await shown("team=payments") == [4, 3, 1]
    assert await shown("team=PAYMENTS&severity=critical") == [1]
    assert await shown("status=resolved&status=cancelled") == [3, 1]
    assert await shown("status=closed") == [3, 1]
    assert await shown("status=active") == [5, 4]
    assert await shown("status=all") == [5, 4, 3, 1]
    assert await shown("service=checkout") == [4, 1]
    assert await shown("within=24h") == [5, 4]
    assert await shown("from=2026-11-23&to=2026-11-23") == [3]
    assert await shown("to=2026-11-22") == [1]
    assert await shown("from=2026-11-24T03:00") == [5, 4]
    assert await shown("severity=high") == [5]  # the platform one stays out


async def test_title_search_is_case_insensitive_and_takes_wildcards_literally(browser, incidents):
    ana = await browser("responder@example.com")
    assert _numbers((await ana.get("/incidents?q=CHECKOUT")).text) == [4, 1]
    assert _numbers((await ana.get("/incidents?q=50%25")).text) == [4]
    assert _numbers((await ana.get("/incidents?q=%25")).text) == [4]
    assert _numbers((await ana.get("/incidents?q=r_r")).text) == [4]  # error_rate, not "err" + any + "r"
    assert _numbers((await ana.get("/incidents?q=refunds")).text) == [3]
    empty = await ana.get("/incidents?q=nothing+like+this")
    assert _numbers(empty.text) == [] and "No incidents match these filters." in empty.text


async def test_the_form_shows_the_chosen_filters_again(browser, incidents):
    page = (await (await browser("responder@example.com")).get("/incidents?q=refunds&team=payments&status=active"
                                                             "&severity=low")).text
    assert 'name="q" value="refunds"' in page and '<option value="payments" selected>' in page
    assert '<option value="low" selected>' in page
    checked = re.findall(r'name="status" value="(\w+)" checked', page)
    assert checked == ["open", "escalating", "acknowledged"]
    assert '<option value="platform"' not in page  # only the teams they may read


async def test_pages_of_fifty_keep_the_filters(browser, container, people):
    ic = people.slack("incident_commander")
    for i in range(55):
        await container.incidents.declare(ic, f"Disk full {i}", team="payments", severity="low")
    await container.incidents.declare(ic, "Other", team="payments", severity="high")
    ana = await browser("responder@example.com")
    first = (await ana.get("/incidents?severity=low&q=disk")).text
    assert _numbers(first) == list(range(55, 5, -1)) and "55 incidents match; showing 1-50." in first
    following = re.search(r'<a rel="next" href="([^"]+)">Next</a>', first).group(1).replace("&amp;", "&")
    assert following == "/incidents?severity=low&q=disk&page=2"
    second = (await ana.get(following)).text
    assert _numbers(second) == [5, 4, 3, 2, 1] and "Page 2 of 2" in second and 'rel="next"' not in second
    back = re.search(r'<a rel="prev" href="([^"]+)">', second).group(1).replace("&amp;", "&")
    assert back == "/incidents?severity=low&q=disk"
    beyond = await ana.get("/incidents?page=9")
    assert beyond.status_code == 200 and _numbers(beyond.text) == [] and "none on this page" in beyond.text


@pytest.mark.parametrize(("query", "field"), [
    ("status=reopened", "status"), ("severity=urgent", "severity"), ("from=2026-13-01", "from"),
    ("to=yesterday", "to"), ("from=2026-11-24&to=2026-11-23", "to"), ("to=9999-12-31", "to"),
    ("from=0001-01-01T00:00%2B05:00", "from"), ("page=0", "page"), ("page=99999999999999999999999", "page"),
    ("page=%D9%A3", "page"), ("q=a%00b", "q"), ("service=%00", "service"), ("team=%00", "team"),
    ("team=platform", "team"), ("team=nosuch", "team"), ("within=1y", "within"),
    ("within=7d&from=2026-11-01", "within"), (f"q={'x' * 501}", "q"),
])
async def test_a_bad_filter_is_a_400_naming_the_field(browser, incidents, query, field):
    answer = await (await browser("responder@example.com")).get(f"/incidents?{query}")
    assert answer.status_code == 400
    said = re.search(r'<p class="reply error" role="alert">(.*?)</p>', answer.text).group(1)
    assert said.startswith(f"{field}: "), said
    assert '<form method="get" action="/incidents"' in answer.text  # to fix it there


async def test_no_list_without_a_session(http, incidents):
    answer = await http.get("/incidents?team=payments")
    assert answer.status_code == 303 and answer.headers["location"] == "/signin"


async def test_every_page_links_to_the_others(browser, incidents):
    ana = await browser("responder@example.com")
    for path in ("/", "/incidents", "/stats", "/incidents/1"):
        header = re.search(r"<header>.*?</header>", (await ana.get(path)).text, re.S).group(0)
        assert re.findall(r'<a href="([^"]+)"', header) == ["/", "/", "/incidents", "/stats", "/notifications"], path
        assert 'action="/signout"' in header


async def test_the_list_costs_the_same_statements_for_three_rows_as_for_fifty(browser, container, people,
                                                                             monkeypatch):
    ic = people.slack("incident_commander")
    ana = await browser("responder@example.com")
    for i in range(3):
        await container.incidents.declare(ic, f"Small {i}", team="payments")
    counter = Counter(container, monkeypatch)
    few = await _statements(ana, counter, "/incidents?q=small&status=all")
    for i in range(3, 60):
        await container.incidents.declare(ic, f"Small {i}", team="payments")
    many = await _statements(ana, counter, "/incidents?q=small&status=all")
    assert many == few and few <= 12  # as the board: the session, the person, what they may read, the page


async def _statements(c, counter: Counter, path: str) -> int:
    counter.take()
    page = await c.get(path)
    assert page.status_code == 200
    return counter.take()
