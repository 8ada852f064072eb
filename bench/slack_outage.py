"""A Slack outage during an escalation, in real time, with the production defaults.

One process wired as ``tocsin serve`` is (Slack HTTP mode, Telegram webhook mode, the escalation timer and
dispatcher, the card sweep) on a fresh SQLite database, its Slack and Telegram clients pointed at the fakes
of ``tests/fakes/`` on 127.0.0.1. Slack answers 503 to everything from the moment the incident is declared
until ``--minutes`` later. The policy pages the team channel on Slack and Telegram at 1 min, the team lead
by Slack DM at 3 min and the manager by Slack DM at 5 min: every Slack page falls inside the outage.
Prints when each message reached each platform, the ERROR lines, and what /metrics counted.

    .venv/bin/python bench/slack_outage.py                 # 10 minutes down; about 16 minutes in all
    .venv/bin/python bench/slack_outage.py --scale 60      # the same timeline 60 times faster (a check)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import bootstrap  # noqa: E402
from bot.app import create_app  # noqa: E402
from bot.config_file import TocsinConfig  # noqa: E402
from bot.container import Container  # noqa: E402
from bot.platforms import SLACK, TELEGRAM  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage import migrations  # noqa: E402
from storage.clock import SystemClock  # noqa: E402
from storage.models import ChatBinding, ChatIdentity, EscalationPolicy, Membership, Person, Team  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402

GROUP = -100200
PEOPLE = {"responder": (1001, False), "team_lead": (1004, True), "manager": (1005, True)}  # telegram id, started


class Errors(logging.Handler):
    """Keeps every ERROR line, with the seconds since the start."""

    def __init__(self, start: float) -> None:
        super().__init__(logging.ERROR)
        self.start, self.lines = start, []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((time.monotonic() - self.start, f"{record.name}: {record.getMessage()}"))


async def seed(container: Container, scale: float) -> None:
    now = container.clock.now()
    async with container.db.transaction() as session:
        steps = [{"after": _seconds(60, scale), "notify": ["team_channel"], "channels": ["slack", "telegram"]},
                 {"after": _seconds(180, scale), "notify": ["role:team_lead"], "channels": ["slack"]},
                 {"after": _seconds(300, scale), "notify": ["role:manager"], "channels": ["slack"]}]
        session.add(EscalationPolicy(name="outage", position=0, match={}, repeat=0, updated_at=now,
                                     steps={"steps": steps}))
        team = Team(name="payments", created_at=now, escalation_policy="outage",
                    bindings=[ChatBinding(platform=SLACK, chat="CPAYMENTS"),
                              ChatBinding(platform=TELEGRAM, chat=str(GROUP))])
        session.add(team)
        await session.flush()
        for role, (telegram_id, started) in PEOPLE.items():
            person = Person(name=role.replace("_", " ").title(), email=f"{role}@example.com", created_at=now,
                            identities=[ChatIdentity(platform=SLACK, external_id=f"U{role.upper()}", reachable_at=now),
                                        ChatIdentity(platform=TELEGRAM, external_id=str(telegram_id),
                                                     reachable_at=now if started else None)])
            session.add(person)
            await session.flush()
            session.add(Membership(person_id=person.id, team_id=team.id, role=role))


def _seconds(seconds: float, scale: float) -> str:
    return f"{max(1, round(seconds / scale))}s"  # policies count in whole seconds


def slack_top_level(fake: FakeSlack) -> list:
    """What a channel shows: top-level messages and replies broadcast to it (thread lines are left out)."""
    return [m for m in fake.messages if m.thread_ts is None or "escalation level" in m.text]


async def run(minutes: float, scale: float) -> int:
    outage, cap, failover = minutes * 60 / scale, 300 / scale, 120 / scale
    workdir = Path(tempfile.mkdtemp(prefix="tocsin-outage-"))
    url = f"sqlite:///{workdir / 'tocsin.db'}"
    migrations.upgrade(url)
    async with FakeSlack() as fake_slack, FakeTelegram() as fake_telegram:
        settings = Settings(database_url=url, slack_bot_token="xoxb-bench", slack_signing_secret="bench-secret",
                            slack_api_url=fake_slack.base_url, telegram_bot_token=fake_telegram.token,
                            telegram_api_url=fake_telegram.base_url,
                            telegram_webhook_url="https://tocsin.example.com/telegram/webhook",
                            telegram_webhook_secret="bench-webhook-secret",
                            notify_retry_cap=cap, notify_failover_after=failover)
        parts = bootstrap.Parts(http=True, slack=True, telegram=True, escalation="scheduler")
        container = bootstrap.build(settings, TocsinConfig(), SystemClock(), parts=parts)
        await seed(container, scale)
        app = create_app(container, migrate=False)
        start = time.monotonic()
        errors = Errors(start)
        logging.getLogger().addHandler(errors)
        seen_tg: dict[tuple[int, int], float] = {}
        seen_slack: dict[str, float] = {}
        async with app.router.lifespan_context(app):
            fake_slack.down = True
            start = errors.start = time.monotonic()
            declared = await container.incidents.declare(_actor(), "Checkout down", team="payments")
            print(f"#{declared.incident.number} declared; Slack down for {outage:.0f} s "
                  f"(retry cap {cap:.0f} s, failover after {failover:.0f} s)", flush=True)

            def watch() -> None:
                now = time.monotonic() - start
                for key in fake_telegram.messages:
                    seen_tg.setdefault(key, now)
                for message in slack_top_level(fake_slack):
                    seen_slack.setdefault(message.ts, now)

            while time.monotonic() - start < outage:
                watch()
                await asyncio.sleep(0.05)
            fake_slack.down, refused = False, len(fake_slack.calls)
            print(f"Slack back at {time.monotonic() - start:.1f} s", flush=True)
            deadline = time.monotonic() + cap + 120 / scale
            while time.monotonic() < deadline and not _all_arrived(fake_slack):
                watch()
                await asyncio.sleep(0.05)
            watch()
            arrived = time.monotonic() - start
            await asyncio.sleep(max(2.0, 30 / scale))  # a second copy of anything would show by now
            watch()
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tocsin") as http:
                metrics = (await http.get("/metrics")).text
        logging.getLogger().removeHandler(errors)
        print(f"Slack API calls refused with 503 during the outage: {refused}")
        _report(fake_slack, fake_telegram, seen_tg, seen_slack, errors, metrics, outage, arrived)
        return 0 if _all_arrived(fake_slack) and not _duplicates(fake_slack) else 1


def _actor():
    from storage.actors import Actor

    return Actor(SLACK, "URESPONDER", "responder")


def _pages(fake: FakeSlack, channel: str, level: int) -> list:
    """Pages of that level in ``channel``: on their own, or under the card and broadcast to the channel."""
    return [m for m in fake.messages if m.channel == channel and f"escalation level {level}" in m.text]


def _cards(fake: FakeSlack) -> list:
    return [m for m in fake.messages_in("CPAYMENTS") if m.text.startswith("#1 [")]


def _all_arrived(fake: FakeSlack) -> bool:
    return bool(_cards(fake) and _pages(fake, "CPAYMENTS", 1) and _pages(fake, "DUTEAM_LEAD", 2)
                and _pages(fake, "DUMANAGER", 3))


def _duplicates(fake: FakeSlack) -> list[str]:
    counts = {"card": len(_cards(fake)), "team channel page": len(_pages(fake, "CPAYMENTS", 1)),
              "team lead DM": len(_pages(fake, "DUTEAM_LEAD", 2)), "manager DM": len(_pages(fake, "DUMANAGER", 3))}
    return [f"{name} x{n}" for name, n in counts.items() if n > 1]


def _report(fake_slack, fake_telegram, seen_tg, seen_slack, errors, metrics, outage, arrived) -> None:
    print("\nTelegram (seconds after the declare):")
    for (chat, message_id), message in sorted(fake_telegram.messages.items(), key=lambda kv: seen_tg.get(kv[0], 0)):
        print(f"  {seen_tg.get((chat, message_id), float('nan')):7.1f}  chat {chat}: {message.text.splitlines()[0][:110]}")
    print(f"\nSlack, the pages and the card (seconds after the declare; Slack back at {outage:.1f}):")
    for message in slack_top_level(fake_slack):
        print(f"  {seen_slack.get(message.ts, float('nan')):7.1f}  {message.channel}: {message.text[:100]}")
    if _all_arrived(fake_slack):
        print(f"  all Slack pages and the card there {arrived - outage:.1f} s after Slack came back", end="")
    else:
        print(f"  NOT all Slack pages and the card there {arrived - outage:.1f} s after Slack came back", end="")
    print(f"; duplicates: {_duplicates(fake_slack) or 'none'}")
    print("\nERROR lines:")
    for at, line in errors.lines:
        print(f"  {at:7.1f}  {line[:220]}")
    print("\n/metrics:")
    for line in metrics.splitlines():
        if line.startswith(("notifications_total", "notification_failovers_total")):
            print(f"  {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="how long Slack is down (default 10)")
    parser.add_argument("--scale", type=float, default=1.0, help="run every duration this many times faster")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines carry the bot token in URLs
    sys.exit(asyncio.run(run(args.minutes, args.scale)))


if __name__ == "__main__":
    main()
