"""Callback data on inline buttons: ``inc:v2:<action>:<number>:<mac>``, at most 64 bytes.

Button data comes back from the client and is untrusted: it is signed with a key derived from the bot
token over the action, the incident and the chat the button was sent to, so forged data, or a button
carried to another chat, is refused before it reaches the core; the presser's handler then checks that
the pressed message is a copy of that incident's card, and the core still checks who pressed.
``v1`` data (signed over the action and the incident only) is still understood for cards posted before
``v2``: the message check binds it too, and the card's next edit re-signs it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from bot.chat import buttons

PREFIX = "inc"
VERSION, OLD_VERSIONS = "v2", frozenset({"v1"})
MAX_BYTES = 64  # Telegram's limit on callback_data
#: Wire names of the button actions, from the shared table ``bot.chat.buttons.TELEGRAM`` (never rename them:
#: buttons already posted carry them).
ACK, RESOLVE, ESCALATE, SNOOZE = (buttons.wire_id(buttons.TELEGRAM, verb) for verb in buttons.VERBS)
UNSILENCE = buttons.wire_id(buttons.TELEGRAM, buttons.UNSILENCE)
#: Silence previews ("Silence 4h" on a card) and their confirmations (on the preview), by duration word.
SILENCE_PREVIEWS = {choice: f"sl{choice[:-1]}" for choice in buttons.SILENCE_CHOICES}
SILENCE_CONFIRMS = {choice: f"sc{choice[:-1]}" for choice in buttons.SILENCE_CHOICES}
#: The preview's Cancel: Telegram's own (it only edits the preview), no core verb.
CANCEL_SILENCE = "scx"
ACTIONS = frozenset(buttons.TELEGRAM) | {CANCEL_SILENCE}


class BadCallback(ValueError):
    """The data is not ours, was tampered with, or comes from an older version of the bot."""


@dataclass(frozen=True)
class Press:
    action: str
    number: int


class CallbackCodec:
    """Encodes and checks button data; the key never leaves the process."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"tocsin-telegram-callback:" + secret.encode()).digest()

    def _mac(self, signed: str) -> str:
        digest = hmac.new(self._key, signed.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:9]).decode()

    def _signed(self, version: str, action: str, number: int, chat_id: int) -> str:
        return f"v1:{action}:{number}" if version == "v1" else f"{version}:{action}:{number}:{chat_id}"

    def encode(self, action: str, number: int, chat_id: int) -> str:
        """The data of ``action`` on incident ``number``'s button in chat ``chat_id``."""
        if action not in ACTIONS:
            raise ValueError(f"unknown button action {action!r}")
        data = f"{PREFIX}:{VERSION}:{action}:{number}:{self._mac(self._signed(VERSION, action, number, chat_id))}"
        if len(data.encode()) > MAX_BYTES:
            raise ValueError("callback data over 64 bytes")
        return data

    def decode(self, data: str | None, chat_id: int) -> Press:
        """The press named by ``data``, pressed in ``chat_id``; ``BadCallback`` if it is not genuine there."""
        parts = (data or "").split(":")
        if len(parts) != 5 or parts[0] != PREFIX:
            raise BadCallback("This button is not one of Tocsin's.")
        _, version, action, raw_number, mac = parts
        if (version != VERSION and version not in OLD_VERSIONS) or action not in ACTIONS:
            raise BadCallback("This button is from an older version of Tocsin; use the commands instead.")
        if not raw_number.isdigit() or not hmac.compare_digest(
                mac, self._mac(self._signed(version, action, int(raw_number), chat_id))):
            raise BadCallback("This button's data was tampered with, or it belongs to another chat; "
                              "nothing was changed.")
        return Press(action, int(raw_number))
