"""The YAML config file: teams, people, roles, chat bindings, integrations, API tokens, policies.

``load`` validates and points at the offending key; ``apply`` writes teams, people, memberships and
policies to the database idempotently (a second apply of the same file changes nothing).
Secrets are written as ``${ENV_VAR}`` so the file itself can be committed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.policy import Policy, PolicyError, parse_duration, parse_policy, to_document
from storage import identity, maintenance
from storage.db import Database
from storage.models import ChatBinding, ChatIdentity, ConfigState, EscalationPolicy, Membership, Person, Team
from storage.oncall import Schedule, ScheduleError, parse_schedule
from storage.oncall import from_document as oncall_from_document
from storage.oncall import to_document as oncall_document
from storage.roles import Role

INTEGRATION_TYPES = ("alertmanager", "grafana", "elastic", "generic", "pagerduty")
LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(ValueError):
    """The config file is wrong; the message names the file and the key."""


@dataclass(frozen=True)
class StormConfig:
    """Storm coalescing (docs/noise.md): more than ``threshold`` new incidents of a team within ``window``
    seconds get one summary card, edited at most once per ``update_every`` seconds."""

    threshold: int = 5
    window: int = 60
    update_every: int = 10
    enabled: bool = True


@dataclass(frozen=True)
class TeamConfig:
    name: str
    description: str | None = None
    slack_channel: str | None = None
    telegram_chat: int | None = None
    telegram_topic: int | None = None
    escalation_policy: str | None = None
    # message templates for the team's incidents (``message: {title, summary}``; docs/webhooks.md)
    message_title: str | None = None
    message_summary: str | None = None


@dataclass(frozen=True)
class PersonConfig:
    name: str
    email: str | None = None
    timezone: str = "UTC"
    slack: str | None = None
    telegram: int | None = None
    admin: bool = False
    teams: dict[str, Role] = field(default_factory=dict)


@dataclass(frozen=True)
class IntegrationConfig:
    """An inbound integration: its own secret, source name and default team."""

    name: str
    type: str
    token: str | None = field(default=None, repr=False)
    basic_username: str | None = None
    basic_password: str | None = field(default=None, repr=False)
    hmac_secret: str | None = field(default=None, repr=False)
    hmac_without_timestamp: bool = False  # also accept the old signature of the body alone (replayable)
    team: str | None = None
    auto_resolve: bool = True
    group_by: tuple[str, ...] = ("service", "instance", "alertname")
    # where silences are created for this integration's alerts (docs/silences.md); Alertmanager only
    alertmanager_url: str | None = None
    alertmanager_token: str | None = field(default=None, repr=False)
    alertmanager_username: str | None = None
    alertmanager_password: str | None = field(default=None, repr=False)
    flap_count: int = 0  # the flap gate (``flap: {count, within}``; docs/noise.md); 0: off
    flap_within: int = 0  # seconds
    severity_label: str = "severity"
    # any JSON sender through templates (type generic; bot/webhooks/mapped.py, docs/webhooks.md)
    preset: str | None = None
    mapping: Mapping[str, Any] = field(default_factory=dict, hash=False)
    example: Any = field(default=None, hash=False)  # the payload ``config check`` renders the templates against
    message_title: str | None = None  # message templates, over the team's (``message: {title, summary}``)
    message_summary: str | None = None


@dataclass(frozen=True)
class ApiTokenConfig:
    name: str
    token: str = field(repr=False)
    person: str | None = None
    role: Role | None = None


@dataclass(frozen=True)
class RoutingConfig:
    team_label: str = "team"
    services: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TocsinConfig:
    teams: tuple[TeamConfig, ...] = ()
    people: tuple[PersonConfig, ...] = ()
    integrations: tuple[IntegrationConfig, ...] = ()
    api_tokens: tuple[ApiTokenConfig, ...] = ()
    routing: RoutingConfig = RoutingConfig()
    policies: tuple[Policy, ...] = ()
    schedules: tuple[Schedule, ...] = ()  # on-call schedules (docs/oncall.md)
    storm: StormConfig = StormConfig()  # storm coalescing, for teams without their own (docs/noise.md)
    team_storms: Mapping[str, StormConfig] = field(default_factory=dict)  # a team's ``storm:``, by team name
    maintenance: tuple[maintenance.Planned, ...] = ()  # planned maintenance windows (docs/noise.md)
    #: each team's message templates (``message:``), by team name: {"title": ..., "summary": ...} or {}
    team_messages: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def storm_rule(self, team: str) -> StormConfig:
        """The storm rule of ``team``: its own, else the top-level one."""
        return self.team_storms.get(team) or self.storm


# -- loading ------------------------------------------------------------------------------------


def _interpolate(value: Any, env: Mapping[str, str], path: str) -> Any:
    if isinstance(value, str):
        def sub(m: re.Match[str]) -> str:
            if m.group(1) in env:
                return env[m.group(1)]
            if m.group(2) is not None:
                return m.group(2)
            raise ConfigError(f"{path}: environment variable {m.group(1)} is not set")
        return _ENV.sub(sub, value)
    if isinstance(value, dict):
        return {k: _interpolate(v, env, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


class _Section:
    """Reads one mapping of the file, naming the path of every error."""

    def __init__(self, raw: Any, path: str, allowed: set[str]) -> None:
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a mapping")
        unknown = set(raw) - allowed
        if unknown:
            raise ConfigError(f"{path}.{sorted(unknown)[0]}: unknown key (allowed: {', '.join(sorted(allowed))})")
        self.raw, self.path = raw, path

    def str(self, key: str, required: bool = False) -> str | None:
        value = self.raw.get(key)
        if value is None or value == "":
            if required:
                raise ConfigError(f"{self.path}.{key}: required")
            return None
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise ConfigError(f"{self.path}.{key}: expected text")
        return str(value).strip()

    def int(self, key: str) -> int | None:
        value = self.raw.get(key)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{self.path}.{key}: expected a whole number, got {value!r}") from None

    def bool(self, key: str, default: bool) -> bool:
        value = self.raw.get(key, default)
        if not isinstance(value, bool):
            raise ConfigError(f"{self.path}.{key}: expected true or false")
        return value


def _list(raw: Any, key: str) -> list[Any]:
    value = raw.get(key) or []
    if not isinstance(value, list):
        raise ConfigError(f"{key}: expected a list")
    return value


def _role(value: Any, path: str) -> Role:
    try:
        return Role(str(value))
    except ValueError:
        raise ConfigError(f"{path}: unknown role {value!r} (one of {', '.join(r.value for r in Role)})") from None


def _storm(raw: Any, path: str, base: StormConfig) -> StormConfig:
    s = _Section(raw, path, {"threshold", "window", "update_every", "enabled"})
    values = {}
    for key in ("threshold", "window", "update_every"):
        value = s.int(key)
        if value is not None and value < 1:
            raise ConfigError(f"{path}.{key}: expected a whole number of at least 1, got {value}")
        values[key] = getattr(base, key) if value is None else value
    return StormConfig(**values, enabled=s.bool("enabled", base.enabled))


def _team(raw: Any, path: str) -> TeamConfig:
    s = _Section(raw, path, {"name", "description", "slack_channel", "telegram_chat", "telegram_topic",
                             "escalation_policy", "storm", "message"})
    message_title, message_summary = _templates().message(raw.get("message"), f"{path}.message", None)
    return TeamConfig(s.str("name", True), s.str("description"), s.str("slack_channel"), s.int("telegram_chat"),
                      s.int("telegram_topic"), s.str("escalation_policy"), message_title, message_summary)


def _team_storms(raw: Any, base: StormConfig) -> dict[str, StormConfig]:
    """Each team's own ``storm:`` (its keys default to the top-level rule's)."""
    return {str(t["name"]): _storm(t["storm"], f"teams[{i}].storm", base)
            for i, t in enumerate(_list(raw, "teams")) if t.get("storm") is not None}


def _person(raw: Any, path: str, teams: set[str]) -> PersonConfig:
    s = _Section(raw, path, {"name", "email", "timezone", "slack", "telegram", "admin", "teams"})
    memberships = raw.get("teams") or {}
    if not isinstance(memberships, dict):
        raise ConfigError(f"{path}.teams: expected a mapping of team name to role")
    for team in memberships:
        if team not in teams:
            raise ConfigError(f"{path}.teams.{team}: no such team in teams:")
    roles = {str(t): _role(r, f"{path}.teams.{t}") for t, r in memberships.items()}
    email = s.str("email")
    if email and "@" not in email:
        raise ConfigError(f"{path}.email: {email!r} is not an email address")
    return PersonConfig(s.str("name", True), email.lower() if email else None, s.str("timezone") or "UTC",
                        s.str("slack"), s.int("telegram"), s.bool("admin", False), roles)


def _integration(raw: Any, path: str, teams: set[str]) -> IntegrationConfig:
    s = _Section(raw, path, {"name", "type", "token", "basic_auth", "hmac_secret", "hmac_without_timestamp", "team",
                             "auto_resolve", "group_by", "alertmanager_url", "alertmanager_token",
                             "alertmanager_basic_auth", "flap", "severity_label", "preset", "mapping", "example",
                             "message"})
    kind = s.str("type", True)
    if kind not in INTEGRATION_TYPES:
        raise ConfigError(f"{path}.type: {kind!r} is not one of {', '.join(INTEGRATION_TYPES)}")
    basic = raw.get("basic_auth") or {}
    b = _Section(basic, f"{path}.basic_auth", {"username", "password"})
    token, hmac_secret = s.str("token"), s.str("hmac_secret")
    if not (token or basic or hmac_secret):
        raise ConfigError(f"{path}: set token, basic_auth or hmac_secret; an integration without a secret is refused")
    team = s.str("team")
    if team and team not in teams:
        raise ConfigError(f"{path}.team: no such team {team!r}")
    group_by = raw.get("group_by") or ["service", "instance", "alertname"]
    if not isinstance(group_by, list) or not all(isinstance(g, str) for g in group_by):
        raise ConfigError(f"{path}.group_by: expected a list of label names")
    severity_label = s.str("severity_label") or "severity"
    if not LABEL_NAME.fullmatch(severity_label):
        raise ConfigError(f"{path}.severity_label: {severity_label!r} is not a label name (letters, digits, _)")
    without_timestamp = s.bool("hmac_without_timestamp", False)
    if without_timestamp and not hmac_secret:
        raise ConfigError(f"{path}.hmac_without_timestamp: only means something with an hmac_secret")
    am_url, am_token, am_user, am_password = _alertmanager_api(raw, s, path, kind)
    flap_count, flap_within = _flap(raw.get("flap"), f"{path}.flap")
    checks = _templates()
    preset, mapping, example = checks.mapping(raw, path, kind)
    message_title, message_summary = checks.message(raw.get("message"), f"{path}.message",
                                                    checks.sample(preset, mapping, example))
    return IntegrationConfig(s.str("name", True), kind, token, b.str("username"), b.str("password"), hmac_secret,
                             without_timestamp, team, s.bool("auto_resolve", True), tuple(group_by),
                             am_url, am_token, am_user, am_password, flap_count, flap_within,
                             severity_label, preset, mapping, example, message_title, message_summary)


def _alertmanager_api(raw: Any, s: _Section, path: str, kind: str | None
                      ) -> tuple[str | None, str | None, str | None, str | None]:
    """``alertmanager_url`` and its optional credentials (bearer token or basic auth), key by key."""
    url = s.str("alertmanager_url")
    token = s.str("alertmanager_token")
    basic = raw.get("alertmanager_basic_auth") or {}
    b = _Section(basic, f"{path}.alertmanager_basic_auth", {"username", "password"})
    user, password = b.str("username"), b.str("password")
    if url is None:
        for key, value in (("alertmanager_token", token), ("alertmanager_basic_auth", basic)):
            if value:
                raise ConfigError(f"{path}.{key}: only means something with an alertmanager_url")
        return None, None, None, None
    if kind != "alertmanager":
        raise ConfigError(f"{path}.alertmanager_url: only an integration of type alertmanager can silence at the "
                          f"source (this one is {kind}); Grafana's own silence link is shown on its cards instead")
    if not re.match(r"^https?://[^/\s]+", url):
        raise ConfigError(f"{path}.alertmanager_url: expected an http:// or https:// URL, got {url!r}")
    if basic and not (user and password):
        raise ConfigError(f"{path}.alertmanager_basic_auth: set both username and password")
    if token and basic:
        raise ConfigError(f"{path}.alertmanager_token: set alertmanager_token or alertmanager_basic_auth, not both")
    return url.rstrip("/"), token, user, password


def _flap(raw: Any, path: str) -> tuple[int, int]:
    """The flap gate ``{count: K, within: W}`` as (K, W in seconds); (0, 0) when not set."""
    if raw is None:
        return 0, 0
    s = _Section(raw, path, {"count", "within"})
    count = s.int("count")
    if count is None or count < 1:
        raise ConfigError(f"{path}.count: a whole number from 1, how many incidents a group may open "
                                        "within 'within' before it flaps, e.g. 3")
    if raw.get("within") is None:
        raise ConfigError(f"{path}.within: required, a duration such as 30m")
    try:
        within = parse_duration(raw["within"], f"{path}.within")
    except PolicyError as exc:
        raise ConfigError(str(exc)) from None
    if not timedelta(0) < within <= timedelta(days=1):
        raise ConfigError(f"{path}.within: a duration from 1s to 1d, e.g. 30m")
    return count, int(within.total_seconds())


def _api_token(raw: Any, path: str) -> ApiTokenConfig:
    s = _Section(raw, path, {"name", "token", "person", "role"})
    person, role = s.str("person"), s.str("role")
    if bool(person) == bool(role):
        raise ConfigError(f"{path}: bind the token to exactly one of person (an email) or role")
    return ApiTokenConfig(s.str("name", True), s.str("token", True), person, _role(role, f"{path}.role") if role else None)


def _unique(items: list[Any], attr: str, section: str) -> None:
    seen: set[Any] = set()
    for i, item in enumerate(items):
        value = getattr(item, attr)
        if value is not None and value in seen:
            raise ConfigError(f"{section}[{i}].{attr}: {value!r} appears twice")
        seen.add(value)


def parse(raw: Any, env: Mapping[str, str] | None = None) -> TocsinConfig:
    """Validate a parsed YAML document into a config."""
    if raw is None:
        return TocsinConfig()
    top = _Section(raw, "(top)", {"teams", "people", "integrations", "api_tokens", "routing",
                                  "escalation_policies", "schedules", "storm", "maintenance"})
    raw = _interpolate(top.raw, os.environ if env is None else env, "")
    storm = _storm(raw.get("storm") or {}, "storm", StormConfig())
    teams = [_team(t, f"teams[{i}]") for i, t in enumerate(_list(raw, "teams"))]
    _unique(teams, "name", "teams")
    names = {t.name for t in teams}
    people = [_person(p, f"people[{i}]", names) for i, p in enumerate(_list(raw, "people"))]
    for attr in ("email", "slack", "telegram"):
        _unique(people, attr, "people")
    integrations = [_integration(x, f"integrations[{i}]", names) for i, x in enumerate(_list(raw, "integrations"))]
    _unique(integrations, "name", "integrations")
    tokens = [_api_token(x, f"api_tokens[{i}]") for i, x in enumerate(_list(raw, "api_tokens"))]
    _unique(tokens, "name", "api_tokens")
    routing_raw = _Section(raw.get("routing") or {}, "routing", {"team_label", "services"})
    services = routing_raw.raw.get("services") or {}
    for service, team in services.items():
        if team not in names:
            raise ConfigError(f"routing.services.{service}: no such team {team!r}")
    try:
        policies = [parse_policy(p, f"escalation_policies[{i}]", _platforms().CHATS) for i, p in
                    enumerate(_list(raw, "escalation_policies"))]
    except PolicyError as exc:
        raise ConfigError(str(exc)) from None
    _unique(policies, "name", "escalation_policies")
    policy_names = {p.name for p in policies} | {"default"}
    for i, team in enumerate(teams):
        if team.escalation_policy and team.escalation_policy not in policy_names:
            raise ConfigError(f"teams[{i}].escalation_policy: no policy named {team.escalation_policy!r}")
    return TocsinConfig(tuple(teams), tuple(people), tuple(integrations), tuple(tokens),
                        RoutingConfig(routing_raw.str("team_label") or "team", {str(k): str(v) for k, v in services.items()}),
                        tuple(policies), _schedules(raw, names, people, policies), storm, _team_storms(raw, storm),
                        tuple(_maintenance(m, f"maintenance[{i}]", names) for i, m in enumerate(_list(raw, "maintenance"))),
                        _team_messages(teams))


def _instant(value: Any, path: str) -> datetime:
    """An ISO time (YAML may have read it as one already); without an offset it is UTC."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ConfigError(f"{path}: {value!r} is not an ISO time such as 2026-12-04T09:00:00Z") from None
    if not isinstance(value, datetime):
        raise ConfigError(f"{path}: required, an ISO time such as 2026-12-04T09:00:00Z")
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def _maintenance(raw: Any, path: str, teams: set[str]) -> maintenance.Planned:
    """One planned maintenance window: what it covers (team, service, labels; none: everything) and when."""
    s = _Section(raw, path, {"team", "service", "labels", "from", "to", "reason"})
    team = s.str("team")
    if team is not None and team not in teams:
        raise ConfigError(f"{path}.team: no such team {team!r}")
    labels = raw.get("labels") or {}
    if not isinstance(labels, dict) or not all(isinstance(v, str | int) and str(v) for v in labels.values()):
        raise ConfigError(f"{path}.labels: a mapping of label to value, e.g. {{env: staging}}")
    start, end = _instant(raw.get("from"), f"{path}.from"), _instant(raw.get("to"), f"{path}.to")
    if end <= start:
        raise ConfigError(f"{path}.to: the window ends before it starts; give a time after 'from'")
    if end - start > maintenance.MAX_LENGTH:
        raise ConfigError(f"{path}.to: a maintenance window lasts at most {maintenance.MAX_LENGTH.days} days")
    return maintenance.Planned(team, s.str("service"), {str(k): str(v) for k, v in labels.items()}, start, end,
                               s.str("reason"))


