"""Every Slack Web API method Tocsin calls, and the bot scope it needs (checked against manifest.yml)."""

from __future__ import annotations

AUTH_TEST = "auth.test"
POST_MESSAGE = "chat.postMessage"
POST_EPHEMERAL = "chat.postEphemeral"
UPDATE = "chat.update"
OPEN_DM = "conversations.open"
USER_INFO = "users.info"
OPEN_VIEW = "views.open"
HISTORY = "conversations.history"
REPLIES = "conversations.replies"

#: method -> scopes it needs ("" for none). ``users.info`` needs users:read.email to see the email.
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    AUTH_TEST: (),
    POST_MESSAGE: ("chat:write",),
    POST_EPHEMERAL: ("chat:write",),
    UPDATE: ("chat:write",),
    OPEN_DM: ("im:write",),
    USER_INFO: ("users:read", "users:read.email"),
    OPEN_VIEW: (),
    # Looking for a post that may have gone through after all (a timeout): in channels and DMs, threads too.
    HISTORY: ("channels:history", "groups:history", "im:history"),
    REPLIES: ("channels:history", "groups:history", "im:history"),
}
#: Scopes for features rather than methods: the slash command and the app_mention event.
FEATURE_SCOPES: dict[str, tuple[str, ...]] = {
    "/incident": ("commands",),
    "app_mention": ("app_mentions:read",),
}
