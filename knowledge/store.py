"""The embedded database: SQLite by default (WAL mode), any SQLAlchemy 2 URL (PostgreSQL) unchanged.

Tables: rooms, products, kb_documents, comments, purchases, model_versions, and schema_version.
Comments are idempotent on (room_id, platform, comment_id): a replayed comment is never stored
twice and keeps its first sequence number. The schema is versioned by Alembic
(`knowledge/migrations/`); `Store.migrate()` runs `upgrade heads` at start-up.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection

from knowledge.errors import InvalidInputError, NotFoundError

SCHEMA_VERSION = 1

metadata = MetaData()

rooms = Table(
    "rooms",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("title", String(256), nullable=False, default=""),
    Column("platform", String(32), nullable=False, default="douyin"),
    Column("lineup", JSON, nullable=False, default=list),  # product ids in link order: "1号链接" = lineup[0]
    Column("on_stage", String(64), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

products = Table(
    "products",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("title", String(512), nullable=False),
    Column("category", String(64), nullable=False, default=""),
    Column("brand", String(128), nullable=False, default=""),
    Column("price", Float, nullable=False, default=0.0),
    Column("stock", Integer, nullable=False, default=0),
    Column("attributes", JSON, nullable=False, default=dict),
    Column("description", Text, nullable=False, default=""),
    Column("consumable", Boolean, nullable=False, default=False),
    Column("updated_at", Float, nullable=False),
)

kb_documents = Table(
    "kb_documents",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("kind", String(32), nullable=False),  # product_fact | faq | policy | talking_point
    Column("product_id", String(64), nullable=True, index=True),
    Column("title", String(512), nullable=False, default=""),
    Column("text", Text, nullable=False),
    Column("tags", JSON, nullable=False, default=list),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

comments = Table(
    "comments",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("room_id", String(64), nullable=False, index=True),
    Column("platform", String(32), nullable=False),
    Column("comment_id", String(128), nullable=False),
    Column("user_id", String(128), nullable=False, default=""),
    Column("text", Text, nullable=False),
    Column("ts", Float, nullable=False),
    Column("received_at", Float, nullable=False),
    Column("analysis", JSON, nullable=True),  # intents, product, group: filled once understood
    UniqueConstraint("room_id", "platform", "comment_id", name="uq_comment_identity"),
)

purchases = Table(
    "purchases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", String(128), nullable=False, index=True),
    Column("item_id", String(64), nullable=False, index=True),
    Column("basket_id", String(128), nullable=True),
    Column("order_no", Integer, nullable=True),
    Column("ts", Float, nullable=True),
    Column("quantity", Float, nullable=False, default=1.0),
    Column("room_id", String(64), nullable=True),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(64), nullable=False, index=True),  # intent_head | kb_index | recommender
    Column("version", String(64), nullable=False),
    Column("path", String(1024), nullable=False),
    Column("metrics", JSON, nullable=False, default=dict),
    Column("active", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("kind", "version", name="uq_model_version"),
)

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", Float, nullable=False),
)


def _v1(conn: Connection) -> None:
    metadata.create_all(conn)


# Each step takes the schema from version i to i+1; append, never edit, once released.
MIGRATIONS: list[Callable[[Connection], None]] = [_v1]


@dataclass(frozen=True)
class CommentIn:
    """A live comment as a platform connector sends it."""

    comment_id: str
    text: str
    user_id: str = ""
    ts: float = 0.0
    platform: str = "douyin"


@dataclass(frozen=True)
class StoredComment:
    """A comment as stored, with its room-wide sequence number."""

    seq: int
    room_id: str
    platform: str
    comment_id: str
    user_id: str
    text: str
    ts: float
    inserted: bool  # False when this call found it already stored (a replay)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _row(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


class Store:
    """All persistent state behind one object; thread-safe (one connection per call)."""

    def __init__(self, url: str, echo: bool = False) -> None:
        self.url = url
        # pre-ping: after a PostgreSQL restart, stale pooled connections are replaced, not handed out
        self.engine: Engine = create_engine(url, echo=echo, future=True,
                                            pool_pre_ping=not url.startswith("sqlite"))
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.migrate()

    # ---- schema ----
    def migrate(self) -> int:
        """Apply every missing Alembic revision (`upgrade heads`); return the schema version in force."""
        from knowledge.migrations.runner import upgrade

        upgrade(self.engine)
        return self.schema_version()

    def schema_version(self) -> int:
        """The schema version recorded in the database."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.max(schema_version.c.version))).scalar() or 0)

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    def _insert(self, table: Table) -> Any:
        """A dialect insert that supports ON CONFLICT (SQLite and PostgreSQL share the syntax)."""
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
        return dialect_insert(table)

    # ---- rooms ----
    def upsert_room(
        self, room_id: str, title: str = "", platform: str = "douyin",
        lineup: Sequence[str] | None = None, on_stage: str | None = None,
    ) -> dict[str, Any]:
        """Create a room or replace its title, platform, line-up and product on stage."""
        now = time.time()
        values = {"title": title, "platform": platform, "lineup": list(lineup or []),
                  "on_stage": on_stage, "updated_at": now}
        stmt = self._insert(rooms).values(id=room_id, created_at=now, **values)
        stmt = stmt.on_conflict_do_update(index_elements=[rooms.c.id], set_=values)
        with self.engine.begin() as conn:
            conn.execute(stmt)
        return self.get_room(room_id)

    def update_room(self, room_id: str, **changes: Any) -> dict[str, Any]:
        """Change some fields of a room (e.g. `on_stage`, `lineup`)."""
        allowed = {"title", "platform", "lineup", "on_stage"}
        unknown = set(changes) - allowed
        if unknown:
            raise InvalidInputError(f"unknown room fields: {sorted(unknown)}")
        with self.engine.begin() as conn:
            result = conn.execute(update(rooms).where(rooms.c.id == room_id)
                                  .values(updated_at=time.time(), **changes))
            if result.rowcount == 0:
                raise NotFoundError(f"room {room_id!r} does not exist")
        return self.get_room(room_id)

    def get_room(self, room_id: str) -> dict[str, Any]:
        """One room, or NotFoundError."""
        with self.engine.connect() as conn:
            row = conn.execute(select(rooms).where(rooms.c.id == room_id)).first()
        if row is None:
            raise NotFoundError(f"room {room_id!r} does not exist")
        return _row(row)

    def list_rooms(self) -> list[dict[str, Any]]:
        """Every room, oldest first."""
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(select(rooms).order_by(rooms.c.created_at))]

    # ---- products ----
    def upsert_products(self, items: Iterable[dict[str, Any]]) -> int:
        """Insert or replace products (dicts with at least `id` and `title`); return how many."""
        now = time.time()
        rows = []
        for item in items:
            if not item.get("id") or not item.get("title"):
                raise InvalidInputError(f"a product needs an 'id' and a 'title': {item!r}"[:300])
            rows.append({
                "id": str(item["id"]), "title": str(item["title"]),
                "category": str(item.get("category") or ""), "brand": str(item.get("brand") or ""),
                "price": float(item.get("price") or 0.0), "stock": int(item.get("stock") or 0),
                "attributes": dict(item.get("attributes") or {}),
                "description": str(item.get("description") or ""),
                "consumable": bool(item.get("consumable", False)), "updated_at": now,
            })
        if not rows:
            return 0
        stmt = self._insert(products)
        stmt = stmt.on_conflict_do_update(
            index_elements=[products.c.id],
            set_={c: stmt.excluded[c] for c in rows[0] if c != "id"},
        )
        with self.engine.begin() as conn:
            conn.execute(stmt, rows)
        return len(rows)

    def get_product(self, product_id: str) -> dict[str, Any]:
        """One product, or NotFoundError."""
        with self.engine.connect() as conn:
            row = conn.execute(select(products).where(products.c.id == product_id)).first()
        if row is None:
            raise NotFoundError(f"product {product_id!r} does not exist")
        return _row(row)

    def list_products(self, ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Every product (or those with the given ids), by id."""
        stmt = select(products).order_by(products.c.id)
        if ids is not None:
            stmt = stmt.where(products.c.id.in_(list(ids)))
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(stmt)]

    def update_product(self, product_id: str, **changes: Any) -> dict[str, Any]:
        """Change some fields of a product (price, stock, attributes…)."""
        allowed = {c.name for c in products.columns} - {"id", "updated_at"}
        unknown = set(changes) - allowed
        if unknown:
            raise InvalidInputError(f"unknown product fields: {sorted(unknown)}")
        with self.engine.begin() as conn:
            result = conn.execute(update(products).where(products.c.id == product_id)
                                  .values(updated_at=time.time(), **changes))
            if result.rowcount == 0:
                raise NotFoundError(f"product {product_id!r} does not exist")
        return self.get_product(product_id)

    def delete_product(self, product_id: str) -> None:
        """Remove a product, or NotFoundError."""
        with self.engine.begin() as conn:
            if conn.execute(delete(products).where(products.c.id == product_id)).rowcount == 0:
                raise NotFoundError(f"product {product_id!r} does not exist")

    def count_products(self) -> int:
        """How many products are stored."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(products)).scalar() or 0)

    # ---- knowledge documents ----
    def upsert_documents(self, docs: Iterable[dict[str, Any]]) -> int:
        """Insert or replace knowledge documents (`id`, `kind`, `text`, …); return how many."""
        now = time.time()
        rows = []
        for doc in docs:
            if not doc.get("id") or not doc.get("kind") or not str(doc.get("text") or "").strip():
                raise InvalidInputError(f"a document needs 'id', 'kind' and a non-empty 'text': {doc!r}"[:300])
            rows.append({
                "id": str(doc["id"]), "kind": str(doc["kind"]),
                "product_id": (str(doc["product_id"]) if doc.get("product_id") else None),
                "title": str(doc.get("title") or ""), "text": str(doc["text"]),
                "tags": list(doc.get("tags") or []), "created_at": now, "updated_at": now,
            })
        if not rows:
            return 0
        stmt = self._insert(kb_documents)
        stmt = stmt.on_conflict_do_update(
            index_elements=[kb_documents.c.id],
            set_={c: stmt.excluded[c] for c in rows[0] if c not in ("id", "created_at")},
        )
        with self.engine.begin() as conn:
            conn.execute(stmt, rows)
        return len(rows)

    def get_document(self, doc_id: str) -> dict[str, Any]:
        """One knowledge document, or NotFoundError."""
        with self.engine.connect() as conn:
            row = conn.execute(select(kb_documents).where(kb_documents.c.id == doc_id)).first()
        if row is None:
            raise NotFoundError(f"document {doc_id!r} does not exist")
        return _row(row)

    def list_documents(self, kind: str | None = None, product_id: str | None = None) -> list[dict[str, Any]]:
        """Knowledge documents, optionally of one kind or about one product."""
        stmt = select(kb_documents).order_by(kb_documents.c.id)
        if kind:
            stmt = stmt.where(kb_documents.c.kind == kind)
        if product_id:
            stmt = stmt.where(kb_documents.c.product_id == product_id)
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(stmt)]

    def delete_document(self, doc_id: str) -> None:
        """Remove a document, or NotFoundError."""
        with self.engine.begin() as conn:
            if conn.execute(delete(kb_documents).where(kb_documents.c.id == doc_id)).rowcount == 0:
                raise NotFoundError(f"document {doc_id!r} does not exist")

    # ---- comments ----
    def add_comments(self, room_id: str, items: Sequence[CommentIn]) -> list[StoredComment]:
        """Store comments once each (idempotent on room, platform and comment id), in one transaction.

        Returns one `StoredComment` per input, in input order, with `inserted=False` for replays.
        """
        if not items:
            return []
        now = time.time()
        rows = [{"room_id": room_id, "platform": c.platform, "comment_id": c.comment_id,
                 "user_id": c.user_id, "text": c.text, "ts": c.ts or now, "received_at": now}
                for c in items]
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                # Two instances ingesting into one room: the second waits until the first commits, so
                # seq order is commit order in each room and a reader at `since=` never skips a row
                # that commits later with a lower seq. (SQLite has one writer at a time anyway.)
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:room))"), {"room": room_id})
            before = conn.execute(select(func.max(comments.c.seq))).scalar() or 0
            stmt = self._insert(comments).on_conflict_do_nothing(
                index_elements=["room_id", "platform", "comment_id"])
            conn.execute(stmt, rows)
            keys = {(c.platform, c.comment_id) for c in items}
            found = conn.execute(
                select(comments.c.seq, comments.c.platform, comments.c.comment_id, comments.c.user_id,
                       comments.c.text, comments.c.ts)
                .where(comments.c.room_id == room_id)
                .where(comments.c.comment_id.in_([k[1] for k in keys]))
            ).all()
        by_key = {(r.platform, r.comment_id): r for r in found}
        out: list[StoredComment] = []
        seen: set[tuple[str, str]] = set()
        for c in items:
            r = by_key[(c.platform, c.comment_id)]
            key = (c.platform, c.comment_id)
            out.append(StoredComment(seq=r.seq, room_id=room_id, platform=r.platform, comment_id=r.comment_id,
                                     user_id=r.user_id, text=r.text, ts=r.ts,
                                     inserted=r.seq > before and key not in seen))
            seen.add(key)
        return out

    def set_comment_analysis(self, analyses: Sequence[tuple[int, dict[str, Any]]]) -> None:
        """Record what the pipeline understood of comments, by sequence number."""
        if not analyses:
            return
        # One executemany: a live room records ~1,000 analyses a second, and a statement per row
        # was the single biggest cost of the server's write thread.
        stmt = update(comments).where(comments.c.seq == bindparam("_seq")).values(analysis=bindparam("_analysis"))
        with self.engine.begin() as conn:
            conn.execute(stmt, [{"_seq": seq, "_analysis": analysis} for seq, analysis in analyses])

    def comments_since(self, room_id: str, since_seq: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        """A room's comments with a sequence number above `since_seq`, oldest first."""
        stmt = (select(comments).where(comments.c.room_id == room_id).where(comments.c.seq > since_seq)
                .order_by(comments.c.seq).limit(limit))
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(stmt)]

    def count_comments(self, room_id: str | None = None) -> int:
        """How many comments are stored (in one room, or in all)."""
        stmt = select(func.count()).select_from(comments)
        if room_id:
            stmt = stmt.where(comments.c.room_id == room_id)
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar() or 0)

    def last_comment_seq(self, room_id: str) -> int:
        """The highest sequence number stored in a room (0 when it has no comments)."""
        stmt = select(func.max(comments.c.seq)).where(comments.c.room_id == room_id)
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar() or 0)

    # ---- purchases ----
    def add_purchases(self, items: Iterable[dict[str, Any]]) -> int:
        """Append purchases (`user_id`, `item_id`, optional basket, order number, time, quantity)."""
        rows = []
        for p in items:
            if not p.get("user_id") or not p.get("item_id"):
                raise InvalidInputError(f"a purchase needs 'user_id' and 'item_id': {p!r}"[:300])
            qty = float(p.get("quantity", 1.0))
            if qty <= 0:
                raise InvalidInputError(f"a purchase quantity must be positive, got {qty}")
            rows.append({"user_id": str(p["user_id"]), "item_id": str(p["item_id"]),
                         "basket_id": (str(p["basket_id"]) if p.get("basket_id") is not None else None),
                         "order_no": p.get("order_no"), "ts": p.get("ts"), "quantity": qty,
                         "room_id": p.get("room_id")})
        if not rows:
            return 0
        with self.engine.begin() as conn:
            conn.execute(insert(purchases), rows)
        return len(rows)

    def list_purchases(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Purchases in insertion order (one user's, or all)."""
        stmt = select(purchases).order_by(purchases.c.id)
        if user_id:
            stmt = stmt.where(purchases.c.user_id == user_id)
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(stmt)]

    def count_purchases(self) -> int:
        """How many purchase lines are stored."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(purchases)).scalar() or 0)

    # ---- model versions ----
    def record_model(self, kind: str, version: str, path: str, metrics: dict[str, Any] | None = None,
                     activate: bool = True) -> dict[str, Any]:
        """Record a trained model's version; with `activate`, it becomes the one in use for its kind."""
        with self.engine.begin() as conn:
            if activate:
                conn.execute(update(model_versions).where(model_versions.c.kind == kind).values(active=False))
            conn.execute(insert(model_versions).values(kind=kind, version=version, path=path,
                                                       metrics=metrics or {}, active=activate,
                                                       created_at=time.time()))
        active = self.active_model(kind) if activate else None
        return active or {"kind": kind, "version": version, "path": path}

    def active_model(self, kind: str) -> dict[str, Any] | None:
        """The model version in use for `kind`, or None."""
        stmt = (select(model_versions).where(model_versions.c.kind == kind)
                .where(model_versions.c.active.is_(True)).order_by(model_versions.c.id.desc()))
        with self.engine.connect() as conn:
            row = conn.execute(stmt).first()
        return _row(row) if row else None

    def list_models(self) -> list[dict[str, Any]]:
        """Every recorded model version, newest first."""
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(select(model_versions).order_by(model_versions.c.id.desc()))]