def _team_messages(teams: list[TeamConfig]) -> dict[str, dict[str, str]]:
    """Every team (one without templates too: its incidents do not take another team's), by name."""
    return {t.name: {k: v for k, v in (("title", t.message_title), ("summary", t.message_summary)) if v}
            for t in teams}


# -- on-call schedules (their own section: docs/oncall.md) ------------------------------------------


def _schedules(raw: Any, teams: set[str], people: list[PersonConfig], policies: list[Policy]) -> tuple[Schedule, ...]:
    """The ``schedules:`` section: each schedule's members must be people of its team (any person without one)."""
    found = []
    for i, item in enumerate(_list(raw, "schedules")):
        path = f"schedules[{i}]"
        team = item.get("team") if isinstance(item, dict) else None
        if team is not None and team not in teams:
            raise ConfigError(f"{path}.team: no such team {team!r}")
        members = {p.email for p in people if p.email and (team is None or team in p.teams)}
        try:
            found.append(parse_schedule(item, path, members))
        except ScheduleError as exc:
            raise ConfigError(str(exc)) from None
    _unique(found, "name", "schedules")
    known = {s.name for s in found}
    for i, policy in enumerate(policies):
        for j, step in enumerate(policy.steps):
            for k, target in enumerate(step.targets):
                if target.kind == "oncall" and str(target.value).partition(":")[0] not in known:
                    raise ConfigError(f"escalation_policies[{i}].steps[{j}].notify[{k}]: no schedule named "
                                      f"{str(target.value).partition(':')[0]!r} in schedules:")
    return tuple(found)


