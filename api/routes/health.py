"""`/health`: which model, store and versions are loaded."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(services: ServicesDep) -> dict[str, Any]:
    """Report that the service is up and what it has loaded."""
    return {"status": "ok", **services.versions()}
