"""`Annotated` dependency aliases for routes.

The getters are `async def` on purpose: FastAPI runs a plain `def` dependency in a worker thread,
a thread hop per request for what is an attribute read.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.services import Services
from api.settings import Settings
from knowledge.store import Store


async def get_services(request: Request) -> Services:
    """The running app's services (built by the lifespan)."""
    return request.app.state.services


async def get_store(request: Request) -> Store:
    """The running app's store."""
    return request.app.state.services.store


async def get_settings(request: Request) -> Settings:
    """The running app's settings."""
    return request.app.state.services.settings


ServicesDep = Annotated[Services, Depends(get_services)]
StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
