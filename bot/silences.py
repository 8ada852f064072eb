"""Silences at the source (issue 16, item 1): preview, create and expire an Alertmanager silence for an
incident's alerts, from any surface.

The matchers are the labels every alert of the incident shares (equality only); an incident without a
common label is refused rather than silencing too much. Who, when and until when are recorded in the
timeline (``silenced`` / ``unsilenced`` events, the silence id in the event's data). Role-gated like
acknowledge, by the actor's role in our database. An unreachable Alertmanager is a clear error to the
responder, counted as ``tocsin_silence_failures`` on /metrics; nothing is recorded then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.alertmanager_client import AlertmanagerClient, AlertmanagerUnavailable, Matcher
from bot.commands.grammar import parse_duration
from bot.config_file import IntegrationConfig
from bot.container import Container
from storage import directory
from storage.actors import Actor
from storage.errors import InvalidInput, PermissionDenied
from storage.models import Alert, IncidentEvent
from storage.roles import Permission
from storage.views import ActionResult

MIN_SILENCE, MAX_SILENCE = timedelta(minutes=1), timedelta(days=7)
DURATION_HINT = "write it like 90m, 2h or 3d (1 minute to 7 days)"


def silence_duration(text: str) -> timedelta:
    """A typed silence duration (Slack's Custom… form), in the grammar of ``/incident silence N 90m`` and
    the bounds ``create`` enforces, so a bad one is answered in the form, before anything is sent."""
    try:
        duration = parse_duration(text)
    except ValueError:
        raise InvalidInput(f"{text.strip()!r} is not a duration; {DURATION_HINT}." if text.strip()
                           else f"Give a duration; {DURATION_HINT}.") from None
    if not MIN_SILENCE <= duration <= MAX_SILENCE:
        raise InvalidInput(f"{text.strip()} is out of range; {DURATION_HINT}.")
    return duration


@dataclass(frozen=True)
class Target:
    """What a silence of one incident would be: its Alertmanager, matchers and current silence."""

    number: int
    integration: IntegrationConfig
    matchers: list[Matcher]
    silence_id: str | None  # the silence Tocsin created and has not expired, if any
    silenced_until: str | None


@dataclass(frozen=True)
class Preview:
    target: Target
    matching: list[str]  # a line per firing alert the matchers select now


def _common(labels: list[dict[str, Any]]) -> list[Matcher]:
    if not labels:
        return []
    shared = {k: v for k, v in labels[0].items() if all(other.get(k) == v for other in labels[1:])}
    return [Matcher(k, str(v)) for k, v in sorted(shared.items())]


def matchers_text(matchers: list[Matcher]) -> str:
    return ", ".join(f'{m.name}="{m.value}"' for m in matchers)


def _fmt(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC")


class SilenceService:
    def __init__(self, container: Container) -> None:
        self.container = container

    def _integration(self, source: str) -> IntegrationConfig:
        for integration in self.container.config.integrations:
            if integration.name[:32] == source:
                return integration
        raise InvalidInput(f"the integration {source!r} that sent these alerts is no longer in the config file")

    def client(self, integration: IntegrationConfig) -> AlertmanagerClient:
        return AlertmanagerClient(integration.alertmanager_url or "", integration.alertmanager_token,
                                  integration.alertmanager_username, integration.alertmanager_password)

    async def target(self, number: int, actor: Actor) -> Target:
        """Load and authorise (a refusal is recorded, as for acknowledge); no write otherwise."""
        incidents = self.container.incidents
        refusal = None
        async with incidents.unit() as unit:
            principal = await directory.resolve(unit.session, actor)
            incident = await incidents.lock(unit, number)
            try:
                await incidents.authorise(unit, principal, incident.team_id, Permission.ACKNOWLEDGE)
            except PermissionDenied as exc:
                refusal = exc
                await incidents.record(unit, incident, principal, "refused", str(exc),
                                       {"permission": "silence"}, publish=False)
            else:
                alerts = (await unit.session.execute(
                    select(Alert.labels, Alert.source).where(Alert.incident_id == incident.id))).all()
                last = await unit.session.scalar(
                    select(IncidentEvent).where(IncidentEvent.incident_id == incident.id,
                                                IncidentEvent.kind.in_(("silenced", "unsilenced")))
                    .order_by(IncidentEvent.at.desc(), IncidentEvent.id.desc()).limit(1))
        if refusal is not None:
            raise refusal
        if not alerts:
            raise InvalidInput(f"#{number} was declared by hand; only an incident born from alerts can be silenced "
                               "at the source")
        sources = {source for _, source in alerts}
        integration = self._integration(sorted(sources)[0])
        if integration.type == "grafana":
            raise InvalidInput(f"#{number} came from Grafana: silence it with the Silence link on its card "
                               "(Grafana's own silenceURL)")
        if integration.alertmanager_url is None or len(sources) > 1:
            raise InvalidInput(f"the integration {integration.name!r} has no alertmanager_url in the config file; "
                               "add one (docs/configuration.md) to silence its alerts from chat")
        matchers = _common([dict(labels) for labels, _ in alerts])
        if not matchers:
            raise InvalidInput(f"the alerts of #{number} share no label, so no silence could select only them; "
                               "silence them in Alertmanager itself")
        silence_id = until = None
        if last is not None and last.kind == "silenced":
            silence_id, until = last.data.get("silence_id"), last.data.get("until")
        return Target(number, integration, matchers, silence_id, until)

    async def _am(self, call: Any) -> Any:
        try:
            return await call
        except AlertmanagerUnavailable:
            self.container.metrics.silence_failures.inc()
            raise

    async def preview(self, number: int, actor: Actor) -> Preview:
        target = await self.target(number, actor)
        alerts = await self._am(self.client(target.integration).firing(target.matchers))
        lines = []
        for alert in alerts:
            labels = alert.get("labels", {})
            name = labels.get("alertname", "alert")
            rest = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "alertname")
            lines.append(f"{name} {{{rest}}}")
        return Preview(target, lines)

    async def create(self, number: int, actor: Actor, duration: timedelta, comment: str | None) -> ActionResult:
        if not MIN_SILENCE <= duration <= MAX_SILENCE:
            raise InvalidInput("silence for between 1 minute and 7 days, e.g. 1h, 4h or 24h")
        target = await self.target(number, actor)
        incidents = self.container.incidents
        now = self.container.clock.now()
        ends = now + duration
        async with incidents.unit() as unit:
            principal = await directory.resolve(unit.session, actor)
        person = principal.person
        created_by = f"{person.name} <{person.email}>" if person and person.email else principal.name
        text = comment or f"silenced from Tocsin for incident #{number}"
        silence_id = await self._am(self.client(target.integration).create_silence(
            target.matchers, now, ends, created_by, f"Tocsin #{number}: {text}"))

        async def apply(unit: Any, incident: Any, principal: Any) -> tuple[bool, str]:
            message = f"silenced until {_fmt(ends)} by {principal.name}"
            await incidents.record(unit, incident, principal, "silenced", message + (f": {comment}" if comment else ""),
                                   {"silence_id": silence_id, "until": ends.isoformat(), "by": principal.name,
                                    "matchers": matchers_text(target.matchers),
                                    "alertmanager": target.integration.name})
            return True, f"#{number} {message} (matchers {matchers_text(target.matchers)})"

        return await incidents.act(number, actor, Permission.ACKNOWLEDGE, apply)

    async def expire(self, number: int, actor: Actor) -> ActionResult:
        target = await self.target(number, actor)
        incidents = self.container.incidents
        if target.silence_id is None:
            raise InvalidInput(f"#{number} has no silence of Tocsin's to expire")
        await self._am(self.client(target.integration).expire_silence(target.silence_id))

        async def apply(unit: Any, incident: Any, principal: Any) -> tuple[bool, str]:
            await incidents.record(unit, incident, principal, "unsilenced", f"silence expired by {principal.name}",
                                   {"silence_id": target.silence_id})
            return True, f"#{number}: silence expired by {principal.name}; its alerts notify again"

        return await incidents.act(number, actor, Permission.ACKNOWLEDGE, apply)
