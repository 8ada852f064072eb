"""The console in a real browser: Debian's Chromium driven by Playwright against a real `tocsin serve` on
SQLite with the example config (plus one observer, which the example has none of), signed in through
`tocsin login-link`, fed by Alertmanager's captured webhook.

Screenshots go to $TOCSIN_SCREENSHOTS when set (`TOCSIN_SCREENSHOTS=docs/images` refreshes the ones
docs/console.md shows), else to the test's temporary directory.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.console.test_console_process import _up
from tests.test_cli import ROOT, TOCSIN, _env, _free_port, _run

CHROMIUM = "/usr/bin/chromium"
FIXTURE = ROOT / "tests" / "webhooks" / "fixtures" / "alertmanager" / "001_firing_DBPrimaryDown.json"
OBSERVER = """\
  - name: Olu Observer
    email: olu@example.com
    teams: {payments: observer}
"""
_groups = itertools.count(1)

#: What an open card and an acknowledged one offer, as the Slack card does (snooze, assign, severity too).
OPEN_BUTTONS = ["Acknowledge", "Resolve", "Escalate", "Snooze 1h", "Assign to me", "Set severity"]
ACKNOWLEDGED_BUTTONS = ["Resolve", "Snooze 1h", "Assign to me", "Set severity"]


class Console:
    def __init__(self, url: str, cwd: Path, env: dict[str, str]) -> None:
        self.url, self.cwd, self.env = url, cwd, env

    def link(self, email: str) -> str:
        printed = _run(["login-link", email], self.cwd, **self.env)
        assert printed.returncode == 0, printed.stderr
        return re.search(rf"{re.escape(self.url)}/login/\S+", printed.stdout).group(0)

    def fire(self) -> int:
        """Post Alertmanager's captured DBPrimaryDown notification as a new group; the incident's number."""
        payload = json.loads(FIXTURE.read_text())
        group = next(_groups)
        alert = copy.deepcopy(payload["alerts"][0])
        alert["fingerprint"], alert["labels"]["instance"] = f"{group:016x}", f"db{group}:5432"
        payload["alerts"], payload["groupKey"] = [alert], f'{{}}:{{group="{group}"}}'
        answer = httpx.post(f"{self.url}/webhooks/alertmanager", json=payload, timeout=10,
                            headers={"Authorization": "Bearer example-alertmanager-token"})
        assert answer.status_code == 200, answer.text
        [number] = answer.json()["incidents"]
        return number


@pytest.fixture(scope="module")
def console(tmp_path_factory) -> Iterator[Console]:
    home = tmp_path_factory.mktemp("console")
    config = (ROOT / "tocsin.example.yml").read_text().replace("  - name: Eli Admin\n", OBSERVER + "  - name: Eli Admin\n")
    assert "olu@example.com" in config
    (home / "tocsin.yml").write_text(config)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"TOCSIN_CONSOLE_URL": url, "NO_PROXY": "127.0.0.1,localhost"}
    proc = subprocess.Popen([*TOCSIN, "serve", "--port", str(port), "--config", str(home / "tocsin.yml")],
                            cwd=home, env=_env(home, **env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        _up(proc, url)
        yield Console(url, home, env)
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0]
    assert "Traceback" not in output, output


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium (Playwright cannot download its own here); root needs --no-sandbox."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("TOCSIN_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def person(chromium: Browser, console: Console) -> Iterator:
    """``person(email)``: a new browser context signed in as that person by clicking their link's button."""
    contexts = []

    def sign_in(email: str) -> Page:
        context = chromium.new_context(viewport={"width": 1100, "height": 560})
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(console.link(email))
        page.get_by_role("button", name="Sign in to the Tocsin console").click()
        expect(page).to_have_url(f"{console.url}/")
        return page

    yield sign_in
    for context in contexts:
        context.close()


def _card(page: Page, number: int):
    return page.locator(f"#incident-{number}")


def _mark(page: Page) -> None:
    """Tag the loaded document: a reload would lose the tag."""
    page.evaluate("window.sameDocument = true")


def _not_reloaded(page: Page) -> bool:
    return page.evaluate("window.sameDocument === true")


