"""Who is pressing: the verified Slack user id becomes a neutral ``Actor``; names decide nothing."""

from __future__ import annotations

import re

from bot.slack import scopes
from bot.slack.outbound import SlackOut
from bot.slack.platform import NAME
from storage.actors import Actor
from storage.clock import Clock
from storage.db import Database
from storage.identity import link_by_email, person_for
from storage.ports import DeliveryError

#: With ``should_escape: true`` Slack sends a mention as ``<@U123>`` or ``<@U123|name>``.
MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")


class SlackIdentity:
    """Turns Slack user ids into actors, linking by email (users.info) when the config knows it."""

    def __init__(self, db: Database, out: SlackOut, clock: Clock) -> None:
        self.db, self.out, self.clock = db, out, clock
        self._linked: set[str] = set()

    async def ensure_linked(self, user_id: str) -> None:
        """Link ``user_id`` to the person with the same email if it is not linked yet."""
        if user_id in self._linked:
            return
        if await person_for(self.db, NAME, user_id) is None:
            email = await self._email(user_id)
            if not email or await link_by_email(self.db, NAME, user_id, email, reachable_at=self.clock.now()) is None:
                return
        self._linked.add(user_id)

    async def _email(self, user_id: str) -> str | None:
        try:
            data = await self.out.once(scopes.USER_INFO, user=user_id)
        except DeliveryError:
            return None  # Slack down or no users:read.email: the core will say "not linked"
        return ((data.get("user") or {}).get("profile") or {}).get("email")

    async def actor(self, user_id: str, display_name: str = "") -> Actor:
        """The actor for a verified request's user id (``display_name`` is only for logs)."""
        await self.ensure_linked(user_id)
        return Actor(NAME, user_id, display_name)

    async def mention(self, token: str) -> Actor | None:
        """``<@U123>`` in a command's text -> that user's actor (the shared executor's resolver)."""
        match = MENTION.match(token.strip())
        if match is None:
            return None
        await self.ensure_linked(match.group(1))
        return Actor(NAME, match.group(1))


def request_team(body: dict) -> str | None:
    """The workspace of the user who acted, from a verified command, action or event body."""
    user = body.get("user")
    if isinstance(user, dict) and user.get("team_id"):
        return user["team_id"]
    team = body.get("team")
    return body.get("team_id") or (team.get("id") if isinstance(team, dict) else None)
