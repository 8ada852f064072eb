"""The escalation engine's outbound port for Slack: DM a person, post to a channel, or reply in a thread.

Each page carries its notification's key in its metadata. After an attempt whose answer never came (a
timeout, a dropped connection, a 5xx), the next attempt at that page first looks for it in Slack, and
``find`` does the same for a dispatcher that crashed between sending and recording.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError

from bot.slack import refs, scopes
from bot.slack.outbound import TRANSIENT, SlackOut, mark, unanswered
from bot.slack.render import render_page
from storage.clock import Clock
from storage.db import Database
from storage.ports import Delivery, DeliveryError, Destination, Page

REQUESTS = 3  # Web API calls one send makes at most


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
        # One send makes up to REQUESTS calls (conversations.open, the look for an earlier attempt, the post),
        # each waiting up to the client's timeout (SLACK_TIMEOUT): the dispatcher must not cut one short.
        self.timeout = REQUESTS * float(out.client.timeout)
        self._unsure: set[str] = set()  # keys of pages whose last attempt may have gone through

    async def send(self, destination: Destination, page: Page) -> Delivery:
        """Deliver ``page`` to a Slack user (as a DM), a channel id, or a thread in either."""
        channel = await self._channel_for(destination.address)
        thread = destination.thread or await self._card_in(channel, page)
        if page.key in self._unsure:
            found = await self._find_in(channel, thread, destination, page)
            if found is not None:
                return found
        with_card = thread is None and page.kind == "page" and page.incident.is_open
        args = render_page(page.incident, page.text, with_card)
        if thread:
            args["thread_ts"] = thread
            # A page to a channel that already shows the live card: under it, and in the channel too.
            args["reply_broadcast"] = destination.thread is None
        data = await self._post(page, channel=channel, unfurl_links=False, **args)
        return await self._delivered(data, channel, thread, destination, page, with_card)

    async def find(self, destination: Destination, page: Page) -> Delivery | None:
        """The page with ``page.key``, if an earlier attempt delivered it to ``destination``."""
        channel = await self._channel_for(destination.address)
        return await self._find_in(channel, destination.thread or await self._card_in(channel, page),
                                   destination, page)

    async def _post(self, page: Page, **args: Any) -> dict[str, Any]:
        if not page.key:
            return await self.out.once(scopes.POST_MESSAGE, **args)
        self._unsure.add(page.key)  # until Slack answers (a caller's timeout may cancel us meanwhile)
        try:
            data = await self.out.once(scopes.POST_MESSAGE, metadata=mark(page.key), **args)
        except DeliveryError as exc:
            if not unanswered(exc.__cause__):
                self._unsure.discard(page.key)
            raise
        self._unsure.discard(page.key)
        return data

    async def _find_in(self, channel: str, thread: str | None, destination: Destination,
                       page: Page) -> Delivery | None:
        if not page.key:
            return None
        try:
            # A page under the live card was broadcast to the channel too: the channel's history shows it.
            data = await self.out.find_posted(channel, page.key, destination.thread)
        except (SlackApiError, *TRANSIENT) as exc:
            raise DeliveryError(f"slack: could not look for an earlier attempt: {type(exc).__name__}") from exc
        if data is None:
            return None
        self._unsure.discard(page.key)
        with_card = thread is None and page.kind == "page"
        return await self._delivered(data, channel, thread, destination, page, with_card)

    async def _delivered(self, data: dict[str, Any], channel: str, thread: str | None, destination: Destination,
                         page: Page, with_card: bool) -> Delivery:
        """Record a page that carries the live card (so later changes edit it too)."""
        ts = str(data.get("ts") or "")
        if not ts:
            raise DeliveryError("slack chat.postMessage returned no ts")
        if with_card:
            await refs.add(self.db, page.incident.id, str(data.get("channel") or channel), ts, self.clock.now(),
                           kind="page", person_id=destination.person_id)
        return Delivery(ts, thread=thread or ts)

    async def _card_in(self, channel: str, page: Page) -> str | None:
        """The ts of this incident's live card in ``channel``, if it is there."""
        if page.incident is None:  # an on-call notice: no card
            return None
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
