"""A small client of Alertmanager's API v2: the firing alerts a set of matchers selects, silences.

Only what silencing from chat needs: ``GET /api/v2/alerts``, ``POST /api/v2/silences``,
``DELETE /api/v2/silence/{id}``. Credentials come from the integration's config and never reach a log line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from storage.errors import TocsinError


class AlertmanagerUnavailable(TocsinError):
    """Alertmanager could not be reached or refused the request; nothing was changed there."""

    status = 502


@dataclass(frozen=True)
class Matcher:
    name: str
    value: str

    def document(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "isRegex": False, "isEqual": True}


class AlertmanagerClient:
    def __init__(self, url: str, token: str | None = None, username: str | None = None,
                 password: str | None = None, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._auth = httpx.BasicAuth(username, password) if username and password else None
        self.timeout = timeout

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            async with httpx.AsyncClient(timeout=self.timeout, headers=self._headers, auth=self._auth) as http:
                response = await http.request(method, f"{self.url}{path}", **kwargs)
        except httpx.HTTPError as exc:
            raise AlertmanagerUnavailable(
                f"Alertmanager at {self.url} could not be reached ({type(exc).__name__}); nothing was changed, "
                "try again in a moment or silence it in Alertmanager itself") from None
        if response.status_code >= 300:
            raise AlertmanagerUnavailable(
                f"Alertmanager at {self.url} answered {response.status_code} to {method} {path}: "
                f"{response.text[:200].strip()}")
        return response

    async def firing(self, matchers: list[Matcher]) -> list[Mapping[str, Any]]:
        """The active (not silenced, not inhibited) alerts that ``matchers`` select."""
        params = [("filter", f'{m.name}="{m.value}"') for m in matchers]
        params += [("active", "true"), ("silenced", "false"), ("inhibited", "false")]
        return (await self._call("GET", "/api/v2/alerts", params=params)).json()

    async def create_silence(self, matchers: list[Matcher], starts: datetime, ends: datetime, created_by: str,
                             comment: str) -> str:
        body = {"matchers": [m.document() for m in matchers], "startsAt": _iso(starts), "endsAt": _iso(ends),
                "createdBy": created_by, "comment": comment}
        return (await self._call("POST", "/api/v2/silences", json=body)).json()["silenceID"]

    async def expire_silence(self, silence_id: str) -> None:
        await self._call("DELETE", f"/api/v2/silence/{silence_id}")


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")
