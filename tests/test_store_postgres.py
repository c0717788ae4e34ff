"""The store against a real throwaway PostgreSQL: Alembic revisions, idempotent comments, and
per-room seq order when two writers (two instances) ingest into one room at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from backends import Postgres, postgres
from sqlalchemy import inspect

from knowledge.migrations.runner import current, heads
from knowledge.store import CommentIn, Store


@pytest.fixture(scope="module")
def pg() -> Iterator[Postgres]:
    """One cluster for this module."""
    with postgres() as cluster:
        yield cluster


@pytest.fixture
def pg_store(pg: Postgres, request: pytest.FixtureRequest) -> Iterator[Store]:
    """A migrated store on a fresh database."""
    store = Store(pg.create_database(f"t_{request.node.name.lower()[:40]}"))
    yield store
    store.close()


def test_migrations_create_the_schema_and_stamp_every_head(pg_store: Store) -> None:
    """Store() runs `upgrade heads`: every baseline table exists and the database is at every head."""
    tables = set(inspect(pg_store.engine).get_table_names())
    assert {"rooms", "products", "kb_documents", "comments", "purchases", "model_versions"} <= tables
    assert current(pg_store.engine) == set(heads())
    assert pg_store.migrate() == pg_store.schema_version() == 1  # idempotent


def test_comments_are_idempotent_and_ordered(pg_store: Store) -> None:
    """A replayed comment keeps its first seq; new ones follow in input order."""
    pg_store.upsert_room("r1", lineup=["p1"])
    first = pg_store.add_comments("r1", [CommentIn("a", "几号链接"), CommentIn("b", "多少钱")])
    again = pg_store.add_comments("r1", [CommentIn("b", "多少钱"), CommentIn("c", "有货吗")])
    assert [c.inserted for c in first] == [True, True]
    assert [c.inserted for c in again] == [False, True]
    assert again[0].seq == first[1].seq and again[1].seq > first[1].seq
    assert [r["comment_id"] for r in pg_store.comments_since("r1", 0)] == ["a", "b", "c"]


def test_two_writers_in_one_room_keep_seq_order_equal_to_commit_order(pg: Postgres) -> None:
    """Two stores (as two instances would) write one room at once: no comment is lost or doubled,
    and a reader that follows `since=` as rows commit never sees a seq lower than one it already saw."""
    url = pg.create_database("t_two_writers")
    a, b, reader = Store(url), Store(url), Store(url)
    a.upsert_room("r", lineup=[])
    stop = threading.Event()
    seen: list[int] = []

    def follow() -> None:
        upto = 0
        while not stop.is_set() or upto < 400:
            rows = reader.comments_since("r", upto, 1000)
            for r in rows:
                seen.append(r["seq"])
            upto = rows[-1]["seq"] if rows else upto
            if stop.is_set() and not rows:
                break

    def write(store: Store, tag: str) -> None:
        for i in range(20):
            store.add_comments("r", [CommentIn(f"{tag}{i}-{j}", "x") for j in range(10)])

    follower = threading.Thread(target=follow)
    follower.start()
    writers = [threading.Thread(target=write, args=(s, t)) for s, t in ((a, "a"), (b, "b"))]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    stop.set()
    follower.join(30)
    assert a.count_comments("r") == 400
    assert len(seen) == 400 and seen == sorted(seen), "the follower skipped a row that committed late"
    for s in (a, b, reader):
        s.close()


def test_a_postgres_restart_fails_calls_then_recovers_without_a_new_store(pg: Postgres) -> None:
    """PostgreSQL restarted: calls during the outage raise a database error (the API answers 503),
    and the same Store works again once it is back (stale pooled connections are pre-pinged away)."""
    from sqlalchemy.exc import DBAPIError

    store = Store(pg.create_database("t_restart"))
    store.upsert_room("r", lineup=[])
    store.add_comments("r", [CommentIn("a", "x")])
    pg.stop("fast")
    try:
        with pytest.raises(DBAPIError):
            store.add_comments("r", [CommentIn("b", "x")])
    finally:
        pg.start()
    store.add_comments("r", [CommentIn("c", "x")])
    assert [r["comment_id"] for r in store.comments_since("r")] == ["a", "c"]
    store.close()
