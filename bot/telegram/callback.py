"""Callback data on inline buttons: ``inc:v1:<action>:<number>:<mac>``, at most 64 bytes.

Button data comes back from the client and is untrusted: it is signed with a key derived from the bot
token, so forged data is refused before it reaches the core, and the core still checks who pressed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

PREFIX = "inc"
VERSION = "v1"
MAX_BYTES = 64  # Telegram's limit on callback_data
#: Wire names of the button actions (never rename: buttons already posted carry them).
ACK, RESOLVE, ESCALATE, SNOOZE = "ack", "res", "esc", "snz"
ACTIONS = frozenset({ACK, RESOLVE, ESCALATE, SNOOZE})


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

    def _mac(self, action: str, number: int) -> str:
        digest = hmac.new(self._key, f"{VERSION}:{action}:{number}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:9]).decode()

    def encode(self, action: str, number: int) -> str:
        if action not in ACTIONS:
            raise ValueError(f"unknown button action {action!r}")
        data = f"{PREFIX}:{VERSION}:{action}:{number}:{self._mac(action, number)}"
        if len(data.encode()) > MAX_BYTES:
            raise ValueError("callback data over 64 bytes")
        return data

    def decode(self, data: str | None) -> Press:
        """The press named by ``data``; ``BadCallback`` if it is not genuine or no longer understood."""
        parts = (data or "").split(":")
        if len(parts) != 5 or parts[0] != PREFIX:
            raise BadCallback("This button is not one of Tocsin's.")
        _, version, action, raw_number, mac = parts
        if version != VERSION or action not in ACTIONS:
            raise BadCallback("This button is from an older version of Tocsin; use the commands instead.")
        if not raw_number.isdigit() or not hmac.compare_digest(mac, self._mac(action, int(raw_number))):
            raise BadCallback("This button's data was tampered with; nothing was changed.")
        return Press(action, int(raw_number))