def load(path: Path | str, env: Mapping[str, str] | None = None) -> TocsinConfig:
    """Read and validate a config file; every error names the file and the key."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{where} is not valid YAML ({getattr(exc, 'problem', exc)})") from None
    try:
        return parse(raw, env)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


# -- applying -----------------------------------------------------------------------------------


@dataclass
class ApplyReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    generation: int | None = None  # of the integrations, API tokens and routing, when this apply moved it

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.removed or self.generation)

    def summary(self) -> str:
        parts = [f"{len(v)} {k}" for k, v in
                 (("created", self.created), ("updated", self.updated), ("removed", self.removed)) if v]
        if self.generation is not None:
            parts.append(f"integrations, API tokens and routing at generation {self.generation}")
        return ", ".join(parts) or "no changes"


def _assign(row: Any, values: dict[str, Any], label: str, report: ApplyReport) -> None:
    changed = [k for k, v in values.items() if getattr(row, k) != v]
    for key in changed:
        setattr(row, key, values[key])
    if changed:
        report.updated.append(f"{label} ({', '.join(changed)})")


def _templates() -> Any:
    # Not imported at the top: bot.webhooks imports the container, which imports this module.
    from bot.webhooks import template_config

    return template_config


def _platforms() -> Any:
    # Not imported at the top: bot.platforms imports the platform packages, and they the container, which
    # imports this module.
    from bot import platforms

    return platforms


def _rooms(tc: TeamConfig) -> dict[str, tuple[str, str | None]]:
    """The team's chats the file names, by platform (ids as the core keeps them: strings)."""
    p = _platforms()
    rooms: dict[str, tuple[str, str | None]] = {}
    if tc.slack_channel:
        rooms[p.SLACK] = (tc.slack_channel, None)
    if tc.telegram_chat is not None:
        rooms[p.TELEGRAM] = (str(tc.telegram_chat), None if tc.telegram_topic is None else str(tc.telegram_topic))
    return rooms


