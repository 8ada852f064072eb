"""``tocsin oncall feed``: a real process prints a feed's secret URL, keeps it, rotates and revokes it."""

from __future__ import annotations

import re
import subprocess
import time

import httpx

from tests.test_cli import ROOT, TOCSIN, _env, _free_port, _run

URL = re.compile(r"^https://tocsin\.example\.com/calendar/([A-Za-z0-9_-]{43})\.ics$", re.M)


def test_oncall_feed_shows_rotates_and_revokes_the_url(tmp_path):
    db = ["--database-url", f"sqlite:///{tmp_path / 't.db'}"]
    env = {"TOCSIN_PUBLIC_URL": "https://tocsin.example.com/"}
    assert _run([*db, "config", "apply", str(ROOT / "tocsin.example.yml")], tmp_path).returncode == 0
    first = _run([*db, "oncall", "feed", "payments-primary"], tmp_path, **env)
    assert first.returncode == 0, first.stderr
    token = URL.search(first.stdout).group(1)
    again = _run([*db, "oncall", "feed", "payments-primary"], tmp_path, **env)
    assert URL.search(again.stdout).group(1) == token
    rotated = _run([*db, "oncall", "feed", "payments-primary", "--rotate"], tmp_path, **env)
    assert rotated.returncode == 0 and "New calendar feed" in rotated.stdout
    assert URL.search(rotated.stdout).group(1) != token
    person = _run([*db, "oncall", "feed", "--person", "Ana@Example.com"], tmp_path, **env)
    assert person.returncode == 0 and "person ana@example.com" in person.stdout
    assert URL.search(person.stdout).group(1) not in (token, URL.search(rotated.stdout).group(1))
    revoked = _run([*db, "oncall", "feed", "--person", "ana@example.com", "--revoke"], tmp_path, **env)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout and "calendar/" not in revoked.stdout


def test_oncall_feed_names_what_is_wrong(tmp_path):
    db = ["--database-url", f"sqlite:///{tmp_path / 't.db'}"]
    assert _run([*db, "config", "apply", str(ROOT / "tocsin.example.yml")], tmp_path).returncode == 0
    unknown = _run([*db, "oncall", "feed", "nope"], tmp_path)
    assert unknown.returncode == 2 and "no schedule 'nope'" in unknown.stderr and "payments-primary" in unknown.stderr
    nobody = _run([*db, "oncall", "feed", "--person", "zed@example.com"], tmp_path)
    assert nobody.returncode == 2 and "no active person with email zed@example.com" in nobody.stderr
    both = _run([*db, "oncall", "feed", "payments-primary", "--person", "ana@example.com"], tmp_path)
    assert both.returncode == 2 and "not both" in both.stderr
    neither = _run([*db, "oncall", "feed"], tmp_path)
    assert neither.returncode == 2 and "usage: tocsin oncall feed" in neither.stderr


def test_oncall_fairness_prints_a_table_across_the_spring_dst_change(tmp_path):
    db = ["--database-url", f"sqlite:///{tmp_path / 't.db'}"]
    assert _run([*db, "config", "apply", str(ROOT / "tocsin.example.yml")], tmp_path).returncode == 0
    done = _run([*db, "oncall", "fairness", "--team", "payments", "--from", "2026-03-28", "--to", "2026-03-31"],
                tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    # Ben until Mon 30 Mar 09:00 Lisbon (08:00 UTC, after the change): 56 h of weekend and early Monday;
    # Dana 09:00-17:00 Lisbon, which is 08:00-16:00 in her UTC: 1 h before her work; then Ana until 00:00 UTC,
    # 17:00-01:00 in Lisbon, all of it outside her working hours.
    assert lines[1].split() == ["person", "zone", "hours", "outside", "working", "pages", "at", "night"]
    assert [line.split() for line in lines[2:]] == [
        ["ana@example.com", "Europe/Lisbon", "8.0", "8.0", "0", "0"],
        ["ben@example.com", "UTC", "56.0", "56.0", "0", "0"],
        ["dana@example.com", "UTC", "8.0", "1.0", "0", "0"]]
    backwards = _run([*db, "oncall", "fairness", "--from", "2026-03-31", "--to", "2026-03-28"], tmp_path)
    assert backwards.returncode == 2 and "--to must be after --from" in backwards.stderr
    bad = _run([*db, "oncall", "fairness", "--from", "last week"], tmp_path)
    assert bad.returncode != 0 and "--from 'last week' is not an ISO date or time" in bad.stderr
    unknown = _run([*db, "oncall", "fairness", "--team", "nope"], tmp_path)
    assert unknown.returncode == 2 and "nope" in unknown.stderr


def test_the_access_log_never_shows_a_feed_token(tmp_path):
    db = ["--database-url", f"sqlite:///{tmp_path / 't.db'}"]
    assert _run([*db, "config", "apply", str(ROOT / "tocsin.example.yml")], tmp_path).returncode == 0
    port = _free_port()
    env = {"TOCSIN_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    url = re.search(r"^(http://\S+\.ics)$", _run([*db, "oncall", "feed", "payments-primary"], tmp_path, **env).stdout,
                    re.M).group(1)
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    proc = subprocess.Popen([*TOCSIN, *db, "sidecar", "--port", str(port)], cwd=tmp_path, env=_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(url, timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "tocsin sidecar did not come up in 30 s"
                time.sleep(0.2)
        assert response.status_code == 200 and response.text.startswith("BEGIN:VCALENDAR\r\n")
        assert httpx.get(url.replace(token, "x" + token[1:]), timeout=5).status_code == 404
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0]
    assert "GET /calendar/[token].ics" in output, output
    assert token not in output and token[1:] not in output
