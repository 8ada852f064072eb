"""API tokens from the config file: each is bound to a person (acts as them) or to a role."""

from __future__ import annotations

from starlette.requests import Request

from bot.config_file import ApiTokenConfig, TocsinConfig
from bot.webhooks.auth import same, unauthorized
from storage.actors import Actor, Source


def token_actor(token: ApiTokenConfig) -> Actor:
    if token.person:
        return Actor(Source.API, token.person, token.name)
    return Actor(Source.API, token.name, token.name, granted_role=token.role)


def authenticate(request: Request, config: TocsinConfig) -> Actor:
    """The actor behind ``Authorization: Bearer <token>``; 401 when missing or unknown."""
    scheme, _, presented = request.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise unauthorized("send an API token: Authorization: Bearer <token>")
    found = None
    for token in config.api_tokens:  # compare with every token, in constant time each
        if same(presented.strip(), token.token) and found is None:
            found = token
    if found is None:
        raise unauthorized("unknown API token")
    return token_actor(found)
