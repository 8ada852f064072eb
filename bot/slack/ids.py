"""Wire ids: action ids, block ids and callback ids already posted in Slack depend on these strings.

Never derive them from class or function names; bump the version suffix when the payload changes.
"""

from __future__ import annotations

ACKNOWLEDGE = "incident.acknowledge.v1"
RESOLVE = "incident.resolve.v1"
ESCALATE = "incident.escalate.v1"
SNOOZE = "incident.snooze.v1"
ACTIONS_BLOCK = "incident.actions.v1"  # block_id prefix: "incident.actions.v1:<number>:<version>"
DECLARE_MODAL = "incident.declare.v1"
COMMAND = "/incident"

#: Button action id -> the shared grammar's subcommand it runs.
BUTTON_COMMANDS = {ACKNOWLEDGE: "ack", RESOLVE: "resolve", ESCALATE: "escalate"}
SNOOZE_CHOICES = ("30m", "1h", "2h", "4h")
