"""The config file's ``maintenance:`` list (docs/noise.md): validated with the key named, applied idempotently
(a second apply changes nothing; an entry taken out of the file is ended), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml

from bot.config_file import ConfigError, apply, parse
from storage import maintenance
from tests.test_cli import _run

BASE = {"teams": [{"name": "payments"}, {"name": "platform"}]}
UPGRADE = {"team": "payments", "from": "2026-11-22T04:00:00Z", "to": "2026-11-22T06:00:00Z", "reason": "db upgrade"}
STAGING = {"labels": {"env": "staging"}, "from": datetime(2026, 11, 23, 1, 0), "to": "2026-11-23T03:00:00+01:00"}


async def _listed(container):
    async with container.db.sessions() as session:
        return await maintenance.listing(session, container.clock.now())


async def test_the_files_windows_are_applied_once_and_ended_when_taken_out(container):
    config = parse({**BASE, "maintenance": [UPGRADE, STAGING]}, env={})
    first = await apply(container.db, config, container.clock.now())
    assert sum("maintenance window" in c for c in first.created) == 2
    listed = await _listed(container)
    assert [(w.scope, w.start, w.end, w.created_by) for w in listed] == [
        ("team payments", datetime(2026, 11, 22, 4, tzinfo=UTC), datetime(2026, 11, 22, 6, tzinfo=UTC), "config file"),
        ("env=staging", datetime(2026, 11, 23, 1, tzinfo=UTC), datetime(2026, 11, 23, 2, tzinfo=UTC), "config file")]
    second = await apply(container.db, config, container.clock.now())
    assert not second.changed and second.summary() == "no changes"
    assert [w.id for w in await _listed(container)] == [w.id for w in listed]
    third = await apply(container.db, parse({**BASE, "maintenance": [STAGING]}, env={}), container.clock.now())
    assert third.removed == [f"maintenance window {listed[0].id}"]
    assert [w.scope for w in await _listed(container)] == ["env=staging"]


@pytest.mark.parametrize("entry, error", [
    ({**UPGRADE, "team": "payroll"}, "maintenance[0].team: no such team 'payroll'"),
    ({**UPGRADE, "from": "tonight"}, "maintenance[0].from: 'tonight' is not an ISO time"),
    ({k: v for k, v in UPGRADE.items() if k != "to"}, "maintenance[0].to: required"),
    ({**UPGRADE, "to": "2026-11-22T03:00:00Z"}, "maintenance[0].to: the window ends before it starts"),
    ({**UPGRADE, "to": "2026-12-22T03:00:00Z"}, "maintenance[0].to: a maintenance window lasts at most 14 days"),
    ({**UPGRADE, "labels": ["env"]}, "maintenance[0].labels: a mapping of label to value"),
    ({**UPGRADE, "until": "x"}, "maintenance[0].until: unknown key"),
])
def test_a_bad_window_names_the_key(entry, error):
    with pytest.raises(ConfigError, match=error.replace("[", r"\[").replace("]", r"\]")):
        parse({**BASE, "maintenance": [entry]}, env={})


def test_config_check_refuses_a_bad_window_naming_the_key(tmp_path):
    path = tmp_path / "tocsin.yml"
    path.write_text(yaml.safe_dump({**BASE, "maintenance": [{**UPGRADE, "from": "tonight"}]}))
    check = _run(["config", "check", str(path)], tmp_path)
    assert check.returncode != 0 and "maintenance[0].from: 'tonight' is not an ISO time" in check.stderr