def _accounts(pc: PersonConfig) -> dict[str, str]:
    """The person's chat accounts the file names, by platform."""
    p = _platforms()
    accounts = {p.SLACK: pc.slack, p.TELEGRAM: None if pc.telegram is None else str(pc.telegram)}
    return {platform: external_id for platform, external_id in accounts.items() if external_id is not None}


def _bind(team: Team, rooms: dict[str, tuple[str, str | None]]) -> list[str]:
    """Make the team's chat bindings those of the file (a key removed removes its binding); what changed."""
    changed = []
    for binding in list(team.bindings):
        if binding.platform not in rooms:
            team.bindings.remove(binding)  # delete-orphan: the row goes
            changed.append(f"{binding.platform} chat")
    for platform, (chat, thread) in rooms.items():
        binding = team.binding(platform)
        if binding is None:
            team.bindings.append(ChatBinding(platform=platform, chat=chat, thread=thread))
        elif (binding.chat, binding.thread) != (chat, thread):
            binding.chat, binding.thread = chat, thread
        else:
            continue
        changed.append(f"{platform} chat")
    return changed


async def _apply_teams(session: AsyncSession, config: TocsinConfig, now: datetime, report: ApplyReport) -> dict[str, Team]:
    existing = {t.name: t for t in (await session.scalars(select(Team))).all()}
    for tc in config.teams:
        values = {"description": tc.description, "escalation_policy": tc.escalation_policy}
        team = existing.get(tc.name)
        if team is None:
            team = existing[tc.name] = Team(name=tc.name, created_at=now, bindings=[], **values)
            _bind(team, _rooms(tc))
            session.add(team)
            report.created.append(f"team {tc.name}")
        else:
            changed = [k for k, v in values.items() if getattr(team, k) != v]
            for key in changed:
                setattr(team, key, values[key])
            changed += _bind(team, _rooms(tc))
            if changed:
                report.updated.append(f"team {tc.name} ({', '.join(changed)})")
    await session.flush()
    return existing


