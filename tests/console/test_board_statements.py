"""The board builds its cards in a bounded number of statements (not one query per card), and the batch
views it reads are the very views ``get`` gives one at a time."""

from __future__ import annotations

from storage.queries import IncidentFilter
from tests.console.conftest import post_alerts
from tests.webhooks.test_statement_budget import Counter


async def _board_statements(c, counter: Counter) -> int:
    counter.take()
    page = await c.get("/")
    assert page.status_code == 200
    return counter.take()


async def test_the_board_costs_the_same_statements_for_two_cards_as_for_twenty(browser, http, container,
                                                                                monkeypatch):
    responder = await browser("responder@example.com")
    for i in range(2):
        await post_alerts(http, count=3, title=f"Alert{i}")
    counter = Counter(container, monkeypatch)
    two = await _board_statements(responder, counter)
    for i in range(2, 20):
        await post_alerts(http, count=3, title=f"Alert{i}")
    twenty = await _board_statements(responder, counter)
    assert (await responder.get("/")).text.count('<article class="card') == 20
    assert twenty == two
    assert two <= 12  # the session, the person, what they may read, then a handful for the cards


async def test_the_boards_views_are_the_views_get_gives(http, container, people):
    await post_alerts(http, count=12, title="Many")  # more than a view keeps: counted, not listed
    await post_alerts(http, count=2, title="Few")
    await container.incidents.declare(people.slack("responder"), "Typed by hand", team="payments")
    await container.incidents.declare(people.slack("outsider"), "Elsewhere", team="platform")
    await container.incidents.assign(3, people.slack("incident_commander"), people.slack("responder"))
    views, total = await container.queries.list(IncidentFilter.open(), alerts=True)
    assert total == 4 and [v.number for v in views] == [4, 3, 2, 1]
    assert views == [await container.queries.get(n) for n in (4, 3, 2, 1)]
    assert (len(views[3].alerts), views[3].alerts_firing) == (10, 12) and views[3].links
    readable = await container.queries.readable(people.slack("outsider"))
    assert [v.number for v in (await container.queries.list(IncidentFilter.open(), readable, alerts=True))[0]] == [4]
