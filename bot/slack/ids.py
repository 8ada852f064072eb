"""Wire ids: action ids, block ids and callback ids already posted in Slack depend on these strings.

Never derive them from class or function names; bump the version suffix when the payload changes.
"""

from __future__ import annotations

from bot.chat import buttons

#: The card's buttons (and snooze menu): their action ids are in the shared table, ``bot.chat.buttons.SLACK``.
ACKNOWLEDGE, RESOLVE, ESCALATE, SNOOZE = (buttons.wire_id(buttons.SLACK, verb) for verb in buttons.VERBS)
ACTIONS_BLOCK = "incident.actions.v1"  # block_id prefix: "incident.actions.v1:<number>:<version>"
DECLARE_MODAL = "incident.declare.v1"
COMMAND = "/incident"

SNOOZE_CHOICES = ("30m", "1h", "2h", "4h")
SILENCE, UNSILENCE = (buttons.wire_id(buttons.SLACK, verb) for verb in (buttons.SILENCE, buttons.UNSILENCE))
SILENCE_CHOICES = ("1h", "4h", "24h")
SILENCE_CUSTOM = "custom"  # the menu's last option, "<number>:custom": opens SILENCE_MODAL for any duration
SILENCE_MODAL = "incident.silence.v1"  # its private_metadata: {"number": N, "channel": the card's channel}