async def _find_person(session: AsyncSession, pc: PersonConfig) -> Person | None:
    if pc.email is not None:
        person = await session.scalar(select(Person).where(Person.email == pc.email))
        if person is not None:
            return person
    for platform, external_id in _accounts(pc).items():
        person = await session.scalar(select(Person).join(ChatIdentity, ChatIdentity.person_id == Person.id)
                                      .where(ChatIdentity.platform == platform, ChatIdentity.external_id == external_id))
        if person is not None:
            return person
    return await session.scalar(select(Person).where(Person.name == pc.name, Person.email.is_(None)))


async def _link_accounts(session: AsyncSession, person: Person, pc: PersonConfig, now: datetime) -> list[str]:
    """Link the chat accounts the file names. Accounts the file leaves out may have been linked since (by
    email, by a link code): the file sets them, it never unlinks them. A Slack account can be written to
    from when it is linked; a Telegram one once its owner started the bot (kept while the id stays)."""
    changed = []
    for platform, external_id in _accounts(pc).items():
        current = person.identity(platform)
        if current is not None and current.external_id == external_id:
            continue
        reachable = now if platform in _platforms().REACHABLE_WHEN_LINKED else None
        await identity.link_in(session, person.id, platform, external_id, reachable_at=reachable)
        changed.append(f"{platform} account")
    return changed


