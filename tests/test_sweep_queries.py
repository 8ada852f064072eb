"""The cross-process card sweep reads changes in pages, and never stops inside one instant."""

from __future__ import annotations

from bot.sweep import changed_since


async def test_a_page_of_changes_never_ends_inside_one_instant(container, people, clock):
    # A batch of alerts changes many incidents at the same updated_at: with the clock still, so do these.
    for i in range(5):
        await container.incidents.declare(people.slack("responder"), f"Disk full {i}", team="payments")
    clock.advance(minutes=1)
    await container.incidents.declare(people.slack("responder"), "Later", team="payments")

    first = await changed_since(container.db, None, limit=2)
    assert [n for n, _ in first] == [1, 2, 3, 4, 5]  # the whole instant, although the page holds two
    after = await changed_since(container.db, first[-1][1], limit=2)
    assert 6 in [n for n, _ in after]  # so the next sweep moves on
