"""`cuecard answers`: evaluate the answerer against two baselines, and retrain its reranker."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Answer evaluation and the answer reranker.", no_args_is_help=True)
console = Console()
ModelOpt = Annotated[str | None, typer.Option("--embedding-model", help="Embedding model (default from settings).")]
METHODS = {"cuecard": "cuecard (reranker, calibrated)", "top_hit": "always the top hit",
           "score_threshold": "current score threshold"}


def _embedder(model: str | None) -> Any:
    from api.cli import load_settings
    from knowledge.embedder import load_embedder

    settings = load_settings(embedding_model=model)
    return settings, load_embedder(settings.embedding_model, settings.embedding_batch_size, cache_size=0)


@app.command("eval")
def evaluate(
    queries: Annotated[Path, typer.Argument(help="JSONL: {query, expected_ids, product_id?} a line.")],
    kb_file: Annotated[Path, typer.Option("--kb", help="Documents of the throw-away knowledge base.")],
    products: Annotated[Path | None, typer.Option("--products", help="Products JSONL.")] = None,
    unanswerable: Annotated[Path | None, typer.Option("--unanswerable", help="JSONL: {query, product_id?} a line.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {method: figures} as JSON.")] = False,
    embedding_model: ModelOpt = None,
) -> None:
    """Answered, precision, right, unanswerable handed off and ECE: production vs two baselines, one run."""
    from assistant.answer_eval import evaluate as run_eval
    from assistant.answer_eval import load_unanswerable
    from assistant.ranking import Ranker
    from knowledge.documents import load_documents, load_products
    from knowledge.kb_eval import load_queries, throwaway_kb

    qs = load_queries(queries)
    docs = load_documents(kb_file)
    items = load_products(products) if products else []
    unans = load_unanswerable(unanswerable) if unanswerable else []
    settings, embedder = _embedder(embedding_model)
    ranker = Ranker.load(target_precision=settings.answer_target_precision)
    with throwaway_kb(embedder, docs, items) as kb:
        figures = run_eval(kb, ranker, qs, unans, min_confidence=settings.answer_min_confidence)
    if as_json:
        print(json.dumps({m: {k: v for k, v in f.items() if k != "reliability"} | {"reliability": f["reliability"]}
                          for m, f in figures.items()}, ensure_ascii=False))
        return
    table = Table(title=f"{len(qs)} answerable · {len(unans)} unanswerable · {len(docs)} documents")
    for col in ("method", "answered", "precision", "right", "unanswerable handed off", "ECE"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for m, f in figures.items():
        handoff = "—" if f["unanswerable_handoff"] is None else f"{f['unanswerable_handoff']:.1%}"
        table.add_row(METHODS[m], f"{f['answered']:.1%}", f"{f['precision']:.1%}", f"{f['right']:.1%}", handoff,
                      f"{f['ece']:.3f}")
    console.print(table)
    rel = Table(title="reliability (cuecard): confidence bin → share right")
    for col in ("bin", "questions", "mean confidence", "right"):
        rel.add_column(col, justify="right")
    for row in figures["cuecard"]["reliability"]:
        rel.add_row(row["bin"], str(row["n"]), f"{row['confidence']:.3f}", f"{row['right']:.3f}")
    console.print(rel)


@app.command("train")
def train(
    sets: Annotated[list[Path], typer.Argument(help="Folders with docs.jsonl, products.jsonl, queries.jsonl, "
                                                     "unanswerable.jsonl (one shop each).")],
    out: Annotated[Path | None, typer.Option("--out", help="Where to write the ranker JSON.")] = None,
    embedding_model: ModelOpt = None,
) -> None:
    """Train the reranker on shops whose answers are known; calibrate and pick the threshold out of fold."""
    from assistant.answer_eval import examples, load_unanswerable
    from assistant.ranking import DEFAULT_PATH, fit
    from knowledge.documents import load_documents, load_products
    from knowledge.kb_eval import load_queries, throwaway_kb

    settings, embedder = _embedder(embedding_model)
    exs = []
    with ExitStack() as stack:
        for folder in sets:
            kb = stack.enter_context(throwaway_kb(embedder, load_documents(folder / "docs.jsonl"),
                                                  load_products(folder / "products.jsonl")))
            exs += examples(kb, load_queries(folder / "queries.jsonl"),
                            load_unanswerable(folder / "unanswerable.jsonl"), folder.name)
    ranker, info = fit(exs, settings.answer_target_precision)
    raw = ranker.to_json() | {"sweep": info["sweep"], "trained_on": [p.name for p in sets]}
    target = out or DEFAULT_PATH
    target.write_text(json.dumps(raw, ensure_ascii=False, indent=1), encoding="utf-8")
    console.print(f"{len(exs)} questions · threshold {ranker.threshold:.3f} for precision "
                  f"{settings.answer_target_precision:.2f} (out of fold) → {target}")
