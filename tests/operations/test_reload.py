"""``tocsin config apply`` reaches running processes: integration and API tokens change without a restart."""

from __future__ import annotations

import time

import httpx
import pytest
import yaml

from tests.operations.conftest import Serving, run
from tests.webhooks.support import fixture


def _config(path, api_token: str) -> str:
    """The webhook token comes from AM_TOKEN in the environment of whoever loads the file."""
    path.write_text(yaml.safe_dump({
        "teams": [{"name": "payments"}],
        "integrations": [{"name": "am", "type": "alertmanager", "token": "${AM_TOKEN}", "team": "payments"}],
        "api_tokens": [{"name": "dash", "token": api_token, "role": "observer"}],
    }))
    return str(path)


def _webhook(process: Serving, token: str) -> int:
    return httpx.post(f"{process.base}/webhooks/alertmanager", json=fixture("001_firing_DBPrimaryDown.json"),
                      headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code


def _api(process: Serving, token: str) -> int:
    return httpx.get(f"{process.base}/api/incidents", headers={"Authorization": f"Bearer {token}"},
                     timeout=10).status_code


def _eventually(check, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the running process never used the applied config"
        time.sleep(0.25)


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_tokens_applied_with_config_apply_reach_running_processes(tmp_path, serving, database, request):
    url = f"sqlite:///{tmp_path / 'tocsin.db'}" if database == "sqlite" else request.getfixturevalue("empty_pg")
    first = _config(tmp_path / "first.yml", "api-old-0123456789")
    serving.append(Serving(["--database-url", url, "serve", "--config", first], tmp_path,
                           AM_TOKEN="am-old-0123456789"))
    serving[0].wait_ready()
    serving.append(Serving(["--database-url", url, "sidecar"], tmp_path))  # started without the file
    serving[1].wait_ready()
    for process in serving:
        assert _webhook(process, "am-old-0123456789") == 200
        assert _api(process, "api-old-0123456789") == 200

    second = _config(tmp_path / "rotated.yml", "api-new-0123456789")
    applied = run(["--database-url", url, "config", "apply", second], tmp_path, AM_TOKEN="am-new-0123456789")
    assert applied.returncode == 0, applied.stderr
    assert "integrations, API tokens and routing: running processes use them within" in applied.stdout
    assert "restart" in applied.stdout and "am-new-0123456789" not in applied.stdout

    for process in serving:
        _eventually(lambda p=process: _webhook(p, "am-new-0123456789") == 200)
        assert _webhook(process, "am-old-0123456789") == 401
        assert _api(process, "api-new-0123456789") == 200
        assert _api(process, "api-old-0123456789") == 401
    for process in serving:
        output = process.stop()
        assert "config: on (generation 1: 1 integrations, 1 API tokens;" in output, output
        assert "Traceback" not in output and "am-new-0123456789" not in output, output


def test_a_second_apply_of_the_same_file_reloads_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'tocsin.db'}"
    path = _config(tmp_path / "tocsin.yml", "api-token-0123456789")
    first = run(["--database-url", url, "config", "apply", path], tmp_path, AM_TOKEN="am-token-0123456789")
    assert "integrations, API tokens and routing: running processes use them within" in first.stdout
    again = run(["--database-url", url, "config", "apply", path], tmp_path, AM_TOKEN="am-token-0123456789")
    assert again.returncode == 0 and "no changes" in again.stdout
    assert "integrations, API tokens and routing: unchanged" in again.stdout