def test_no_board_without_a_session(chromium: Browser, console: Console):
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.goto(f"{console.url}/")
        expect(page).to_have_url(f"{console.url}/signin")
        expect(page.locator("pre")).to_have_text("tocsin login-link EMAIL")
        expect(page.locator("#board")).to_have_count(0)
    finally:
        context.close()


def test_a_link_signs_in_by_its_button(person):
    page = person("ana@example.com")
    expect(page.locator("header")).to_contain_text("Signed in as Ana Lima")
    expect(page.locator("#board")).to_be_visible()


def test_a_card_appears_without_reload_when_alertmanager_posts(person, console: Console, shots: Path):
    page = person("ana@example.com")
    _mark(page)
    number = console.fire()
    card = _card(page, number)
    expect(card).to_contain_text(f"#{number} Primary Postgres is down")
    expect(card.locator("dd").nth(1)).to_have_text("open")
    expect(card.get_by_role("button")).to_have_text(OPEN_BUTTONS)
    assert _not_reloaded(page)
    page.screenshot(path=shots / "console-board.png")
    assert (shots / "console-board.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_acknowledge_in_one_browser_changes_the_card_in_another_without_reload(person, console: Console,
                                                                                shots: Path):
    number = console.fire()
    ana, ben = person("ana@example.com"), person("ben@example.com")
    expect(_card(ben, number).get_by_role("button")).to_have_text(OPEN_BUTTONS)
    _mark(ben)
    _card(ana, number).get_by_role("button", name="Acknowledge").click()
    expect(ana.locator(".reply.ok")).to_contain_text(f"#{number}")
    card = _card(ben, number)
    expect(card).to_contain_text("Acknowledged by Ana Lima at")
    expect(card.locator("dd").nth(1)).to_have_text("acknowledged")
    expect(card.get_by_role("button")).to_have_text(ACKNOWLEDGED_BUTTONS)
    assert _not_reloaded(ben)
    ben.screenshot(path=shots / "console-acknowledged.png")
    ana.reload()  # the press answered with a redirect: a reload reads the board, it sends nothing again
    expect(_card(ana, number).locator("dd").nth(1)).to_have_text("acknowledged")
    expect(ana.locator(".reply")).to_have_count(0)


def test_an_open_incident_page_follows_an_acknowledge_from_another_person(person, console: Console, shots: Path):
    number = console.fire()
    ana, ben = person("ana@example.com"), person("ben@example.com")
    ben.goto(f"{console.url}/incidents/{number}")
    expect(_card(ben, number).locator("dd").nth(1)).to_have_text("open")
    ben.get_by_label("/incident").fill(f"note {number} looking at the replica")  # what Ben is typing stays
    _mark(ben)
    _card(ana, number).get_by_role("button", name="Acknowledge").click()
    expect(ana.locator(".reply.ok")).to_contain_text(f"#{number}")
    card = _card(ben, number)
    expect(card.locator("dd").nth(1)).to_have_text("acknowledged")
    expect(card.get_by_role("button")).to_have_text(ACKNOWLEDGED_BUTTONS)
    timeline = ben.locator("#timeline tr").last
    expect(timeline).to_contain_text("Ana Lima")
    expect(timeline).to_contain_text("acknowledged")
    assert _not_reloaded(ben)
    expect(ben.get_by_label("/incident")).to_have_value(f"note {number} looking at the replica")
    ben.get_by_role("button", name="Run").click()
    expect(ben.locator(".reply.ok")).to_have_text(f"Note added to #{number}.")
    expect(ben.locator("#notes")).to_contain_text("looking at the replica")
    ben.screenshot(path=shots / "console-incident.png", full_page=True)


def test_an_observers_press_is_refused_with_the_reason(person, console: Console):
    number = console.fire()
    olu = person("olu@example.com")
    _card(olu, number).get_by_role("button", name="Acknowledge").click()
    expect(olu.locator(".reply.error")).to_contain_text("Olu Observer (observer) may not")
    olu.reload()
    expect(olu.locator(".reply")).to_have_count(0)
    expect(_card(olu, number).locator("dd").nth(1)).to_have_text("open")
    expect(_card(olu, number).get_by_role("button")).to_have_text(OPEN_BUTTONS)


