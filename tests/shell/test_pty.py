"""``tocsin shell --as ana@example.com`` with the example config, driven through a real pseudo-terminal:
declare, acknowledge by number, see an incident that a webhook opened in a ``tocsin serve`` process appear
within the catch-up interval, get paged about it, acknowledge the page by number, and leave with Ctrl-D."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
from pathlib import Path

import httpx
import pexpect
import pytest

from bot.sweep import INTERVAL
from tests.operations.conftest import TOCSIN, Serving, env, run
from tests.webhooks.support import fixture

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "tocsin.example.yml"
AM = {"Authorization": "Bearer example-alertmanager-token"}  # the example config's default token
PROMPT = "tocsin> "
#: The shell's sweep runs at the interval Slack's and Telegram's do; a card may take that plus a sweep.
CATCH_UP = INTERVAL + 5


@pytest.fixture
def database(tmp_path: Path) -> str:
    """A fresh SQLite file with the example config applied, as the README's quick start does."""
    url = f"sqlite:///{tmp_path / 'tocsin.db'}"
    for step in (["migrate"], ["config", "apply", str(EXAMPLE)]):
        done = run(step, ROOT, TOCSIN_DATABASE_URL=url)
        assert done.returncode == 0, done.stderr
    return url


def shell(url: str, home: Path, *args: str, env_: dict[str, str] | None = None) -> pexpect.spawn:
    child = pexpect.spawn(TOCSIN[0], [*TOCSIN[1:], "shell", *args], cwd=str(ROOT), encoding="utf-8", timeout=15,
                          env=env(TOCSIN_DATABASE_URL=url, HOME=str(home), TERM="xterm", **(env_ or {})),
                          dimensions=(50, 200))
    return child


def test_declare_acknowledge_see_a_webhook_incident_from_serve_and_its_page(database, tmp_path, serving):
    ana = shell(database, tmp_path, "--as", "ana@example.com")
    try:
        ana.expect("Signed in as Ana Lima")
        ana.expect_exact(PROMPT)
        ana.sendline("declare Checkout is slow sev:high team:payments")
        ana.expect_exact("Declared #1: Checkout is slow.")
        ana.expect_exact("new incident #1: Checkout is slow")
        ana.expect_exact("[1] ack 1  [2] resolve 1  [3] escalate 1")
        ana.expect_exact(PROMPT)

        ana.sendline("1")
        ana.expect_exact("#1 acknowledged by Ana Lima.")
        ana.expect_exact("updated #1: Checkout is slow")
        ana.expect("Status: acknowledged")
        ana.expect_exact("Acknowledged by Ana Lima")
        ana.expect_exact("[1] resolve 1  [2] snooze 1 1h")
        ana.expect_exact(PROMPT)

        server = Serving(["serve"], ROOT, TOCSIN_DATABASE_URL=database, TOCSIN_LOG_LEVEL="WARNING")
        serving.append(server)
        server.wait_ready()
        ana.send("list op")  # typed, not sent: the card must print above it and leave it on the line
        posted = httpx.post(f"{server.base}/webhooks/alertmanager", headers=AM,
                            json=fixture("001_firing_DBPrimaryDown.json"))
        assert posted.status_code == 200, posted.text
        ana.expect_exact("new incident #2: ", timeout=CATCH_UP)
        ana.expect("Severity: critical")
        ana.expect_exact("Team: payments")
        # born from alerts: the card also numbers the preview of a silence at the source
        ana.expect_exact(f"[1] ack 2  [2] resolve 2  [3] escalate 2  [4] snooze 2 1h  [5] silence 2 4h\r\n"
                         f"{PROMPT}list op")
        ana.sendline("en")
        ana.expect_exact("2 open incidents")
        ana.expect_exact(PROMPT)
        ana.send("\x1b[A\r")  # the up arrow brings back the line typed last (readline's history)
        ana.expect_exact("2 open incidents")

        ana.sendline("escalate 2")  # level 1, the team's chats: none on the shell, so on to the next step
        ana.expect_exact(PROMPT)
        ana.sendline("escalate 2")  # level 2 pages the team lead, Ana, on every channel she is reachable on
        ana.expect_exact("PAGE: #2 Primary Postgres is down [critical] is not acknowledged after", timeout=CATCH_UP)
        ana.expect_exact("escalation level 2")
        ana.expect_exact("paged about #2: Primary Postgres is down")
        ana.expect_exact("[1] ack 2  [2] resolve 2  [3] escalate 2  [4] snooze 2 1h  [5] silence 2 4h")
        ana.sendline("1")  # the page's first action
        ana.expect_exact("#2 acknowledged by Ana Lima.")
        ana.expect_exact("*** #2 Primary Postgres is down was acknowledged by Ana Lima", timeout=CATCH_UP)

        ana.sendline("resolve 2 failed over to the replica")
        ana.expect_exact("#2 resolved by Ana Lima: failed over to the replica")
        ana.expect_exact("updated #2")
        ana.expect_exact("(closed: no actions)")
        ana.expect_exact(PROMPT)
        ana.sendcontrol("d")
        ana.expect(pexpect.EOF)
    finally:
        ana.close()
    assert ana.exitstatus == 0, ana.before
    assert "declare Checkout is slow sev:high team:payments" in (tmp_path / ".tocsin_shell_history").read_text()


def test_a_closed_terminal_ends_the_session_and_leaves_no_card_copies_behind(database, tmp_path):
    ana = shell(database, tmp_path, "--as", "ana@example.com")
    ana.expect_exact(PROMPT)
    ana.sendline("declare Checkout is slow team:payments")
    ana.expect_exact("new incident #1")
    ana.expect_exact(PROMPT)
    assert shell_copies(database) == 1
    ana.kill(signal.SIGHUP)  # what closing the terminal window sends
    ana.expect(pexpect.EOF)
    ana.close()
    assert ana.exitstatus == 128 + signal.SIGHUP
    assert shell_copies(database) == 0


def shell_copies(url: str) -> int:
    with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as db:
        return db.execute("SELECT count(*) FROM chat_message_ref WHERE platform = 'shell'").fetchone()[0]


def test_an_unknown_email_or_an_unmigrated_database_is_one_line_saying_what_to_do(database, tmp_path):
    nobody = shell(database, tmp_path, "--as", "nobody@example.com")
    nobody.expect(pexpect.EOF)
    nobody.close()
    assert nobody.exitstatus == 1
    assert nobody.before.strip() == (f"tocsin: no person with email nobody@example.com in the database at {database}: "
                                     "add them under people: in the config file and run `tocsin config apply FILE`")

    fresh = shell(f"sqlite:///{tmp_path / 'none.db'}", tmp_path, "--as", "ana@example.com")
    fresh.expect(pexpect.EOF)
    fresh.close()
    assert fresh.exitstatus == 1 and "run `tocsin migrate`" in fresh.before
    assert len(fresh.before.strip().splitlines()) == 1
