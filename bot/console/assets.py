"""The console's script and style, served by Tocsin itself (no CDN, no build step)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

#: Swaps each card the event stream sends into the board; a closed one leaves it; after a reconnection
#: (or when the server says the browser fell behind) the board is loaded again.
BOARD_JS = """\
(function () {
  var board = document.getElementById("board");
  if (!board || !window.EventSource) return;
  var events = new EventSource(board.dataset.events), opened = false;
  // The browser reconnects by itself after a drop; what changed meanwhile was not sent: read the board anew.
  events.addEventListener("open", function () { if (opened) window.location.reload(); opened = true; });
  events.addEventListener("card", function (e) {
    var box = document.createElement("div");
    box.innerHTML = e.data;
    var card = box.firstElementChild, old = document.getElementById(card.id);
    var empty = board.querySelector(".empty");
    if (card.classList.contains("closed")) { if (old) old.remove(); return; }
    if (empty) empty.remove();
    if (old) old.replaceWith(card); else board.prepend(card);
  });
  events.addEventListener("reload", function () { window.location.reload(); });
})();
"""

#: Keeps an incident's page live: when its event stream says the incident changed (or the browser
#: reconnected, or fell behind), it reads the page's changing parts (``data-live``) and swaps each in by id;
#: the command box, which may hold what the person is typing, stays.
INCIDENT_JS = """\
(function () {
  var main = document.querySelector("main[data-live]");
  if (!main || !window.EventSource || !window.fetch) return;
  var card = main.querySelector("article.card"), reading = null, again = false;
  var events = new EventSource(main.dataset.events + "?version=" + encodeURIComponent(card.dataset.version));
  function swap(html) {
    var box = document.createElement("div");
    box.innerHTML = html;
    Array.prototype.slice.call(box.children).forEach(function (part) {  // a copy: each swap moves one out
      var old = part.id && document.getElementById(part.id);
      if (old) old.replaceWith(part);
    });
  }
  function read() {
    if (reading) { again = true; return; }  // one read at a time; a change during it reads once more
    reading = fetch(main.dataset.live, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (r) {
        // signed out, or no longer theirs to read: the page itself says so
        if (!r.ok || r.redirected) { window.location.reload(); return ""; }
        return r.text();
      })
      .then(function (html) { if (html) swap(html); })
      .catch(function () {})
      .then(function () { reading = null; if (again) { again = false; read(); } });
  }
  events.addEventListener("incident", read);
  events.addEventListener("reload", function () { window.location.reload(); });
})();
"""

CONSOLE_CSS = """\
body { font-family: system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #172b4d; }
header { display: flex; gap: 1em; align-items: center; padding: .5em 1em; background: #172b4d; color: #fff; }
header h1 { font-size: 1.2em; margin: 0; } header form { margin-left: auto; }
main { padding: 1em; display: grid; gap: 1em; grid-template-columns: repeat(auto-fill, minmax(22em, 1fr)); }
.card { background: #fff; border-radius: 6px; padding: .8em 1em; border-left: 6px solid #888; }
.sev-critical { border-color: #bf2600; } .sev-high { border-color: #ff8b00; }
.sev-medium { border-color: #ffc400; } .sev-low { border-color: #6b778c; }
.card h2 { font-size: 1.05em; margin: 0 0 .4em; }
dl { display: grid; grid-template-columns: auto 1fr; gap: .1em .8em; margin: 0; } dt { font-weight: 600; }
.who, .links { margin: .3em 0; font-size: .9em; } .alerts { margin: .3em 0; padding-left: 1.2em; }
.actions { display: flex; gap: .5em; margin-top: .5em; } .actions form { margin: 0; }
.reply { margin: 1em; padding: .5em 1em; border-radius: 4px; background: #e3fcef; }
.reply.error { background: #ffebe6; }
header nav { display: flex; gap: .8em; } header a { color: #fff; }
header a[aria-current] { font-weight: 700; text-decoration: none; }
main.wide { display: block; } main.wide h2 { font-size: 1.1em; }
form.filters { display: flex; flex-wrap: wrap; gap: .6em 1em; align-items: flex-end; margin-bottom: 1em; }
form.filters fieldset { border: 0; padding: 0; margin: 0; } form.filters fieldset label { margin-right: .6em; }
table.list { border-collapse: collapse; background: #fff; width: 100%; font-size: .9em; }
table.list th, table.list td { padding: .3em .5em; border-bottom: 1px solid #dfe1e6; text-align: left; }
.pages, .quick { display: flex; gap: 1em; margin: .6em 0; }
.chart { background: #fff; border-radius: 6px; padding: .5em 1em; margin-bottom: 1em; }
.chart svg { max-width: 100%; height: auto; } .chart table { font-size: .85em; }
"""


def _asset(text: str, media_type: str):
    async def handle(request: Request) -> Response:
        return Response(text, media_type=media_type, headers={"Cache-Control": "no-cache"})
    return handle


handle_board_js = _asset(BOARD_JS, "text/javascript")
handle_incident_js = _asset(INCIDENT_JS, "text/javascript")
handle_console_css = _asset(CONSOLE_CSS, "text/css")
