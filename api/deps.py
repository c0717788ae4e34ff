"""`Annotated` dependency aliases for routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.services import Services
from api.settings import Settings
from knowledge.store import Store


def get_services(request: Request) -> Services:
    """The running app's services (built by the lifespan)."""
    return request.app.state.services


def get_store(request: Request) -> Store:
    """The running app's store."""
    return request.app.state.services.store


def get_settings(request: Request) -> Settings:
    """The running app's settings."""
    return request.app.state.services.settings


ServicesDep = Annotated[Services, Depends(get_services)]
StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
