"""API keys per role (ingest, host, bot, admin, widget), checked on every REST call and WebSocket connect.

Keys come from `Settings` (`CUECARD_API_KEY_INGEST`, …). A role whose key is not set gets a random
one at start-up (printed by `cuecard serve`), so a server never runs open by accident. The admin key
opens every door. A key is read from the `X-API-Key` header, `Authorization: Bearer <key>`, or the
`key` query parameter (browsers cannot set headers on a WebSocket).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from typing import Any

from fastapi import Depends, HTTPException, Request, WebSocket

from knowledge.errors import CueCardError

ROLES = ("ingest", "host", "bot", "admin", "widget")  # widget: publishable, see api/widget_gate.py


class AuthError(CueCardError):
    """A missing or wrong key (401), or a key whose role may not do this (403)."""

    def __init__(self, reason: str, status: int = 401) -> None:
        super().__init__(reason)
        self.status = status


class ApiKeys:
    """The key of each role, compared in constant time."""

    def __init__(self, keys: Mapping[str, str]) -> None:
        self.keys = dict(keys)

    @classmethod
    def from_settings(cls, settings: Any) -> ApiKeys:
        """Keys from the settings; a role without one gets a fresh random key."""
        return cls({role: getattr(settings, f"api_key_{role}", None) or f"{role}-{secrets.token_urlsafe(12)}"
                    for role in ROLES})

    def role_of(self, key: str | None) -> str | None:
        """The role a key belongs to, or None."""
        if not key:
            return None
        for role, expected in self.keys.items():
            if hmac.compare_digest(key.encode(), expected.encode()):
                return role
        return None

    def check(self, key: str | None, allowed: tuple[str, ...]) -> str:
        """The key's role if it may act as one of `allowed` (admin always may); else AuthError."""
        role = self.role_of(key)
        if role is None:
            raise AuthError("missing API key" if not key else "wrong API key", 401)
        if role != "admin" and role not in allowed:
            raise AuthError(f"a {role} key cannot do this; it needs one of: {', '.join(allowed)}", 403)
        return role


def key_from(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The API key a request or WebSocket carries."""
    key = headers.get("x-api-key")
    if key:
        return key
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return query.get("key") or None


def keys_of(app: Any) -> ApiKeys:
    """The running app's keys (built by the lifespan with the live hub)."""
    services = app.state.services
    auth = getattr(services.live, "auth", None) if services.live is not None else None
    if auth is None:
        auth = services.extras.setdefault("api_keys", ApiKeys.from_settings(services.settings))
    return auth


def require(*allowed: str) -> Any:
    """A dependency that admits a REST call only with a key of one of `allowed` roles (or admin)."""

    async def dependency(request: Request) -> str:  # async: a few string compares, no thread hop
        try:
            return keys_of(request.app).check(key_from(request.headers, request.query_params), allowed)
        except AuthError as exc:
            headers = {"WWW-Authenticate": "ApiKey"} if exc.status == 401 else None
            raise HTTPException(exc.status, detail=str(exc), headers=headers) from None

    return Depends(dependency)


def check_ws(ws: WebSocket, *allowed: str) -> str:
    """The role of a WebSocket's key, or AuthError (the caller closes with 4401/4403)."""
    return keys_of(ws.app).check(key_from(ws.headers, ws.query_params), allowed)
