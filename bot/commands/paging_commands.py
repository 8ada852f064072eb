"""``/incident policy``, ``/incident escalate preview`` and ``/incident prefs``: the escalation commands."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands.grammar import Command, UsageError
from bot.commands.handler import MentionResolver
from bot.commands.reply import Reply
from bot.container import Container
from bot.platforms import CHANNELS, DEFAULT_POLICY
from escalation import ledger, prefs
from escalation.plan import plan_step
from escalation.policy import Policy
from escalation.texts import ago
from storage import directory
from storage.actors import Actor
from storage.errors import NotFound
from storage.models import Incident, Membership, Team
from storage.viewbuild import full_view


def describe(policy: Policy) -> list[str]:
    """One line per step: when, whom, how."""
    lines = []
    for i, step in enumerate(policy.steps, 1):
        targets = ", ".join(str(t) for t in step.targets)
        lines.append(f"  {i}. after {ago(step.after)}: {targets} via {', '.join(step.channels)}")
    if policy.repeat:
        lines.append(f"  then {policy.repeat} more time{'s' if policy.repeat > 1 else ''} from the start")
    return lines


async def _actor_team(session: AsyncSession, actor: Actor) -> Team | None:
    person = await directory.find_person(session, actor)
    if person is None:
        return None
    return await session.scalar(select(Team).join(Membership, Membership.team_id == Team.id)
                                .where(Membership.person_id == person.id).order_by(Team.name).limit(1))


async def show_policy(container: Container, actor: Actor, command: Command,
                      mentions: MentionResolver | None) -> Reply:
    async with container.db.sessions() as session:
        team = await directory.team_by_name(session, command.team) if command.team else await _actor_team(session,
                                                                                                          actor)
        policies = await ledger.load_policies(session)
    if team is not None and team.escalation_policy:
        chosen = next((p for p in policies if p.name == team.escalation_policy), DEFAULT_POLICY)
        return Reply("\n".join([f"Team {team.name} escalates with policy '{chosen.name}' (set for the team):",
                                *describe(chosen)]))
    scope = f"Team {team.name}" if team else "Incidents without a team"
    lines = [f"{scope}: the first policy whose match fits the incident applies, else the default."]
    name = team.name if team else None
    for policy in policies:
        if policy.match.team and name not in policy.match.team:
            continue
        match = policy.match
        rule = ", ".join(f"{k} {sorted(v) if isinstance(v, frozenset) else v}" for k, v in
                         (("severity", match.severity), ("service", match.service), ("labels", match.labels)) if v)
        lines += [f"'{policy.name}' when {rule or 'anything'}:", *describe(policy)]
    default = next((p for p in policies if p.name == "default"), DEFAULT_POLICY)
    if default not in policies:
        lines += ["'default' otherwise:", *describe(default)]
    return Reply("\n".join(lines))


def _when(at: datetime, now: datetime) -> str:
    delta = at - now
    rel = f"in {ago(delta)}" if delta.total_seconds() >= 0 else f"{ago(-delta)} ago"
    return f"{at:%H:%M:%S} UTC ({rel})"


async def preview(container: Container, actor: Actor, command: Command,
                  mentions: MentionResolver | None) -> Reply:
    now = container.clock.now()
    async with container.db.sessions() as session:
        reader = await directory.readable(session, actor)
        incident = await session.scalar(select(Incident).where(Incident.number == command.number))
        if incident is None:
            raise NotFound(f"there is no incident #{command.number}")
        view = await full_view(session, incident)
        reader.check(incident.team_id, incident.number, view.team.name if view.team else None)
        rows = await ledger.steps_of(session, incident.id)
        lines = [f"Escalation of {view.ref} {view.title} (policy {incident.escalation_policy or 'none'}, "
                 f"status {incident.status}):"]
        policy = await ledger.policy_named(session, incident.escalation_policy, DEFAULT_POLICY)
        for row in rows:
            head = f"  level {row.step + 1}" + (f" (repeat {row.repeat})" if row.repeat else "")
            if row.status != "PENDING":
                done = f" at {_when(row.executed_at, now)}" if row.executed_at else ""
                lines.append(f"{head}: {row.status.lower()}{done}" + (f" - {row.note}" if row.note else ""))
                continue
            if row.step >= len(policy.steps):
                lines.append(f"{head} {_when(row.due_at, now)}: the policy no longer has this step")
                continue
            planned, notes = await plan_step(session, incident, policy.steps[row.step], container.senders.keys(),
                                             CHANNELS, max(row.due_at, now))
            whom = ", ".join(f"{p.name or p.target} ({p.channel})" for p in planned) or "nobody"
            lines.append(f"{head} {_when(row.due_at, now)}: {whom}" + (f" - {'; '.join(notes)}" if notes else ""))
    if not rows:
        lines.append("  no escalation steps (declared before escalation was set up?)")
    return Reply("\n".join(lines), incident=view)


async def paging_prefs(container: Container, actor: Actor, command: Command,
                       mentions: MentionResolver | None) -> Reply:
    words = [w.lower() for w in command.args]
    if words and (len(words) != 2 or words[0] not in CHANNELS or words[1] not in ("on", "off")):
        raise UsageError(f"Write it like 'prefs email off' (channels: {', '.join(CHANNELS)}).", "prefs")
    async with container.db.transaction() as session:
        person = await directory.find_person(session, actor)
        if person is None:
            raise directory.not_linked(actor)
        if words:
            accepted = await prefs.set_channel(session, person.id, words[0], words[1] == "on", container.clock.now(),
                                                CHANNELS)
        else:
            accepted = await prefs.accepted(session, person.id, CHANNELS)
    refused = [c for c in CHANNELS if c not in accepted]
    text = f"{person.name}, you accept pages on: {', '.join(accepted)}"
    text += f"; not on: {', '.join(refused)}." if refused else "."
    return Reply(text + " When a step's channels are all refused, you are paged on your first accepted one.")
