"""Products: create, list, read, change and delete; each change re-indexes the product's facts at once.

Price and stock changes are read live by the answerer; attribute, title and description changes
re-embed that product's facts and documents (its title is part of what finds them).
Reading takes a host or bot key; writing takes a host key.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from api.deps import ServicesDep
from api.live.auth import require
from knowledge.errors import ConflictError, ModelLoadError, NotFoundError
from knowledge.kb import KnowledgeBase

router = APIRouter(tags=["products"])


class ProductCreate(BaseModel):
    """A new product."""

    id: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=512)
    category: str = ""
    brand: str = ""
    price: float = Field(0.0, ge=0)
    stock: int = Field(0, ge=0)
    attributes: dict[str, Any] = {}
    description: str = ""
    consumable: bool = False


class ProductUpdate(BaseModel):
    """Fields to change on a product; those left out keep their value."""

    title: str | None = Field(None, min_length=1, max_length=512)
    category: str | None = None
    brand: str | None = None
    price: float | None = Field(None, ge=0)
    stock: int | None = Field(None, ge=0)
    attributes: dict[str, Any] | None = None
    description: str | None = None
    consumable: bool | None = None


class ProductPublic(ProductCreate):
    """A product as the API shows it."""

    updated_at: float


def _kb(services: Any) -> KnowledgeBase:
    if services.kb is None:
        raise ModelLoadError("the knowledge base is not loaded")
    return services.kb


@router.get("/products", response_model=list[ProductPublic], dependencies=[require("host", "bot")])
def list_products(services: ServicesDep, category: str | None = None,
                  q: Annotated[str | None, Query(max_length=100)] = None) -> list[dict[str, Any]]:
    """Every product, by id; optionally of one category, or whose title, brand or id contains `q`."""
    items = services.store.list_products()
    needle = q.strip().lower() if q else ""
    return [p for p in items if (category is None or p["category"] == category)
            and (not needle or needle in f"{p['id']} {p['title']} {p['brand']}".lower())]


@router.post("/products", response_model=ProductPublic, status_code=201, dependencies=[require("host")])
def create_product(body: ProductCreate, services: ServicesDep) -> dict[str, Any]:
    """Create a product (409 if the id is taken); its attributes become searchable facts."""
    try:
        services.store.get_product(body.id)
    except NotFoundError:
        _kb(services).upsert_products([body.model_dump()])
        return services.store.get_product(body.id)
    raise ConflictError(f"product {body.id!r} already exists; PATCH it or choose another id")


@router.get("/products/{product_id}", response_model=ProductPublic, dependencies=[require("host", "bot")])
def get_product(product_id: str, services: ServicesDep) -> dict[str, Any]:
    """One product."""
    return services.store.get_product(product_id)


@router.patch("/products/{product_id}", response_model=ProductPublic, dependencies=[require("host")])
def update_product(product_id: str, body: ProductUpdate, services: ServicesDep) -> dict[str, Any]:
    """Change a product; its facts are re-indexed before this returns."""
    return _kb(services).update_product(product_id, **body.model_dump(exclude_unset=True))


@router.delete("/products/{product_id}", status_code=204, dependencies=[require("host")])
def delete_product(product_id: str, services: ServicesDep) -> Response:
    """Delete a product and its facts."""
    _kb(services).delete_product(product_id)
    return Response(status_code=204)
