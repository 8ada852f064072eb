"""``tocsin oncall feed``: a real process prints a feed's secret URL, keeps it, rotates and revokes it."""

from __future__ import annotations

import re

from tests.test_cli import ROOT, _run

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
