"""``tocsin sidecar`` runs the webhooks and the API alone, as its own process, on a shared database."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import yaml

from tests.webhooks.support import AM, API_TOKENS, CONFIG, fixture

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_the_sidecar_process_receives_alertmanager_and_serves_the_api(tmp_path):
    config = tmp_path / "tocsin.yml"
    config.write_text(yaml.safe_dump(CONFIG))
    port = _free_port()
    env = {**os.environ, "TOCSIN_DATABASE_URL": f"sqlite:///{tmp_path / 'tocsin.db'}", "TOCSIN_LOG_LEVEL": "WARNING"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "sidecar", "--port", str(port), "--config", str(config),
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            for _ in range(150):
                try:
                    if (await http.get(f"{base}/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.returncode is None
                await asyncio.sleep(0.1)
            for name in ("001_firing_DBPrimaryDown.json", "003_resolved_DBPrimaryDown.json"):
                assert (await http.post(f"{base}/webhooks/alertmanager", json=fixture(name), headers=AM)
                        ).status_code == 200
            listed = (await http.get(f"{base}/api/incidents",
                                     headers={"Authorization": f"Bearer {API_TOKENS['observer']}"})).json()
            assert listed["total"] == 1 and listed["incidents"][0]["status"] == "resolved"
            assert (await http.get(f"{base}/metrics")).status_code == 200
    finally:
        process.terminate()
        output = (await asyncio.wait_for(process.communicate(), 20))[0].decode()
    assert "webhooks: on" in output and "api: on" in output
    for secret in (CONFIG["integrations"][0]["token"], *API_TOKENS.values()):
        assert secret not in output
