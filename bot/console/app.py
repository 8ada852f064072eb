"""The console's routes and components, as the composition root wires them."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.routing import Route

from bot.console import assets, demo, incident, lists, notifications, routes, stats
from bot.console.feed import Feed
from bot.container import Container
from bot.surface import Surface
from bot.sweep import INTERVAL, CardSweeper


@dataclass(frozen=True)
class Console:
    """What the composition root wires: ``feed`` on the change bus, ``surface`` served and started."""

    feed: Feed
    surface: Surface


def make_console(container: Container, sweep_interval: float = INTERVAL) -> Console:
    """The console's routes, and its sweeper catching up with changes made by other processes."""
    feed = Feed(container.db, container.queries, container.clock)
    paths = [
        Route("/", routes.handle_board, methods=["GET"]),
        Route("/signin", routes.handle_sign_in_page, methods=["GET"]),
        Route("/login/{token}", routes.handle_login_page, methods=["GET"]),
        Route("/login", routes.handle_login, methods=["POST"]),
        Route("/signout", routes.handle_sign_out, methods=["POST"]),
        Route("/incidents", lists.handle_list, methods=["GET"]),
        Route("/stats", stats.handle_stats, methods=["GET"]),
        Route("/incidents/{number:int}", incident.handle_page, methods=["GET"]),
        Route("/incidents/{number:int}/live", incident.handle_live, methods=["GET"]),
        Route("/incidents/{number:int}/events", routes.handle_events(feed), methods=["GET"]),
        Route("/incidents/{number:int}/command", incident.handle_command, methods=["POST"]),
        Route("/incidents/{number:int}/silence", incident.handle_silence, methods=["POST"]),
        Route("/incidents/{number:int}/{action}", incident.handle_action, methods=["POST"]),
        Route("/events", routes.handle_events(feed), methods=["GET"]),
        Route("/notifications", notifications.handle_notifications, methods=["GET"]),
        Route("/demo", demo.handle_load, methods=["POST"]),
        Route("/console/board.js", assets.handle_board_js, methods=["GET"]),
        Route("/console/incident.js", assets.handle_incident_js, methods=["GET"]),
        Route("/console/console.css", assets.handle_console_css, methods=["GET"]),
    ]
    sweeper = CardSweeper(feed, container.db, sweep_interval, name="console card")
    status = f"on ({container.settings.console_url.rstrip('/')}/; `tocsin login-link EMAIL` prints a sign-in link)"
    return Console(feed, Surface("console", status, routes=paths, components=[sweeper]))