async def _apply_people(session: AsyncSession, config: TocsinConfig, teams: dict[str, Team], now: datetime,
                        report: ApplyReport) -> None:
    for pc in config.people:
        values = {"name": pc.name, "email": pc.email, "timezone": pc.timezone, "is_admin": pc.admin, "active": True}
        person = await _find_person(session, pc)
        if person is None:
            person = Person(created_at=now, identities=[], **values)
            session.add(person)
            await session.flush()
            await _link_accounts(session, person, pc, now)
            report.created.append(f"person {pc.name}")
        else:
            changed = [k for k, v in values.items() if getattr(person, k) != v]
            for key in changed:
                setattr(person, key, values[key])
            changed += await _link_accounts(session, person, pc, now)
            if changed:
                report.updated.append(f"person {pc.name} ({', '.join(changed)})")
        current = {m.team_id: m for m in (await session.scalars(
            select(Membership).where(Membership.person_id == person.id))).all()}
        wanted = {teams[t].id: r.value for t, r in pc.teams.items()}
        for team_id, role in wanted.items():
            membership = current.get(team_id)
            if membership is None:
                session.add(Membership(person_id=person.id, team_id=team_id, role=role))
                report.created.append(f"membership {pc.name}@{_team_name(teams, team_id)}")
            elif membership.role != role:
                membership.role = role
                report.updated.append(f"membership {pc.name}@{_team_name(teams, team_id)} -> {role}")
        for team_id, membership in current.items():
            if team_id not in wanted:
                await session.delete(membership)
                report.removed.append(f"membership {pc.name}@{_team_name(teams, team_id)}")
    await session.flush()


