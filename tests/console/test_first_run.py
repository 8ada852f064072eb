"""The first run as a newcomer meets it: `tocsin serve` on a new, empty database with no config and no
tokens prints a sign-in link; the link's board offers the demo; the demo's alert becomes a card and its
policy pages the team's console channel and then the lead, in the notification view."""

from __future__ import annotations

import queue
import re
import subprocess
import threading
import time
from urllib.parse import urlsplit

import httpx

from tests.console.conftest import csrf_of, login_form, press
from tests.test_cli import TOCSIN, _env, _free_port


class Serve:
    """`tocsin serve` in ``folder``, its output read line by line as it comes."""

    def __init__(self, folder, port: int) -> None:
        self.proc = subprocess.Popen([*TOCSIN, "serve", "--port", str(port)], cwd=folder, env=_env(folder),
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)

    def line(self, pattern: str, within: float = 60) -> re.Match:
        """The first line (from now on) that matches ``pattern``."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                assert self.proc.poll() is None, "".join(self.seen)
                continue
            self.seen.append(line)
            if found := re.search(pattern, line):
                return found
        raise AssertionError(f"no line matching {pattern!r} in:\n{''.join(self.seen)}")

    def stop(self) -> str:
        self.proc.terminate()
        self.proc.wait(20)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return "".join(self.seen)


def _until(check, within: float, what: str):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.5)
    raise AssertionError(f"{what} did not happen within {within} s")


def test_a_new_database_prints_a_sign_in_link_and_the_demo_pages_the_team_then_the_lead(tmp_path):
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    serve = Serve(tmp_path, port)
    try:
        link = serve.line(rf"^Next: open ({re.escape(url)}/login/\S+) in a browser").group(1)
        with httpx.Client(base_url=url, timeout=10) as browser:
            page = browser.get(urlsplit(link).path)
            assert browser.post("/login", data=login_form(page.text)).headers["location"] == "/"
            board = browser.get("/")
            assert "Signed in as Local admin" in board.text and "Load the demo" in board.text

            import asyncio  # the shared press helper is async; this test drives a real process

            async def load() -> httpx.Response:
                async with httpx.AsyncClient(base_url=url, cookies=browser.cookies, timeout=10) as c:
                    return await press(c, "/demo", {"csrf": csrf_of(board.text)})

            answered = asyncio.run(load())
            assert "The demo is loaded" in answered.text
            assert "Checkout errors above 5% (a demo alert)" in answered.text and ">Acknowledge<" in answered.text
            assert "Load the demo" not in answered.text

            def feed(*needles: str) -> str | None:
                text = browser.get("/notifications").text
                return text if all(n in text for n in needles) else None

            assert "Nothing was sent to you on the console yet" in browser.get("/notifications").text
            first = _until(lambda: feed("the demo channel"), 40, "the team channel's page")
            assert "Lee Lead" not in first  # the lead comes later, by the policy
            _until(lambda: feed("the demo channel", "Lee Lead"), 40, "the lead's page")
    finally:
        output = serve.stop()
    assert "Traceback" not in output
    token = urlsplit(link).path.rsplit("/", 1)[1]
    assert output.count(token) == 1, "the sign-in token is printed once, never in the access log"
    assert "GET /login/[token]" in output

    again = Serve(tmp_path, port)  # the same database, people in it now: no new admin, no link printed
    try:
        said = again.line(r"^Next: ").string
    finally:
        output = again.stop()
    assert "tocsin login-link EMAIL" in said and "/login/" not in output
