"""Query parameters the database cannot take are the client's mistake: 400 naming the parameter, never 503."""

from __future__ import annotations

import pytest

BAD = [
    ("/api/incidents", "offset", str(2**63)),
    ("/api/incidents", "offset", str(10**30)),
    ("/api/incidents", "team", "pay\x00ments"),
    ("/api/incidents", "service", "check\x00out"),
    ("/api/notifications", "offset", str(2**63)),
    ("/api/notifications", "person", "a\x00b@example.com"),
    ("/api/notifications", "incident", str(2**31)),
    ("/api/alerts", "incident", str(2**31)),
    ("/api/alerts", "incident", "9" * 30),
    ("/api/metrics", "team", "pay\x00ments"),
    ("/api/incidents", "limit", "\u00b2"),  # '²'.isdigit(), but int('²') raises: it was a 500
    ("/api/incidents", "offset", ""),
    ("/api/alerts", "incident", "0"),
    ("/api/notifications", "incident", "-1"),
]


@pytest.mark.parametrize(("path", "name", "value"), BAD, ids=lambda v: str(v)[:24])
async def test_a_parameter_the_database_cannot_take_gets_400_naming_it(http, as_token, path, name, value):
    response = await http.get(path, params={name: value}, headers=as_token("observer"))
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_input" and response.json()["detail"].startswith(f"{name}:")


async def test_a_path_number_in_other_digits_names_no_incident(http, as_token):
    response = await http.get("/api/incidents/\u00b2", headers=as_token("observer"))
    assert response.status_code == 404 and response.json()["error"] == "not_found"


async def test_an_email_of_nobody_is_404_naming_the_person_parameter(http, as_token):
    response = await http.get("/api/notifications", params={"person": "nobody@example.com"},
                              headers=as_token("observer"))
    assert response.status_code == 404 and response.json()["detail"].startswith("person:")


async def test_the_largest_offset_and_incident_are_answered(http, as_token):
    observer = as_token("observer")
    page = await http.get("/api/incidents", params={"offset": str(2**63 - 1)}, headers=observer)
    assert page.status_code == 200 and page.json()["incidents"] == []
    alerts = await http.get("/api/alerts", params={"incident": str(2**31 - 1)}, headers=observer)
    assert alerts.status_code == 200 and alerts.json()["alerts"] == []
    sent = await http.get("/api/notifications", params={"incident": str(2**31 - 1), "offset": str(2**63 - 1)},
                          headers=observer)
    assert sent.status_code == 200 and sent.json()["notifications"] == []


@pytest.mark.parametrize(("field", "limit"), [("service", 200), ("dedup_key", 500)])
async def test_a_declared_field_longer_than_its_column_is_400_naming_it(http, as_token, field, limit):
    body = {"title": "Checkout 500s", "team": "payments", field: "x" * (limit + 1)}
    response = await http.post("/api/incidents", json=body, headers=as_token("responder"))
    assert response.status_code == 400, response.text
    assert response.json()["detail"] == f"{field}: at most {limit} characters"
    body[field] = "x" * limit
    assert (await http.post("/api/incidents", json=body, headers=as_token("responder"))).status_code == 201
