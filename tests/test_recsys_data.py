"""Purchase loading: column mapping, documented cleaning of bad rows, basket order, the last-basket split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.data import Columns, Interactions, frame_from_records, read_purchases
from recsys.errors import PurchaseDataError, UnknownColumnError

CSV = """uid,sku,order,n,when,qty
a,x,o1,1,2024-01-01,1
a,y,o1,1,2024-01-01,2
a,y,o1,1,2024-01-01,2
a,z,o2,2,2024-01-05,1
a,x,o3,3,2024-01-09,1
b,x,o4,2,2024-01-02,1
b,z,o5,1,2024-01-01,-1
b,y,o5,1,2024-01-01,1
b,,o5,1,2024-01-01,1
b,y,o6,x,2024-01-03,1
b,z,o7,3,2024-01-04,1,extra,fields
"""
COLS = Columns(user="uid", item="sku", basket="order", order="n", quantity="qty")


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "p.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def test_bad_rows_are_counted_and_skipped(csv_file: Path) -> None:
    """Malformed lines, missing ids, unusable order, non-positive quantity and duplicates are skipped and reported."""
    frame, report = read_purchases(csv_file, COLS)
    assert (report.malformed, report.missing_ids, report.bad_order, report.bad_quantity, report.duplicates) == \
        (1, 1, 1, 1, 1)
    assert report.kept == 6 and len(frame) == 6
    assert "skipped" in report.summary()


def test_baskets_are_ordered_by_order_column(csv_file: Path) -> None:
    """A user's baskets come oldest first by the order column, not by file position."""
    frame, _ = read_purchases(csv_file, COLS)
    data = Interactions.from_frame(frame)
    b = data.user_index["b"]
    assert [data.item_ids[x].tolist() for x in data.baskets(b)] == [["y"], ["x"]]
    a = data.user_index["a"]
    assert [sorted(data.item_ids[x].tolist()) for x in data.baskets(a)] == [["x", "y"], ["z"], ["x"]]
    # quantities are summed per item and basket; the user × item matrix carries them
    assert data.user_items[a, data.item_index["y"]] == 2.0


def test_time_column_orders_when_no_order_column(tmp_path: Path) -> None:
    """Dates order the baskets when there is no order number."""
    path = tmp_path / "t.csv"
    path.write_text("u,i,t\nu1,late,2024-03-01\nu1,early,2024-01-01\n", encoding="utf-8")
    frame, _ = read_purchases(path, Columns(user="u", item="i", time="t"))
    data = Interactions.from_frame(frame)
    assert [data.item_ids[b].tolist() for b in data.baskets(0)] == [["early"], ["late"]]


def test_unknown_column_names_the_columns(csv_file: Path) -> None:
    """A mapped column missing from the file is a clear error listing the file's columns."""
    with pytest.raises(UnknownColumnError, match=r"--basket-col 'basket_id'.*\['uid'"):
        read_purchases(csv_file, Columns(user="uid", item="sku", basket="basket_id"))


def test_missing_or_empty_file(tmp_path: Path) -> None:
    """A missing file, or one with no usable row, is a PurchaseDataError."""
    with pytest.raises(PurchaseDataError, match="does not exist"):
        read_purchases(tmp_path / "nope.csv", COLS)
    empty = tmp_path / "e.csv"
    empty.write_text("uid,sku\n,\n", encoding="utf-8")
    with pytest.raises(PurchaseDataError, match="no usable"):
        read_purchases(empty, Columns(user="uid", item="sku"))


def test_parquet_is_read(tmp_path: Path) -> None:
    """Parquet files go through the same mapping."""
    path = tmp_path / "p.parquet"
    pd.DataFrame({"uid": ["a", "a"], "sku": [1, 2], "n": [2, 1]}).to_parquet(path)
    frame, _ = read_purchases(path, Columns(user="uid", item="sku", order="n"))
    data = Interactions.from_frame(frame)
    assert [data.item_ids[b].tolist() for b in data.baskets(0)] == [["2"], ["1"]]


def test_split_last_holds_out_each_users_last_basket(csv_file: Path) -> None:
    """The split removes exactly each multi-basket user's last basket and keeps the ids."""
    frame, _ = read_purchases(csv_file, COLS)
    data = Interactions.from_frame(frame)
    train, held = data.split_last()
    a, b = data.user_index["a"], data.user_index["b"]
    assert data.item_ids[held[a]].tolist() == ["x"] and data.item_ids[held[b]].tolist() == ["x"]
    assert len(train.baskets(a)) == 2 and len(train.baskets(b)) == 1
    assert train.n_lines == data.n_lines - 2
    np.testing.assert_array_equal(train.item_ids, data.item_ids)


def test_records_from_the_store(store) -> None:  # type: ignore[no-untyped-def]
    """Store rows without basket ids become one basket per order number."""
    store.add_purchases([{"user_id": "u", "item_id": "p1", "order_no": 2},
                         {"user_id": "u", "item_id": "p2", "order_no": 1},
                         {"user_id": "u", "item_id": "p3", "order_no": 2}])
    frame, report = frame_from_records(store.list_purchases())
    data = Interactions.from_frame(frame)
    assert report.kept == 3
    assert [sorted(data.item_ids[b].tolist()) for b in data.baskets(0)] == [["p2"], ["p1", "p3"]]
