"""`create_app()`: the FastAPI app, with a lifespan that owns every resource."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api import errors
from api.routes import (
    events,
    health,
    intents,
    kb,
    knowledge,  # issue 11: knowledge gaps
    live,
    pages,
    products,
    recommendations,
    review,
    rooms,
    shoppers,  # issue 15
    tickets,  # issue 13
)
from api.services import Services, build_services
from api.settings import Settings
from knowledge.embedder import Embedder


def create_app(settings: Settings | None = None, embedder: Embedder | None = None) -> FastAPI:
    """Build the app; settings are read here (never at import), resources in the lifespan."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services: Services = build_services(settings, embedder=embedder)
        app.state.services = services
        live_hub = services.live
        if live_hub is not None and hasattr(live_hub, "start"):
            await live_hub.start()
        try:
            yield
        finally:
            if live_hub is not None and hasattr(live_hub, "stop"):
                await live_hub.stop()
            services.close()

    # body limits are enforced while the body streams in, so a chunked upload without Content-Length
    # is cut off at the limit too (413) instead of being read whole
    app = FastAPI(title="CueCard", version="0.1.0", lifespan=lifespan, max_body_size=settings.max_request_bytes,
                  description="Copilot for live-stream commerce: teleprompter cards, bot answers, cross-sell.")
    app.state.settings = settings
    app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"],
                       allow_headers=["*"])
    errors.install(app)
    for module in (health, intents, kb, products, recommendations, live, pages, review, events, shoppers, tickets,
                   knowledge):
        app.include_router(module.router)
    # comments arrive in batches the size of a live frame: the rooms routes take no more
    app.include_router(rooms.router, max_body_size=settings.max_message_bytes)
    return app
