"""Store: idempotent comments, versioned schema, WAL mode, CRUD and a PostgreSQL-compatible schema."""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, CreateTable

from knowledge.errors import InvalidInputError, NotFoundError
from knowledge.store import MIGRATIONS, CommentIn, Store, metadata


def test_replayed_comment_is_stored_once_and_keeps_its_seq(store: Store) -> None:
    """The same (room, platform, comment id) twice is one row with one sequence number."""
    first = store.add_comments("r1", [CommentIn("c1", "多少钱"), CommentIn("c2", "包邮吗")])
    again = store.add_comments("r1", [CommentIn("c1", "多少钱"), CommentIn("c3", "链接")])
    assert [c.inserted for c in first] == [True, True]
    assert [c.inserted for c in again] == [False, True]
    assert again[0].seq == first[0].seq
    assert store.count_comments("r1") == 3


def test_duplicate_within_one_batch_is_stored_once(store: Store) -> None:
    """A batch that repeats a comment stores it once and reports the repeat as not inserted."""
    out = store.add_comments("r1", [CommentIn("c1", "a"), CommentIn("c1", "a")])
    assert [c.inserted for c in out] == [True, False]
    assert out[0].seq == out[1].seq
    assert store.count_comments() == 1


def test_same_comment_id_in_other_room_or_platform_is_distinct(store: Store) -> None:
    """Identity is the triple, so other rooms and platforms keep their own comment."""
    store.add_comments("r1", [CommentIn("c1", "a", platform="douyin")])
    store.add_comments("r1", [CommentIn("c1", "a", platform="kuaishou")])
    store.add_comments("r2", [CommentIn("c1", "a", platform="douyin")])
    assert store.count_comments() == 3


def test_comments_since_returns_what_a_subscriber_missed(store: Store) -> None:
    """comments_since(seq) gives the later comments of that room, in order."""
    stored = store.add_comments("r1", [CommentIn(f"c{i}", f"t{i}") for i in range(5)])
    store.add_comments("r2", [CommentIn("x", "other room")])
    later = store.comments_since("r1", stored[1].seq)
    assert [c["comment_id"] for c in later] == ["c2", "c3", "c4"]


def test_schema_is_versioned_and_migrate_is_idempotent(store: Store) -> None:
    """The recorded version equals the number of migration steps, and re-running changes nothing."""
    assert store.schema_version() == len(MIGRATIONS)
    assert store.migrate() == len(MIGRATIONS)


def test_sqlite_runs_in_wal_mode(store: Store) -> None:
    """The SQLite file uses write-ahead logging."""
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_schema_compiles_for_postgresql() -> None:
    """Every table and index renders as PostgreSQL DDL, so a PostgreSQL URL works unchanged."""
    dialect = postgresql.dialect()
    ddl = [str(CreateTable(t).compile(dialect=dialect)) for t in metadata.sorted_tables]
    ddl += [str(CreateIndex(i).compile(dialect=dialect)) for t in metadata.sorted_tables for i in t.indexes]
    joined = "\n".join(ddl)
    assert "CREATE TABLE comments" in joined and "JSON" in joined
    assert "UNIQUE (room_id, platform, comment_id)" in joined


def test_products_round_trip_and_update(store: Store) -> None:
    """Upserted products read back; an update changes only what it names."""
    store.upsert_products([{"id": "p1", "title": "面霜", "price": 99.0, "stock": 3, "attributes": {"容量": "50g"}}])
    store.update_product("p1", stock=0)
    p = store.get_product("p1")
    assert (p["price"], p["stock"], p["attributes"]) == (99.0, 0, {"容量": "50g"})
    with pytest.raises(NotFoundError):
        store.update_product("nope", stock=1)
    with pytest.raises(InvalidInputError, match="unknown product fields"):
        store.update_product("p1", colour="red")


def test_documents_and_rooms(store: Store) -> None:
    """Documents upsert by id; rooms keep their line-up order and product on stage."""
    store.upsert_documents([{"id": "d1", "kind": "faq", "text": "保修一年", "product_id": "p1"}])
    store.upsert_documents([{"id": "d1", "kind": "faq", "text": "保修两年", "product_id": "p1"}])
    assert store.get_document("d1")["text"] == "保修两年"
    with pytest.raises(InvalidInputError):
        store.upsert_documents([{"id": "d2", "kind": "faq", "text": "  "}])
    room = store.upsert_room("r1", lineup=["p3", "p1"], on_stage="p3")
    assert room["lineup"] == ["p3", "p1"]
    assert store.update_room("r1", on_stage="p1")["on_stage"] == "p1"


def test_purchases_reject_bad_rows(store: Store) -> None:
    """Purchases need a user and an item and a positive quantity."""
    assert store.add_purchases([{"user_id": "u1", "item_id": "p1", "quantity": 2}]) == 1
    with pytest.raises(InvalidInputError, match="positive"):
        store.add_purchases([{"user_id": "u1", "item_id": "p1", "quantity": -1}])
    with pytest.raises(InvalidInputError):
        store.add_purchases([{"user_id": "", "item_id": "p1"}])


def test_model_versions_keep_one_active_per_kind(store: Store) -> None:
    """Recording a new version makes it the active one for its kind."""
    store.record_model("intent_head", "v1", "/m/v1")
    store.record_model("intent_head", "v2", "/m/v2", metrics={"macro_f1": 0.9})
    active = store.active_model("intent_head")
    assert active is not None and active["version"] == "v2"
    assert store.active_model("recommender") is None


def test_store_survives_reopen(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Data written by one Store is there for the next one on the same file."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    s = Store(url)
    s.add_comments("r1", [CommentIn("c1", "hi")])
    s.close()
    s2 = Store(url)
    assert s2.count_comments("r1") == 1
    s2.close()
