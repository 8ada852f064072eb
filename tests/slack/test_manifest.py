"""manifest.yml grants exactly what the code uses: every Web API method, the command and the events."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from bot.slack import ids, scopes

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())
BOT_SCOPES = set(MANIFEST["oauth_config"]["scopes"]["bot"])
#: Methods the SDK calls on our behalf, outside SlackOut: Bolt's auth.test, Socket Mode's connection.
SDK_METHODS = {"auth.test", "apps.connections.open"}


def _methods_called_in_code() -> set[str]:
    """Constants from bot.slack.scopes passed to out.call/out.once, and SDK client methods called directly."""
    used: set[str] = set()
    for path in (ROOT / "bot" / "slack").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            if node.func.attr in ("call", "once") and node.args and isinstance(node.args[0], ast.Attribute):
                used.add(getattr(scopes, node.args[0].attr))
            elif (isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "client"
                  and node.func.attr != "api_call"):  # SlackOut's dispatcher: it refuses methods not in the table
                first, _, rest = node.func.attr.partition("_")
                used.add(f"{first}.{rest.replace('_', '.')}" if first == "apps" else f"{first}.{rest}")
    return used


def test_the_manifest_is_a_socket_mode_app_with_the_incident_command():
    assert MANIFEST["display_information"]["name"]
    [command] = MANIFEST["features"]["slash_commands"]
    assert command["command"] == ids.COMMAND and command["should_escape"] is True  # mentions arrive as <@U..>
    settings = MANIFEST["settings"]
    assert settings["socket_mode_enabled"] is True and settings["interactivity"]["is_enabled"] is True
    assert settings["event_subscriptions"]["bot_events"] == ["app_mention"]
    assert MANIFEST["features"]["bot_user"]["display_name"]


def test_every_method_the_code_calls_is_in_the_scope_table():
    used = _methods_called_in_code()
    assert used - SDK_METHODS <= set(scopes.METHOD_SCOPES), used - set(scopes.METHOD_SCOPES)
    assert {"chat.postMessage", "chat.update", "conversations.open", "users.info", "views.open"} <= used


def test_the_manifest_grants_the_scopes_the_code_needs_and_no_more():
    needed = {s for method in scopes.METHOD_SCOPES for s in scopes.METHOD_SCOPES[method]}
    needed |= {s for feature in scopes.FEATURE_SCOPES.values() for s in feature}
    assert needed == BOT_SCOPES


async def test_every_method_seen_on_the_wire_is_covered(slack, people, container):
    """A tour of every feature; whatever reached the fake Slack must be in the table."""
    slack.fake.users["UNEW"] = {"email": "nobody@example.com"}
    await slack.command("declare")
    await slack.command("declare Checkout is down team:payments", user_id="UNEW")
    await slack.command("declare Checkout is down team:payments")
    card = slack.card()
    await slack.press(card.blocks, ids.ACKNOWLEDGE)
    await slack.post(slack.requests.event({"type": "app_mention", "user": "URESPONDER", "text": "<@UBOT> bogus",
                                           "ts": "1.2", "channel": "CPAYMENTS"}))
    view = await container.queries.get(1)
    from storage.ports import Destination, Page

    await container.senders["slack"].send(Destination("slack", "UTEAM_LEAD"), Page(view, "x", "paged"))
    await slack.settle()
    seen = {c.method for c in slack.fake.calls}
    assert {"views.open", "users.info", "chat.postMessage", "chat.update", "chat.postEphemeral",
            "conversations.open"} <= seen
    assert seen - SDK_METHODS <= set(scopes.METHOD_SCOPES)
