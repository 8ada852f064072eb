"""The served OpenAPI description matches the routes the sidecar really serves, both ways."""

from __future__ import annotations

import json
import re

from starlette.routing import Route

from bot.api.openapi import SPEC


def _served(app) -> set[tuple[str, str]]:
    served = set()
    for route in app.routes:
        assert isinstance(route, Route), route
        path = re.sub(r"\{(\w+)(:\w+)?\}", r"{\1}", route.path)
        for method in route.methods or {"GET"}:
            if method != "HEAD":
                served.add((path, method.lower()))
    return served


async def test_every_served_route_is_described_and_every_description_is_served(http):
    spec = (await http.get("/api/openapi.json")).json()
    assert spec == SPEC and spec["openapi"].startswith("3.")
    described = {(path, method) for path, item in spec["paths"].items() for method in item}
    served = _served(http._transport.app)
    assert served - described == set(), "routes missing from the OpenAPI description"
    assert described - served == set(), "described routes that the app does not serve"


async def test_every_reference_resolves(http):
    spec = (await http.get("/api/openapi.json")).json()
    refs = set(re.findall(r'"\$ref": "#/components/schemas/(\w+)"', json.dumps(spec)))
    assert refs and refs <= set(spec["components"]["schemas"])


async def test_described_error_statuses_include_what_the_api_answers(http, as_token):
    spec = (await http.get("/api/openapi.json")).json()
    unauth = await http.get("/api/incidents")
    assert str(unauth.status_code) in spec["paths"]["/api/incidents"]["get"]["responses"]
    missing = await http.get("/api/incidents/5", headers=as_token("observer"))
    assert str(missing.status_code) in spec["paths"]["/api/incidents/{number}"]["get"]["responses"]