def _team_name(teams: dict[str, Team], team_id: int) -> str:
    return next((name for name, t in teams.items() if t.id == team_id), str(team_id))


async def _apply_policies(session: AsyncSession, config: TocsinConfig, now: datetime, report: ApplyReport) -> None:
    existing = {p.name: p for p in (await session.scalars(select(EscalationPolicy))).all()}
    for position, policy in enumerate(config.policies):
        values = {"description": policy.description, "position": position, "repeat": policy.repeat,
                  "match": {"severity": sorted(policy.match.severity), "service": sorted(policy.match.service),
                            "team": sorted(policy.match.team), "labels": policy.match.labels},
                  "steps": to_document(policy)}
        row = existing.pop(policy.name, None)
        if row is None:
            session.add(EscalationPolicy(name=policy.name, updated_at=now, **values))
            report.created.append(f"policy {policy.name}")
        else:
            before = len(report.updated)
            _assign(row, values, f"policy {policy.name}", report)
            if len(report.updated) > before:
                row.updated_at = now
    for name in existing:
        await session.execute(delete(EscalationPolicy).where(EscalationPolicy.name == name))
        report.removed.append(f"policy {name}")


# -- what running processes reload: integrations, API tokens, routing ------------------------------

#: The part of the file every process holds in memory; the rest is in tables every request reads.
RUNTIME = ("integrations", "api_tokens", "routing", "schedules", "storm", "team_storms", "team_messages")


