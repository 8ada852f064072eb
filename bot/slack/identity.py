"""Who is pressing: the verified Slack user id becomes a neutral ``Actor``; names decide nothing."""

from __future__ import annotations

import re

from bot.slack import scopes
from bot.slack.outbound import SlackOut
from storage.actors import Actor, Source
from storage.db import Database
from storage.identity import link_slack_by_email, slack_person_id
from storage.ports import DeliveryError

#: With ``should_escape: true`` Slack sends a mention as ``<@U123>`` or ``<@U123|name>``.
MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")


class SlackIdentity:
    """Turns Slack user ids into actors, linking by email (users.info) when the config knows it."""

    def __init__(self, db: Database, out: SlackOut) -> None:
        self.db, self.out = db, out
        self._linked: set[str] = set()

    async def ensure_linked(self, user_id: str) -> None:
        """Link ``user_id`` to the person with the same email if it is not linked yet."""
        if user_id in self._linked:
            return
        if await slack_person_id(self.db, user_id) is None:
            email = await self._email(user_id)
            if not email or await link_slack_by_email(self.db, user_id, email) is None:
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
        return Actor(Source.SLACK, user_id, display_name)

    async def mention(self, token: str) -> Actor | None:
        """``<@U123>`` in a command's text -> that user's actor (the shared executor's resolver)."""
        match = MENTION.match(token.strip())
        if match is None:
            return None
        await self.ensure_linked(match.group(1))
        return Actor(Source.SLACK, match.group(1))


def request_team(body: dict) -> str | None:
    """The workspace of the user who acted, from a verified command, action or event body."""
    user = body.get("user")
    if isinstance(user, dict) and user.get("team_id"):
        return user["team_id"]
    team = body.get("team")
    return body.get("team_id") or (team.get("id") if isinstance(team, dict) else None)
