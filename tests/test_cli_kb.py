"""`cuecard kb` and `cuecard products`: import, search, eval (throw-away KB), check, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from knowledge.errors import InvalidInputError

EVAL = Path(__file__).resolve().parent.parent / "knowledge" / "data" / "eval"


@pytest.fixture(autouse=True)
def hashing_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command here uses the hashing embedder (no model load)."""
    monkeypatch.setenv("CUECARD_EMBEDDING_MODEL", "hashing")


def test_import_then_search(tmp_path: Path) -> None:
    """Products and documents imported from files are searchable; --product scopes the search."""
    runner = CliRunner()
    r = runner.invoke(app, ["products", "import", str(EVAL / "products.jsonl"), "--data-dir", str(tmp_path)])
    assert r.exit_code == 0, r.output
    md = tmp_path / "extra.md"
    md.write_text("## 直播间抽奖\nid: lottery\nkind: policy\n每晚九点抽三位送耳机。\n", encoding="utf-8")
    for f in (EVAL / "docs.jsonl", md):
        r = runner.invoke(app, ["kb", "import", str(f), "--data-dir", str(tmp_path)])
        assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["kb", "search", "耳机保修多久", "-k", "3", "--product", "ev-earbuds", "--json",
                            "--data-dir", str(tmp_path)])
    assert r.exit_code == 0, r.output
    hits = json.loads(r.stdout.strip().splitlines()[-1])
    assert hits[0]["doc_id"] == "earbuds-warranty" and len(hits) == 3
    assert {h["product_id"] for h in hits} <= {"ev-earbuds", None}
    r = runner.invoke(app, ["kb", "search", "每晚九点抽奖", "-k", "1", "--json", "--data-dir", str(tmp_path)])
    assert json.loads(r.stdout.strip().splitlines()[-1])[0]["doc_id"] == "lottery"
    r = runner.invoke(app, ["products", "list", "--data-dir", str(tmp_path)])
    assert r.exit_code == 0 and "ev-robot" in r.stdout


def test_eval_prints_three_modes_and_leaves_the_store_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`kb eval --json` prints recall@1/3/5 and MRR for dense, lexical and fused; the main store is never opened."""
    monkeypatch.setenv("CUECARD_DATA_DIR", str(tmp_path))
    r = CliRunner().invoke(app, ["kb", "eval", str(EVAL / "queries.jsonl"), "--kb", str(EVAL / "docs.jsonl"),
                                 "--products", str(EVAL / "products.jsonl"), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert {"fused", "dense", "lexical"} <= set(out) and out["queries"] >= 150 and out["documents"] >= 40
    # the same figures as the evaluation run in process on a throw-away KB with the same embedder
    from knowledge.documents import load_documents, load_products
    from knowledge.embedder import load_embedder
    from knowledge.kb_eval import evaluate, load_queries, throwaway_kb

    with throwaway_kb(load_embedder("hashing"), load_documents(EVAL / "docs.jsonl"),
                      load_products(EVAL / "products.jsonl")) as kb:
        expected = evaluate(kb, load_queries(EVAL / "queries.jsonl"))
    assert {mode: out[mode] for mode in ("fused", "dense", "lexical")} == expected
    assert not (tmp_path / "cuecard.db").exists() and not (tmp_path / "models").exists()


def test_eval_table(tmp_path: Path) -> None:
    """Without --json the figures are a table with one row per mode."""
    q = tmp_path / "q.jsonl"
    q.write_text(json.dumps({"query": "发货快吗", "expected_ids": ["ship-time"]}, ensure_ascii=False) + "\n",
                 encoding="utf-8")
    r = CliRunner().invoke(app, ["kb", "eval", str(q), "--kb", str(EVAL / "docs.jsonl")])
    assert r.exit_code == 0, r.output
    assert all(word in r.stdout for word in ("fused", "dense", "lexical", "recall@5", "MRR"))


def test_bad_files_are_clear_errors(tmp_path: Path) -> None:
    """A missing file and a query without expected ids stop with a message naming the problem."""
    r = CliRunner().invoke(app, ["kb", "import", str(tmp_path / "none.jsonl"), "--data-dir", str(tmp_path)])
    assert r.exit_code != 0 and isinstance(r.exception, InvalidInputError) and "not found" in str(r.exception)
    q = tmp_path / "q.jsonl"
    q.write_text('{"query": "发货快吗"}\n', encoding="utf-8")
    r = CliRunner().invoke(app, ["kb", "eval", str(q), "--kb", str(EVAL / "docs.jsonl")])
    assert r.exit_code != 0 and "expected_ids" in str(r.exception)


def test_check_exits_one_on_a_finding() -> None:
    """`kb check` prints findings and the safer text, exit 1; a clean text exits 0."""
    r = CliRunner().invoke(app, ["kb", "check", "全网最低价"])
    assert r.exit_code == 1 and "price_comparison" in r.stdout and "直播间优惠价" in r.stdout
    assert CliRunner().invoke(app, ["kb", "check", "今天发货"]).exit_code == 0