def test_the_list_filters_by_a_plain_form(person, console: Console, shots: Path):
    number = console.fire()
    page = person("ben@example.com")
    page.get_by_role("link", name="Incidents").click()
    expect(page).to_have_url(f"{console.url}/incidents")
    page.get_by_label("Title contains").fill("primary POSTGRES")
    page.get_by_label("Team").select_option("payments")
    page.get_by_role("checkbox", name="open").check()
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/incidents\?q=primary\+POSTGRES&team=payments&status=open"))
    row = page.locator("table.incidents tr", has=page.get_by_role("link", name=f"#{number}", exact=True))
    expect(row).to_contain_text("Primary Postgres is down")
    expect(row.locator("td").nth(3)).to_have_text("open")
    expect(page.get_by_label("Title contains")).to_have_value("primary POSTGRES")
    page.screenshot(path=shots / "console-incidents.png", full_page=True)
    page.get_by_label("Title contains").fill("no such title")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(".empty")).to_have_text("No incidents match these filters.")
    expect(page.locator("table.incidents")).to_have_count(0)


def test_the_stats_page_draws_mtta_and_mttr(person, console: Console, shots: Path):
    number = console.fire()
    page = person("ana@example.com")
    _card(page, number).get_by_role("button", name="Acknowledge").click()
    expect(page.locator(".reply.ok")).to_contain_text(f"#{number}")
    _card(page, number).get_by_role("button", name="Resolve").click()
    expect(page.locator(".reply.ok")).to_contain_text(f"#{number}")
    page.get_by_role("link", name="Stats").click()
    page.get_by_label("Window").select_option("7")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"/stats\?days=7"))
    chart = page.get_by_role("img", name="payments: MTTA and MTTR per day")
    expect(chart).to_be_visible()
    expect(chart.locator("circle").first).to_be_attached()
    expect(page.get_by_role("img", name="Incidents by severity")).to_be_visible()
    expect(page.locator("table.summary tr").nth(1)).to_contain_text("payments")
    page.set_viewport_size({"width": 1100, "height": 900})
    page.screenshot(path=shots / "console-stats.png", full_page=True)
    assert (shots / "console-stats.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_press_without_the_csrf_token_is_refused(person, console: Console):
    """A form posted without the session's token (as another site's form would be) changes nothing."""
    number = console.fire()
    ana = person("ana@example.com")
    card = _card(ana, number)
    card.evaluate("card => card.querySelectorAll('input[name=csrf]').forEach(field => field.remove())")
    card.get_by_role("button", name="Acknowledge").click()
    expect(ana.locator("body")).to_contain_text("CSRF")
    ana.goto(f"{console.url}/")
    expect(_card(ana, number).locator("dd").nth(1)).to_have_text("open")


def test_the_first_run_leads_from_the_printed_link_to_the_demo_and_its_pages(chromium: Browser, tmp_path, shots: Path):
    """`serve` on a new database, no config, no tokens: the link it prints, Sign in, Load the demo, a card
    with its buttons, then the team's and the lead's pages under Notifications."""
    port = _free_port()
    proc = subprocess.Popen([*TOCSIN, "serve", "--port", str(port)], cwd=tmp_path, env=_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    context = chromium.new_context(viewport={"width": 1100, "height": 560})
    try:
        link = next(m.group(1) for line in proc.stdout
                    if (m := re.search(rf"^Next: open (http://127.0.0.1:{port}/login/\S+) in a browser", line)))
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.goto(link)
        page.get_by_role("button", name="Sign in to the Tocsin console").click()
        page.get_by_role("button", name="Load the demo").click()
        card = page.locator("#incident-1")
        expect(card).to_contain_text("Checkout errors above 5% (a demo alert)")
        expect(card.get_by_role("button")).to_have_text(OPEN_BUTTONS)
        page.get_by_role("link", name="Notifications").click()
        expect(page.locator("table.notifications")).to_contain_text("Lee Lead", timeout=45_000)
        expect(page.locator("table.notifications")).to_contain_text("the demo channel")
        page.screenshot(path=shots / "console-notifications.png", full_page=True)
    finally:
        context.close()
        proc.terminate()
        proc.wait(20)