def secrets(config: TocsinConfig) -> list[str | None]:
    """Every secret in the file, for the log filter."""
    found: list[str | None] = [t.token for t in config.api_tokens]
    for i in config.integrations:
        found += [i.token, i.basic_password, i.hmac_secret, i.alertmanager_token, i.alertmanager_password]
    return found


def runtime_document(config: TocsinConfig) -> dict[str, Any]:
    """The integrations, API tokens and routing as JSON (secrets included)."""
    plain = dataclasses.asdict(dataclasses.replace(config, schedules=()))
    return json.loads(json.dumps({**{key: plain[key] for key in RUNTIME},
                                  "schedules": [oncall_document(s) for s in config.schedules]}))


def with_runtime(config: TocsinConfig, document: Mapping[str, Any]) -> TocsinConfig:
    """``config`` with the integrations, API tokens and routing of a stored ``runtime_document``."""
    known = {f.name for f in dataclasses.fields(IntegrationConfig)}  # a document from another version
    integrations = tuple(IntegrationConfig(**{**{k: v for k, v in i.items() if k in known},
                                              "group_by": tuple(i["group_by"])}) for i in document["integrations"])
    tokens = tuple(ApiTokenConfig(**{**t, "role": Role(t["role"]) if t["role"] else None})
                   for t in document["api_tokens"])
    return dataclasses.replace(config, integrations=integrations, api_tokens=tokens,
                               routing=RoutingConfig(**document["routing"]),
                               storm=StormConfig(**document.get("storm", {})),
                               team_storms={t: StormConfig(**r) for t, r in document.get("team_storms", {}).items()},
                               team_messages=dict(document.get("team_messages", {})),
                               schedules=tuple(oncall_from_document(s) for s in document.get("schedules", ())))


async def applied(db: Database) -> ConfigState | None:
    """The last applied integrations, API tokens and routing, with their generation (None: never applied)."""
    async with db.sessions() as session:
        return await session.get(ConfigState, 1)


async def applied_generation(db: Database) -> int | None:
    async with db.sessions() as session:
        return await session.scalar(select(ConfigState.generation).where(ConfigState.id == 1))


async def _apply_runtime(session: AsyncSession, config: TocsinConfig, now: datetime, report: ApplyReport) -> None:
    document = runtime_document(config)
    row = await session.get(ConfigState, 1)
    if row is None:
        session.add(ConfigState(id=1, generation=1, document=document, applied_at=now))
        report.generation = 1
    elif row.document != document:
        row.generation, row.document, row.applied_at = row.generation + 1, document, now
        report.generation = row.generation


#: The advisory lock that serialises applying the file (a fixed key of our own; the ingest's per-group
#: keys are hashes and do not meet it in practice).
APPLY_LOCK = 0x70C51C0F16


async def apply(db: Database, config: TocsinConfig, now: datetime, runtime: bool = True) -> ApplyReport:
    """Make the database match the file's teams, people, memberships and policies, in one transaction, and
    (``runtime``) its integrations, API tokens and routing.

    People and teams missing from the file are left alone (incidents refer to them); memberships of
    listed people and the policies are made exactly what the file says.
    """
    report = ApplyReport()
    async with db.transaction() as session:
        if db.is_postgres:  # processes starting together (serve and sidecar, replicas) apply one after the other
            await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPLY_LOCK})
        teams = await _apply_teams(session, config, now, report)
        await _apply_people(session, config, teams, now, report)
        await _apply_policies(session, config, now, report)
        created, removed = await maintenance.apply_config(session, config.maintenance, teams, now)
        report.created += created
        report.removed += removed
        if runtime:
            await _apply_runtime(session, config, now, report)
    return report
