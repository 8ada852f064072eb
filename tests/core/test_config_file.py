"""The YAML config: errors name the key; applying is idempotent; the shipped example is valid."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from bot.config_file import (
    ConfigError,
    StormConfig,
    TocsinConfig,
    apply,
    load,
    parse,
    runtime_document,
    with_runtime,
)
from storage.db import Database
from storage.identity import person_for
from storage.models import ChatBinding, ChatIdentity, EscalationPolicy, Membership, Person, Team

EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yml"


async def _counts(db):
    async with db.sessions() as session:
        return {m.__tablename__: await session.scalar(select(func.count()).select_from(m))
                for m in (Team, Person, Membership, EscalationPolicy)}


async def test_applying_the_example_twice_changes_nothing_the_second_time(container):
    config = load(EXAMPLE, env={})
    first = await apply(container.db, config, container.clock.now())
    assert first.changed and "team payments" in first.created
    counts = await _counts(container.db)
    assert counts == {"team": 2, "person": 5, "membership": 6, "escalation_policy": 2}
    second = await apply(container.db, config, container.clock.now())
    assert not second.changed and second.summary() == "no changes"
    assert await _counts(container.db) == counts


@pytest.mark.postgres
async def test_processes_starting_together_apply_the_file_one_after_the_other(pg_url, clock):
    """``tocsin serve`` and ``tocsin sidecar`` (or two replicas) starting at once on a fresh database:
    both start, and the teams and people are there once. Each apply here has its own engine, as each
    process would."""
    config = load(EXAMPLE, env={})
    databases = [Database(pg_url, pool_size=1) for _ in range(4)]
    try:
        reports = await asyncio.gather(*(apply(db, config, clock.now()) for db in databases))
        assert sum("team payments" in r.created for r in reports) == 1
        assert await _counts(databases[0]) == {"team": 2, "person": 5, "membership": 6, "escalation_policy": 2}
    finally:
        for db in databases:
            await db.dispose()


async def test_apply_updates_roles_and_removes_memberships_and_policies(container):
    raw = yaml.safe_load(EXAMPLE.read_text())
    await apply(container.db, parse(raw, env={}), container.clock.now())
    raw["people"][1]["teams"] = {"payments": "incident_commander"}  # Ben leaves platform, is promoted
    raw["escalation_policies"] = raw["escalation_policies"][1:]
    raw["teams"][0]["escalation_policy"] = None
    report = await apply(container.db, parse(raw, env={}), container.clock.now())
    assert "membership Ben Okafor@payments -> incident_commander" in report.updated
    assert "membership Ben Okafor@platform" in report.removed
    assert "policy critical-fast" in report.removed


@pytest.mark.parametrize(("mutate", "error"), [
    (lambda c: c["people"][0]["teams"].update(payments="boss"), "people[0].teams.payments: unknown role 'boss'"),
    (lambda c: c["people"][0]["teams"].update(nowhere="responder"), "people[0].teams.nowhere: no such team"),
    (lambda c: c["teams"][0].update(colour="red"), "teams[0].colour: unknown key"),
    (lambda c: c["teams"].append({"name": "payments"}), "teams[2].name: 'payments' appears twice"),
    (lambda c: c["integrations"][0].pop("token"), "integrations[0]: set token, basic_auth or hmac_secret"),
    (lambda c: c["integrations"][0].update(type="nagios"), "integrations[0].type: 'nagios' is not one of"),
    (lambda c: c["integrations"][0].update(severity_label="prio rity"),
     "integrations[0].severity_label: 'prio rity' is not a label name"),
    (lambda c: c["escalation_policies"][0]["steps"][1].update(after="soon"),
     "escalation_policies[0].steps[1].after: 'soon' is not a duration"),
    (lambda c: c["escalation_policies"][0]["steps"][0].update(notify=["role:chef"]),
     "escalation_policies[0].steps[0].notify[0]: 'role:chef' is not a target"),
    (lambda c: c["teams"][0].update(telegram_chat="general"), "teams[0].telegram_chat: expected a whole number"),
    (lambda c: c["escalation_policies"][0]["steps"][0].update(channels=["slack", "pigeon"]),
     "escalation_policies[0].steps[0].channels[1]: unknown channel 'pigeon' (one of slack, telegram, shell, console, email, webhook)"),
    (lambda c: c["api_tokens"][0].update(person="x@example.com"), "api_tokens[0]: bind the token to exactly one"),
    (lambda c: c["integrations"][0].update(alertmanager_url="127.0.0.1:9093"),
     "integrations[0].alertmanager_url: expected an http:// or https:// URL, got '127.0.0.1:9093'"),
    (lambda c: c["integrations"][1].update(alertmanager_url="http://am:9093"),
     "integrations[1].alertmanager_url: only an integration of type alertmanager can silence"),
    (lambda c: c["integrations"][0].update(alertmanager_basic_auth={"username": "u"}),
     "integrations[0].alertmanager_basic_auth: set both username and password"),
    (lambda c: c["integrations"][0].update(alertmanager_basic_auth={"username": "u", "pasword": "p"}),
     "integrations[0].alertmanager_basic_auth.pasword: unknown key"),
    (lambda c: c["integrations"][0].update(alertmanager_token="t", alertmanager_basic_auth={"username": "u",
                                                                                      "password": "p"}),
     "integrations[0].alertmanager_token: set alertmanager_token or alertmanager_basic_auth, not both"),
    (lambda c: c["integrations"][0].pop("alertmanager_url") and c["integrations"][0].update(alertmanager_token="t"),
     "integrations[0].alertmanager_token: only means something with an alertmanager_url"),
    (lambda c: c["teams"][0].update(storm={"threshold": 0}),
     "teams[0].storm.threshold: expected a whole number of at least 1, got 0"),
    (lambda c: c.update(storm={"window": "1m"}), "storm.window: expected a whole number, got '1m'"),
    (lambda c: c.update(storm={"burst": 3}), "storm.burst: unknown key (allowed: enabled, threshold, update_every, window)"),
])
def test_errors_point_at_the_offending_key(mutate, error):
    raw = yaml.safe_load(EXAMPLE.read_text())
    mutate(raw)
    with pytest.raises(ConfigError) as exc:
        parse(raw, env={})
    assert error in str(exc.value)


def test_a_teams_storm_rule_falls_back_to_the_top_level_one_key_by_key_and_survives_a_reload():
    raw = yaml.safe_load(EXAMPLE.read_text())
    config = parse(raw, env={})
    assert config.storm_rule("payments") == StormConfig(threshold=5, window=60, update_every=10, enabled=True)
    assert config.storm_rule("platform") == StormConfig(threshold=10, window=60, update_every=10, enabled=True)
    stored = json.loads(json.dumps(runtime_document(config)))
    reloaded = with_runtime(TocsinConfig(), stored)  # a process started without --config
    assert reloaded.storm_rule("platform") == config.storm_rule("platform")
    assert reloaded.storm_rule("payments") == config.storm_rule("payments")


def test_secrets_come_from_the_environment():
    raw = {"integrations": [{"name": "am", "type": "alertmanager", "token": "${AM_TOKEN}"}]}
    assert parse(raw, env={"AM_TOKEN": "s3cret-value"}).integrations[0].token == "s3cret-value"
    with pytest.raises(ConfigError, match=r"integrations\[0\].token: environment variable AM_TOKEN is not set"):
        parse(raw, env={})
    assert "s3cret" not in repr(parse(raw, env={"AM_TOKEN": "s3cret-value"}))


def test_the_alertmanager_api_credentials_come_from_the_environment_and_stay_out_of_repr():
    raw = {"integrations": [{"name": "am", "type": "alertmanager", "token": "t", "alertmanager_url": "${AM_URL}/",
                             "alertmanager_token": "${AM_API_TOKEN}"}]}
    integration = parse(raw, env={"AM_URL": "http://am:9093", "AM_API_TOKEN": "api-s3cret"}).integrations[0]
    assert (integration.alertmanager_url, integration.alertmanager_token) == ("http://am:9093", "api-s3cret")
    assert "api-s3cret" not in repr(integration)
    with pytest.raises(ConfigError, match=r"integrations\[0\].alertmanager_token: environment variable AM_API_TOKEN"):
        parse(raw, env={"AM_URL": "http://am:9093"})


def test_unreadable_and_invalid_files_say_which_file(tmp_path):
    with pytest.raises(ConfigError, match="missing.yml: cannot read it"):
        load(tmp_path / "missing.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("teams: [\n")
    with pytest.raises(ConfigError, match="bad.yml: line 2 is not valid YAML"):
        load(bad)


async def test_apply_keeps_chat_ids_linked_since_the_file_was_written(container):
    from storage.linking import issue_code, redeem

    config = load(EXAMPLE, env={})
    await apply(container.db, config, container.clock.now())
    dana = await container.queries.person_id("dana@example.com")  # the file gives her no Telegram id
    code = await issue_code(container.db, dana, container.clock.now())
    await redeem(container.db, code, "telegram", "4242", container.clock.now(), reachable_at=container.clock.now())
    report = await apply(container.db, config, container.clock.now())
    assert not report.changed
    assert await person_for(container.db, "telegram", "4242") == dana


async def _chats(db) -> tuple[set, set]:
    async with db.sessions() as session:
        accounts = {(p, i.platform, i.external_id, i.reachable_at is not None) for p, i in (await session.execute(
            select(Person.name, ChatIdentity).join(ChatIdentity, ChatIdentity.person_id == Person.id))).all()}
        rooms = {(t, b.platform, b.chat, b.thread) for t, b in (await session.execute(
            select(Team.name, ChatBinding).join(ChatBinding, ChatBinding.team_id == Team.id))).all()}
    return accounts, rooms


async def test_the_files_chat_keys_become_accounts_and_bindings(container):
    raw = yaml.safe_load(EXAMPLE.read_text())
    await apply(container.db, parse(raw, env={}), container.clock.now())
    accounts, rooms = await _chats(container.db)
    assert ("Ana Lima", "slack", "U0ANA", True) in accounts  # Slack: reachable once linked
    assert ("Ana Lima", "telegram", "11111111", False) in accounts  # Telegram: once she starts the bot
    assert ("platform", "telegram", "-1009876543210", "12") in rooms
    assert ("payments", "slack", "C0PAYMENTS", None) in rooms
    assert not (await apply(container.db, parse(raw, env={}), container.clock.now())).changed

    raw["teams"][1].pop("telegram_topic")
    raw["teams"][0].pop("slack_channel")
    raw["people"][0]["slack"] = "U0ANA2"
    report = await apply(container.db, parse(raw, env={}), container.clock.now())
    assert "team payments (slack chat)" in report.updated and "team platform (telegram chat)" in report.updated
    assert "person Ana Lima (slack account)" in report.updated
    after, rooms = await _chats(container.db)
    assert ("payments", "slack", "C0PAYMENTS", None) not in rooms  # the key removed: the binding goes
    assert ("platform", "telegram", "-1009876543210", None) in rooms
    assert ("Ana Lima", "slack", "U0ANA2", True) in after and ("Ana Lima", "slack", "U0ANA", True) not in after
    assert len(after) == len(accounts)
