"""The escalation engine's outbound port for Slack: DM a person, post to a channel, or reply in a thread."""

from __future__ import annotations

from bot.slack import refs, scopes
from bot.slack.outbound import SlackOut
from bot.slack.render import render_page
from storage.clock import Clock
from storage.db import Database
from storage.ports import Delivery, DeliveryError, Destination, Page


def _is_user(address: str) -> bool:
    return address[:1] in ("U", "W")


class SlackSender:
    """``container.senders["slack"]``. One attempt per call; a 429 raises ``DeliveryError(retry_after=...)``.

    A page outside a thread carries the live card with its buttons and is recorded, so that later
    changes edit this copy too.
    """

    channel = "slack"

    def __init__(self, out: SlackOut, db: Database, clock: Clock) -> None:
        self.out, self.db, self.clock = out, db, clock

    async def send(self, destination: Destination, page: Page) -> Delivery:
        """Deliver ``page`` to a Slack user (as a DM), a channel id, or a thread in either."""
        channel = await self._channel_for(destination.address)
        thread = destination.thread or await self._card_in(channel, page)
        with_card = thread is None and page.kind == "page" and page.incident.is_open
        args = render_page(page.incident, page.text, with_card)
        if thread:
            args["thread_ts"] = thread
            # A page to a channel that already shows the live card: under it, and in the channel too.
            args["reply_broadcast"] = destination.thread is None
        data = await self.out.once(scopes.POST_MESSAGE, channel=channel, unfurl_links=False, **args)
        ts = str(data.get("ts") or "")
        if not ts:
            raise DeliveryError("slack chat.postMessage returned no ts")
        if with_card:
            await refs.add(self.db, page.incident.id, str(data.get("channel") or channel), ts, self.clock.now(),
                           kind="page", person_id=destination.person_id)
        return Delivery(ts, thread=thread or ts)

    async def _card_in(self, channel: str, page: Page) -> str | None:
        """The ts of this incident's live card in ``channel``, if it is there."""
        copies = await refs.copies(self.db, page.incident.id)
        return next((c.message_id for c in copies if c.chat_id == channel and c.kind == "card"), None)

    async def _channel_for(self, address: str) -> str:
        if not address:
            raise DeliveryError("no Slack address", permanent=True)
        if not _is_user(address):
            return address
        data = await self.out.once(scopes.OPEN_DM, users=address)
        channel = (data.get("channel") or {}).get("id")
        if not channel:
            raise DeliveryError(f"conversations.open gave no channel for {address}", permanent=True)
        return channel
