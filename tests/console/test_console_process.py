"""The console as a new user reaches it: a real `tocsin serve` with the example config and no tokens, a real
`tocsin login-link`, a browser (httpx) following the link to the board."""

from __future__ import annotations

import re
import subprocess
import time
from urllib.parse import urlsplit

import httpx

from tests.console.conftest import login_form
from tests.test_cli import ROOT, TOCSIN, _env, _free_port, _run


def _up(proc: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{url}/healthz", timeout=1)
            return
        except httpx.TransportError:
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "tocsin serve did not come up in 30 s"
            time.sleep(0.2)


def test_serve_shows_the_board_to_whoever_follows_a_login_link(tmp_path):
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"TOCSIN_CONSOLE_URL": url}
    proc = subprocess.Popen([*TOCSIN, "serve", "--port", str(port), "--config", str(ROOT / "tocsin.example.yml")],
                            cwd=tmp_path, env=_env(tmp_path, **env), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        _up(proc, url)
        with httpx.Client(base_url=url, timeout=10) as browser:
            assert browser.get("/").headers["location"] == "/signin"
            nobody = _run(["login-link", "nobody@example.com"], tmp_path, **env)
            assert nobody.returncode == 1 and "no person with email nobody@example.com" in nobody.stderr
            printed = _run(["login-link", "ana@example.com"], tmp_path, **env)
            assert printed.returncode == 0, printed.stderr
            link = re.search(rf"{re.escape(url)}/login/\S+", printed.stdout).group(0)
            page = browser.get(urlsplit(link).path)
            assert browser.post("/login", data=login_form(page.text)).headers["location"] == "/"
            board = browser.get("/")
            assert board.status_code == 200 and "Signed in as Ana Lima" in board.text
            assert "No open incidents." in board.text
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0]
    assert f"console: on ({url}/; `tocsin login-link EMAIL` prints a sign-in link)" in output
    assert "Traceback" not in output
