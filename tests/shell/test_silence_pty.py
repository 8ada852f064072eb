"""``/incident silence`` in ``tocsin shell`` through a real pseudo-terminal (issue 16, item 1), against the
real Alertmanager: the preview lists what fires, ``confirm`` creates the silence, the card then says
"Silenced until ... by ..." and numbers ``unsilence N`` among its actions, which expires it.

The shell is its own process on the test's database, with the test's config file; the sidecar that
Alertmanager notifies runs in this one, so the terminal is read in a thread while it serves."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pexpect
import pytest

from bot.bootstrap import SIDECAR, Parts
from tests.shell.test_pty import PROMPT, shell
from tests.webhooks.test_alertmanager_e2e import alertmanager_binary  # noqa: F401
from tests.webhooks.test_silence_e2e import _open_incident, silences_config, stack  # noqa: F401

pytestmark = pytest.mark.e2e


@pytest.fixture
def parts() -> Parts:
    """The sidecar's parts (webhooks, API) for the process Alertmanager notifies."""
    return SIDECAR


async def test_silence_preview_confirm_card_line_and_expire_in_the_shell(stack, db_url, tmp_path: Path):  # noqa: F811
    url, am = stack
    config = tmp_path / "tocsin.yml"
    config.write_text(json.dumps(silences_config(am)))  # JSON is YAML
    async with httpx.AsyncClient(timeout=5) as http:
        n = (await _open_incident(http, url, am))["number"]
        ana = shell(db_url, tmp_path, "--as", "responder@example.com", env_={"TOCSIN_CONFIG": str(config)})

        async def expect(text: str) -> str:
            await asyncio.to_thread(ana.expect_exact, text)
            return ana.before

        try:
            await expect("Signed in as Responder")
            await expect(PROMPT)
            ana.sendline(f"silence {n} 4h deploy in progress")
            await expect('with matchers alertname="HighLatency", service="checkout", severity="critical"?')
            await expect("2 firing alerts match now:")
            await expect(f"To confirm: /incident silence {n} 4h deploy in progress confirm")
            await expect(PROMPT)
            assert (await http.get(f"{am}/api/v2/silences")).json() == []  # a preview creates nothing

            ana.sendline(f"silence {n} 4h deploy in progress confirm")
            await expect(f"#{n} silenced until ")
            await expect(" by Responder")
            await expect(f"incident #{n}: HighLatency on checkout")  # its card, new to this terminal
            await expect("Silenced until ")
            [silence] = (await http.get(f"{am}/api/v2/silences")).json()
            assert silence["status"]["state"] == "active"
            assert silence["createdBy"] == "Responder <responder@example.com>"
            assert "Tocsin #1: deploy in progress" == silence["comment"]
            await expect(f" by Responder (silence {silence['id'][:8]}\u2026)")
            line = await expect("\r\n")
            while "unsilence" not in line:  # the card's links come before its numbered actions
                line = await expect("\r\n")
            actions = line.split()
            assert actions[-2:] == ["unsilence", str(n)], actions
            await expect(PROMPT)

            ana.sendline(actions[-3].strip("[]"))  # the number of "unsilence N" on the card printed last
            await expect(f"#{n}: silence expired by Responder; its alerts notify again")
            await expect(f"updated #{n}")
            card = await expect(PROMPT)
            assert "Silenced until" not in card and f"unsilence {n}" not in card
            [silence] = (await http.get(f"{am}/api/v2/silences")).json()
            assert silence["status"]["state"] == "expired"
            ana.sendeof()
            await asyncio.to_thread(ana.expect, pexpect.EOF)
        finally:
            ana.close(force=True)
