"""Changes made by another process (webhooks taken by ``tocsin sidecar``) reach the Slack card too."""

from __future__ import annotations

from bot.config_file import TocsinConfig
from bot.container import Container
from bot.settings import Settings


async def test_cards_catch_up_with_another_process(slack, people, container, clock):
    other = Container.build(Settings(database_url=container.settings.database_url, scheduler=False),
                            TocsinConfig(), clock)  # no Slack: its change bus never reaches ours
    try:
        cards = slack.runtime.cards
        mark = await cards.sweep(None)
        await other.incidents.declare(people.slack("responder"), "Disk full", team="payments")
        mark = await cards.sweep(mark)
        await slack.settle()
        [card] = slack.fake.messages_in("CPAYMENTS")
        assert card.text == "#1 [medium] Disk full (open)"

        clock.advance(minutes=2)
        await other.incidents.acknowledge(1, people.telegram("responder"))
        mark = await cards.sweep(mark)
        await slack.settle()
        assert card.current["text"].endswith("(acknowledged)")
        edits = len(card.edits)

        await cards.sweep(mark)  # nothing new: no edit, no second card
        await slack.settle()
        assert len(card.edits) == edits and len(slack.fake.messages_in("CPAYMENTS")) == 1
    finally:
        await other.close()


async def test_a_sweep_and_the_bus_post_one_card_between_them(slack, people, container):
    cards = slack.runtime.cards
    await container.incidents.declare(people.slack("responder"), "Disk full", team="payments")
    await cards.sweep(None)
    await slack.settle()
    assert len(slack.fake.messages_in("CPAYMENTS")) == 1
    assert slack.fake.calls_to("chat.update") == []
