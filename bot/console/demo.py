"""The first run: a sign-in for a local admin on an empty database, and a demo organisation on request.

``tocsin serve`` on a database without people (a fresh one) creates one person, the local admin
(``admin@localhost``), and its banner ends with a one-time sign-in link for them; nothing else is
created. Signed in, the admin's empty board offers *Load the demo*: a team ``demo`` with a lead and a
manager, a policy whose steps are seconds apart (the team's console channel, then the lead, then the
manager, all on the console), and a test alert through the same ingest as Alertmanager's webhook, so the
newcomer watches the card appear and the escalation page the team and then the lead in the console's
notification view. The demo loads only into an organisation that has no teams (or has the demo's own):
it never touches a configured one. Later, ``tocsin config apply`` of a real file leaves the demo team
and people alone (as it does every team and person the file does not name); the local admin stays an
admin, reachable only through ``tocsin login-link`` (which needs the database).
"""

from __future__ import annotations

from datetime import datetime

import yaml
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response

from bot.commands.reply import Reply
from bot.config_file import apply as apply_config
from bot.config_file import parse
from bot.console import routes, signin
from bot.console.platform import NAME
from bot.container import Container
from bot.webhooks.alertmanager import parse_alertmanager
from storage import identity
from storage.ingest import Route
from storage.models import ChatBinding, Person, Team

ADMIN_EMAIL = "admin@localhost"
ADMIN_NAME = "Local admin"
TEAM = "demo"
DEMO = f"""
teams:
  - {{name: {TEAM}, description: "The demo team: its console channel is its notification feed", escalation_policy: demo}}
people:
  - {{name: {ADMIN_NAME}, email: {ADMIN_EMAIL}, admin: true, teams: {{{TEAM}: responder}}}}
  - {{name: Lee Lead, email: lee.lead@demo.invalid, teams: {{{TEAM}: team_lead}}}}
  - {{name: Max Manager, email: max.manager@demo.invalid, teams: {{{TEAM}: manager}}}}
escalation_policies:
  - name: demo
    description: "The demo: seconds apart, all on the console"
    steps:
      - {{after: 10s, notify: [team_channel], channels: [console]}}
      - {{after: 25s, notify: ["role:team_lead"], channels: [console]}}
      - {{after: 45s, notify: ["role:manager"], channels: [console]}}
"""
TEST_ALERT = {
    "receiver": "tocsin-demo", "status": "firing", "version": "4", "groupKey": '{}:{alertname="DemoCheckoutErrors"}',
    "groupLabels": {"alertname": "DemoCheckoutErrors"}, "externalURL": "http://alertmanager.demo.invalid",
    "commonLabels": {"alertname": "DemoCheckoutErrors", "service": "checkout", "severity": "critical", "team": TEAM},
    "commonAnnotations": {"summary": "Checkout errors above 5% (a demo alert)"},
    "alerts": [{
        "status": "firing",
        "labels": {"alertname": "DemoCheckoutErrors", "service": "checkout", "severity": "critical", "team": TEAM,
                   "instance": "checkout-1"},
        "annotations": {"summary": "Checkout errors above 5% (a demo alert)",
                        "description": "A test alert the console's demo sent through the Alertmanager ingest.",
                        "runbook_url": "https://github.com/tocsin/tocsin/blob/main/docs/console.md"},
        "startsAt": "2026-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.demo.invalid/graph", "fingerprint": "d3e0c0ffee000001"}],
}


async def _count(container: Container, model) -> int:
    async with container.db.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def first_run(container: Container) -> str:
    """The banner's last line, the next step: on a database without people, the local admin's sign-in link."""
    url = container.settings.console_url.rstrip("/")
    if await _count(container, Person):
        return f"Next: `tocsin login-link EMAIL` prints a sign-in link to the console at {url}/"
    async with container.db.transaction() as session:
        session.add(Person(name=ADMIN_NAME, email=ADMIN_EMAIL, is_admin=True, created_at=container.clock.now()))
    link = await signin.login_link(container, ADMIN_EMAIL)
    return (f"Next: open {link} in a browser within 15 minutes to sign in as the local admin ({ADMIN_EMAIL}, "
            "created because the database had nobody); the board offers a demo. Another link: "
            f"`tocsin login-link {ADMIN_EMAIL}`")


async def may_load(container: Container) -> bool:
    """The demo loads only into an organisation without teams, or with only its own."""
    async with container.db.sessions() as session:
        names = set((await session.scalars(select(Team.name))).all())
    return names <= {TEAM}


async def load(container: Container, now: datetime) -> int:
    """Apply the demo organisation (idempotent), make its people and team reachable on the console, and send
    the test alert through the Alertmanager ingest; the incident's number."""
    config = parse(yaml.safe_load(DEMO))
    await apply_config(container.db, config, now, runtime=False)  # the integrations and tokens stay as they are
    async with container.db.transaction() as session:
        team = await session.scalar(select(Team).where(Team.name == TEAM))
        if team.binding(NAME) is None:
            team.bindings.append(ChatBinding(platform=NAME, chat=TEAM))
        people = (await session.execute(select(Person.id, Person.email).where(
            Person.email.in_([p.email for p in config.people])))).all()
    for person_id, email in people:
        await identity.link(container.db, person_id, NAME, email, reachable_at=now)
    payload = {**TEST_ALERT, "alerts": [{**TEST_ALERT["alerts"][0], "startsAt": now.isoformat()}]}
    result = await container.ingest.ingest(parse_alertmanager(payload), Route("demo", TEAM))
    return result.incidents[0]


async def handle_load(request: Request) -> Response:
    """POST /demo: an admin loads the demo; anyone else is told why not."""
    visitor = await routes.poster_of(request)
    if isinstance(visitor, Response):
        return visitor
    container = routes.container_of(request)
    if visitor.readable.teams is not None:
        reply = Reply(f"{visitor.actor.display_name} may not load the demo: it takes an admin.", error=True)
    elif not await may_load(container):
        reply = Reply("The demo loads only into an empty organisation; this one has teams of its own, so nothing "
                      "was changed.", error=True)
    else:
        await load(container, container.clock.now())
        reply = Reply("The demo is loaded: a critical test alert opened an incident for team demo. Its policy pages "
                      "the team's console channel in 10 s, the lead in 25 s and the manager in 45 s: watch "
                      "Notifications, or acknowledge it to stop the escalation.")
    return routes.answered(request, visitor, "/", reply)
