"""The storefront widget's door: a publishable `widget` key, accepted only from the shop's origins,
rate-limited per key and per client.

The widget key is public (it sits in the shop's page source), so what protects shoppers is what it
may do (read recommendations and related products, write events: nothing else) and where it is
accepted from (`CUECARD_WIDGET_ORIGINS`; the browser's `Origin` header, checked server-side on top
of CORS). Host, bot and admin keys pass too (the teleprompter and tools), without the origin check.
Over the limit: 429 with `Retry-After`.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from fastapi import Depends, HTTPException, Request

from api.live.auth import AuthError, key_from, keys_of
from api.live.subscriber import TokenBucket

WIDGET_ROLES = ("widget", "host", "bot")
MAX_CLIENTS = 50_000  # client buckets kept (least recently seen dropped): a flood of addresses cannot grow memory


class WidgetLimiter:
    """Token buckets per key and per client address."""

    def __init__(self, key_per_s: float, client_per_s: float) -> None:
        self.key_per_s = key_per_s
        self.client_per_s = client_per_s
        self.keys: dict[str, TokenBucket] = {}
        self.clients: OrderedDict[str, TokenBucket] = OrderedDict()

    def admit(self, key: str, client: str, cost: float = 1.0) -> str | None:
        """None when admitted, else which limit was hit ("key" or "client")."""
        bucket = self.clients.get(client)
        if bucket is None:
            bucket = self.clients[client] = TokenBucket(self.client_per_s, 2 * self.client_per_s)
            if len(self.clients) > MAX_CLIENTS:
                self.clients.popitem(last=False)
        else:
            self.clients.move_to_end(client)
        if not bucket.take(cost):
            return "client"
        per_key = self.keys.setdefault(key, TokenBucket(self.key_per_s, 2 * self.key_per_s))
        if not per_key.take(cost):
            return "key"
        return None


def limiter_of(services: Any) -> WidgetLimiter:
    """The app's widget limiter (built on first use from the settings)."""
    found = services.extras.get("widget_limiter")
    if found is None:
        s = services.settings
        found = services.extras.setdefault("widget_limiter", WidgetLimiter(s.widget_key_per_s, s.widget_client_per_s))
    return found


def check(request: Request, cost: float = 1.0) -> str:
    """The caller's role if it may use the widget routes now; HTTPException 401/403/429 otherwise."""
    services = request.app.state.services
    key = key_from(request.headers, request.query_params)
    try:
        role = keys_of(request.app).check(key, WIDGET_ROLES)
    except AuthError as exc:
        headers = {"WWW-Authenticate": "ApiKey"} if exc.status == 401 else None
        raise HTTPException(exc.status, detail=f"{exc} (the widget needs data-key=<widget key>)", headers=headers) from None
    if role != "widget":
        return role
    origins = services.settings.widget_origins
    origin = request.headers.get("origin")
    if origins and origin not in origins:
        raise HTTPException(403, detail=f"the widget key is not accepted from origin {origin!r}; "
                                        "add the shop's origin to CUECARD_WIDGET_ORIGINS")
    client = request.client.host if request.client else "?"
    hit = limiter_of(services).admit(key or "", client, cost)
    if hit is not None:
        raise HTTPException(429, detail=f"too many widget calls from this {hit}; slow down", headers={"Retry-After": "1"})
    return role


def widget_access() -> Any:
    """A dependency admitting a widget route (recommendations, related products, events)."""

    async def dependency(request: Request) -> str:  # async: string compares and a bucket, no thread hop
        return check(request)

    return Depends(dependency)
