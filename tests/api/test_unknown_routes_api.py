"""Unknown paths and wrong methods under /api/ answer JSON {error, detail}; other paths keep plain text."""

from __future__ import annotations

import pytest

from bot.api.openapi import SPEC

UNDESCRIBED = ("get", "post", "put", "patch", "delete")


@pytest.mark.parametrize("method, path", [("GET", "/api/nope"), ("POST", "/api/incidents/1/frobnicate"),
                                          ("GET", "/api"), ("DELETE", "/api/incidents/1/notes/2")])
async def test_an_unknown_api_path_is_a_json_404_pointing_at_the_route_list(http, as_token, method, path):
    response = await http.request(method, path, headers=as_token("admin"))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error"] == "not_found"
    assert path in body["detail"] and "GET /api/openapi.json" in body["detail"]


async def test_an_unknown_api_path_is_404_without_a_token_too(http):
    response = await http.get("/api/nope")
    assert (response.status_code, response.json()["error"]) == (404, "not_found")


async def test_a_wrong_method_is_a_json_405_allowing_every_method_the_path_serves(http, as_token):
    response = await http.delete("/api/incidents", headers=as_token("admin"))
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"
    assert response.json() == {"error": "method_not_allowed",
                               "detail": "/api/incidents does not allow DELETE; it allows GET, HEAD, POST"}


async def test_every_described_api_path_refuses_other_methods_naming_the_described_ones(http):
    for path, item in SPEC["paths"].items():
        if not path.startswith("/api/"):
            continue
        concrete = path.replace("{number}", "1")
        described = {m.upper() for m in item} | ({"HEAD"} if "get" in item else set())
        for method in set(UNDESCRIBED) - set(item):
            response = await http.request(method.upper(), concrete)
            assert response.status_code == 405, (method, path)
            assert set(response.headers["allow"].split(", ")) == described, (method, path)
            assert response.json()["error"] == "method_not_allowed"


async def test_paths_outside_the_api_and_the_webhooks_keep_their_plain_answers(http):
    missing = await http.get("/nope")
    assert (missing.status_code, missing.text) == (404, "Not Found")
    wrong = await http.post("/healthz")
    assert (wrong.status_code, wrong.text) == (405, "Method Not Allowed")
