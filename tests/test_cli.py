"""The tocsin command as a new user runs it: a real process, real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
TOCSIN = [sys.executable, "-m", "bot"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TELEGRAM_", "TOCSIN_"))}
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TOCSIN, *args], cwd=tmp_path, env=_env(tmp_path, **env), capture_output=True,
                          text=True, timeout=60)


def test_serve_on_sqlite_with_no_tokens_answers_healthz(tmp_path):
    port = _free_port()
    proc = subprocess.Popen([*TOCSIN, "serve", "--port", str(port)], cwd=tmp_path, env=_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "tocsin serve did not come up in 30 s"
                time.sleep(0.2)
        assert response.status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0]
    assert (tmp_path / "tocsin.db").exists()
    assert f"Tocsin listening on http://127.0.0.1:{port}" in output
    assert "slack: off (SLACK_BOT_TOKEN not set)" in output
    assert "telegram: off (TELEGRAM_BOT_TOKEN not set)" in output
    assert "Traceback" not in output


@pytest.mark.parametrize(("args", "message"), [
    (["--database-url", "mysql://x/y", "migrate"], "tocsin: unsupported database 'mysql'"),
    (["--database-url", "not a url", "migrate"], "tocsin: not a database URL"),
    (["--database-url", "postgresql://nobody@127.0.0.1:1/x", "migrate"],
     "tocsin: cannot use the database at postgresql://nobody@127.0.0.1:1/x"),
    (["serve", "--config", "missing.yml"], "tocsin: missing.yml: cannot read it"),
    (["config", "check", "missing.yml"], "tocsin: missing.yml: cannot read it"),
])
def test_bad_database_url_or_config_is_one_line_not_a_traceback(tmp_path, args, message):
    result = _run(args, tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip().startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_password_in_database_url_is_never_printed(tmp_path):
    result = _run(["--database-url", "postgresql://u:hunter2secret@127.0.0.1:1/x", "migrate"], tmp_path)
    assert "hunter2secret" not in result.stderr + result.stdout
    assert "postgresql://u:***@127.0.0.1:1/x" in result.stderr


def test_config_check_apply_and_incidents_commands(tmp_path):
    example = str(ROOT / "tocsin.example.yml")
    db = f"sqlite:///{tmp_path / 't.db'}"
    check = _run(["config", "check", example], tmp_path)
    assert check.returncode == 0 and "OK (2 teams, 5 people, 2 integrations, 2 escalation policies)" in check.stdout
    first = _run(["--database-url", db, "config", "apply", example], tmp_path)
    assert first.returncode == 0 and "15 created" in first.stdout
    second = _run(["--database-url", db, "config", "apply", example], tmp_path)
    assert "no changes" in second.stdout
    listing = _run(["--database-url", db, "incidents", "list"], tmp_path)
    assert listing.returncode == 0 and "0 incidents" in listing.stdout
    missing = _run(["--database-url", db, "incidents", "show", "5"], tmp_path)
    assert missing.returncode == 1 and "there is no incident #5" in missing.stderr
    code = _run(["--database-url", db, "link-code", "ana@example.com"], tmp_path)
    assert code.returncode == 0 and "/start " in code.stdout


def test_help_lists_every_command(tmp_path):
    result = _run(["--help"], tmp_path)
    for command in ("serve", "sidecar", "migrate", "config", "incidents", "shell", "login-link"):
        assert command in result.stdout


def test_sidecar_keeps_the_escalation_ledger_but_runs_no_scheduler_or_chat(tmp_path):
    from bot import bootstrap
    from bot.settings import Settings

    container = bootstrap.build(Settings(database_url=f"sqlite:///{tmp_path / 's.db'}"), parts=bootstrap.SIDECAR)
    statuses = {s.name: s.status for s in container.surfaces}
    assert statuses["escalation ledger"].startswith("on")
    assert not {"slack", "telegram", "scheduler"} & set(statuses)
    assert container.slack is container.telegram is container.paging is None
    assert [s.components for s in container.surfaces if s.name == "escalation ledger"] == [[]]
    assert len(container.incidents.hooks) == 1, "the ledger hook schedules steps for incidents the sidecar opens"
    assert not container.bus.observed, "nothing listens in the sidecar, so no views are built for nobody"


def test_oncall_show_prints_the_timeline_across_the_spring_dst_change(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[1] / "tocsin.example.yml"
    done = _run(["oncall", "show", "payments-primary", "--config", str(example), "--from", "2026-03-28",
                 "--to", "2026-03-31"], tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "payments-primary (Europe/Lisbon)"
    assert "Mon 2026-03-30 09:00 +0100  Mon 2026-03-30 17:00 +0100  dana@example.com  business-hours" in done.stdout
    assert "Sat 2026-03-28 00:00 +0000  Mon 2026-03-30 09:00 +0100  ben@example.com   weekly" in done.stdout
    missing = _run(["oncall", "show", "nope", "--config", str(example)], tmp_path)
    assert missing.returncode == 2 and "no schedule 'nope'" in missing.stdout and "payments-primary" in missing.stdout


def test_oncall_override_and_cancel_change_the_database(tmp_path, db_url):
    example = str(ROOT / "tocsin.example.yml")
    assert _run(["--database-url", db_url, "config", "apply", example], tmp_path).returncode == 0
    made = _run(["--database-url", db_url, "oncall", "override", "payments-primary", "dana@example.com",
                 "--from", "2030-01-07T09:00", "--to", "2030-01-07T13:00", "--for", "ana@example.com"], tmp_path)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == ("override 1: dana@example.com is on call for payments-primary from "
                                   "Mon 2030-01-07 09:00 +0000 to Mon 2030-01-07 13:00 +0000")
    shown = _run(["--database-url", db_url, "oncall", "show", "payments-primary", "--config", example,
                  "--from", "2030-01-07T08:00", "--to", "2030-01-07T18:00"], tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "Mon 2030-01-07 09:00 +0000  Mon 2030-01-07 13:00 +0000  dana@example.com  override" in shown.stdout
    assert "Mon 2030-01-07 13:00 +0000  Mon 2030-01-07 17:00 +0000  dana@example.com  business-hours" in shown.stdout
    for args, expected in ((["payments-primary", "ghost@example.com", "4h"], "'ghost@example.com' is not an active"),
                           (["nope", "dana@example.com", "4h"], "no on-call schedule 'nope'"),
                           (["payments-primary", "dana@example.com", "soon"], "'soon' is not a duration"),
                           (["payments-primary", "dana@example.com"], "give a duration (4h) or --to")):
        bad = _run(["--database-url", db_url, "oncall", "override", *args], tmp_path)
        assert bad.returncode == 1 and expected in bad.stderr, (args, bad.stderr)
    listed = _run(["--database-url", db_url, "oncall", "overrides", "payments-primary"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        "payments-primary (Europe/Lisbon)",
        "id  start                       end                         who               for              by",
        "1   Mon 2030-01-07 09:00 +0000  Mon 2030-01-07 13:00 +0000  dana@example.com  ana@example.com  cli"]
    unknown = _run(["--database-url", db_url, "oncall", "overrides", "nope"], tmp_path)
    assert unknown.returncode == 1 and "no on-call schedule 'nope'" in unknown.stderr
    assert _run(["--database-url", db_url, "oncall", "cancel", "1"], tmp_path).stdout.strip() == \
        "override 1 of payments-primary cancelled"
    assert "(none running or to come)" in _run(["--database-url", db_url, "oncall", "overrides", "payments-primary"],
                                               tmp_path).stdout
    again = _run(["--database-url", db_url, "oncall", "cancel", "1"], tmp_path)
    assert again.returncode == 1 and "already cancelled" in again.stderr


def test_oncall_offer_take_and_cancel_offer_change_the_database(tmp_path, db_url):
    example = str(ROOT / "tocsin.example.yml")
    assert _run(["--database-url", db_url, "config", "apply", example], tmp_path).returncode == 0
    base = ["--database-url", db_url, "oncall"]
    made = _run([*base, "offer", "payments-primary", "dana@example.com", "--from", "2030-01-08T09:00",
                 "--to", "2030-01-08T17:00"], tmp_path)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == ("offer 1: dana@example.com's shift of payments-primary from "
                                   "Tue 2030-01-08 09:00 +0000 to Tue 2030-01-08 17:00 +0000")
    again = _run([*base, "offer", "payments-primary", "dana@example.com", "--from", "2030-01-08T09:00",
                  "--to", "2030-01-08T17:00"], tmp_path)
    assert again.returncode == 1 and "overlaps offer 1" in again.stderr
    listed = _run([*base, "offers", "payments-primary"], tmp_path)
    assert listed.stdout.splitlines()[1:] == [
        "id  start                       end                         who               by",
        "1   Tue 2030-01-08 09:00 +0000  Tue 2030-01-08 17:00 +0000  dana@example.com  cli"]
    taken = _run([*base, "take", "1", "ben@example.com"], tmp_path)
    assert taken.returncode == 0, taken.stderr
    assert taken.stdout.strip() == ("offer 1 taken: override 1 puts ben@example.com on call for payments-primary "
                                    "instead of dana@example.com from Tue 2030-01-08 09:00 +0000 to "
                                    "Tue 2030-01-08 17:00 +0000")
    shown = _run([*base, "show", "payments-primary", "--config", example, "--from", "2030-01-08T08:00",
                  "--to", "2030-01-08T18:00"], tmp_path)
    assert "Tue 2030-01-08 09:00 +0000  Tue 2030-01-08 17:00 +0000  ben@example.com  override" in shown.stdout
    not_hers = _run([*base, "offer", "payments-primary", "ana@example.com", "--from", "2030-01-14T09:00",
                     "--to", "2030-01-14T17:00"], tmp_path)
    assert not_hers.returncode == 1 and "not all ana@example.com's shift" in not_hers.stderr  # Dana's hours
    next_shift = _run([*base, "offer", "payments-primary", "ana@example.com"], tmp_path)
    assert next_shift.returncode == 0 and next_shift.stdout.startswith("offer 2: ana@example.com's shift")
    assert _run([*base, "cancel-offer", "2"], tmp_path).stdout.strip() == "offer 2 of payments-primary cancelled"
    gone = _run([*base, "take", "2", "ben@example.com"], tmp_path)
    assert gone.returncode == 1 and "offer 2 was cancelled" in gone.stderr
    assert "(none open)" in _run([*base, "offers", "payments-primary"], tmp_path).stdout
