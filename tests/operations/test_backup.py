"""The backup and restore procedure of docs/operations.md, run as documented on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from storage import migrations
from tests.conftest import throwaway_pg_database
from tests.operations.conftest import Serving, run
from tests.webhooks.support import AM, API_TOKENS, CONFIG, fixture

ROOT = Path(__file__).resolve().parents[2]
OBSERVER = {"Authorization": f"Bearer {API_TOKENS['observer']}"}
ADMIN = {"Authorization": f"Bearer {API_TOKENS['admin']}"}


def tocsin(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run(list(args), ROOT, TOCSIN_DATABASE_URL=url, TOCSIN_LOG_LEVEL="WARNING")


def serve(url: str, config: Path) -> Serving:
    server = Serving(["serve", "--config", str(config)], ROOT, TOCSIN_DATABASE_URL=url, TOCSIN_LOG_LEVEL="WARNING")
    server.wait_ready()
    return server


@pytest.fixture(params=["sqlite", "postgres"])
def databases(request, tmp_path) -> Iterator[tuple[str, str]]:
    """Two empty databases of one kind: the live one and the one to restore into."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'live.db'}", f"sqlite:///{tmp_path / 'restored.db'}"
        return
    with throwaway_pg_database("tocsin_backup") as live, throwaway_pg_database("tocsin_backup") as restored:
        yield live, restored


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "tocsin.yml"
    path.write_text(yaml.safe_dump(CONFIG))
    return path


def test_a_backup_taken_while_serve_runs_restores_migrates_and_serves(databases, config, tmp_path):
    """The documented procedure; a second restore over the restored incidents is refused."""
    live, restored = databases
    backup = tmp_path / "tocsin.backup"
    server = serve(live, config)
    try:
        assert httpx.post(f"{server.base}/webhooks/alertmanager", json=fixture("001_firing_DBPrimaryDown.json"),
                          headers=AM).status_code == 200
        done = tocsin(live, "backup", str(backup))
        assert done.returncode == 0, done.stderr
        assert httpx.post(f"{server.base}/api/incidents", json={"title": "after the backup"},
                          headers=ADMIN).status_code == 201
    finally:
        server.stop()
    for step in (("restore", str(backup)), ("migrate",)):
        done = tocsin(restored, *step)
        assert done.returncode == 0, done.stderr
    server = serve(restored, config)
    try:
        listed = httpx.get(f"{server.base}/api/incidents", params={"status": "active"}, headers=OBSERVER).json()
        incident = httpx.get(f"{server.base}/api/incidents/1", headers=OBSERVER).json()
        assert httpx.post(f"{server.base}/api/incidents", json={"title": "on the restored database"},
                          headers=ADMIN).json()["incident"]["number"] == 2
    finally:
        server.stop()
    assert listed["total"] == 1
    assert incident["title"] == "Primary Postgres is down" and incident["alerts"]["firing"] == 1
    assert [e["kind"] for e in incident["timeline"]][:1] == ["declared"]
    refused = tocsin(restored, "restore", str(backup))
    assert refused.returncode == 1 and "--replace" in refused.stderr and "Traceback" not in refused.stderr
    assert "2 incidents" in tocsin(restored, "incidents", "list").stdout


def test_backup_never_overwrites_a_file_and_restore_names_a_file_that_is_no_backup(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.db'}"
    migrations.upgrade(url)
    existing = tmp_path / "existing"
    existing.write_text("keep me")
    refused = tocsin(url, "backup", str(existing))
    assert refused.returncode != 0 and "exists" in refused.stderr and existing.read_text() == "keep me"
    bad = tocsin(f"sqlite:///{tmp_path / 'new.db'}", "restore", str(existing))
    assert bad.returncode != 0 and str(existing) in bad.stderr and "Traceback" not in bad.stderr
