"""Building the post-show review of a 200,000-comment show: SQL aggregation vs re-reading every comment.

A synthetic show (a line-up of 10, a product change every 12 minutes, 2 hours, intents drawn with
fixed shares, 300 cards, 400 hand-offs, 120 viewer counts) is written straight into a SQLite store.
`build_review` (the one the route and `cuecard review` use) is timed against the baseline: page
through `GET /rooms/{id}/comments` (1,000 a page, in-process TestClient, no network) and compute the
per-minute, per-product and per-group figures in Python, as a client without the review would.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/review.py [--comments 200000] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from assistant.review import build_review  # noqa: E402
from knowledge.events import EventStore  # noqa: E402
from knowledge.shows import ShowStore  # noqa: E402
from knowledge.store import Store, comments  # noqa: E402

INTENTS = [("chitchat", 30), ("price", 12), ("purchase", 15), ("shipping", 8), ("product_info", 10),
           ("praise", 10), ("complaint", 4), ("stock", 4), ("promotion", 4), ("spam", 3)]
T0 = 1_700_000_000.0


def build_show(store: Store, n: int, seed: int = 7) -> str:
    """A synthetic ended show of `n` comments over two hours; returns its id."""
    rng = random.Random(seed)
    ids = [f"p{i:02d}" for i in range(1, 11)]
    store.upsert_products([{"id": p, "title": f"商品{p}", "price": 9.9} for p in ids])
    store.upsert_room("bench", "压测直播间", "douyin", ids, ids[0])
    shows = ShowStore(store)
    show = shows.start("bench", now=T0)
    names, weights = zip(*INTENTS, strict=True)
    duration = 7200.0
    rows = []
    for i in range(n):
        ts = T0 + duration * i / n
        it = rng.choices(names, weights)[0]
        on_stage = ids[int((ts - T0) // 720) % len(ids)]
        pid = on_stage if rng.random() < 0.7 else rng.choice(ids)
        group = f"g{rng.randrange(200)}" if it in ("price", "shipping", "product_info", "stock", "promotion") else None
        rows.append({"room_id": "bench", "platform": "douyin", "comment_id": f"c{i}", "user_id": f"u{rng.randrange(20000)}",
                     "text": f"评论{i % 997}", "ts": ts, "received_at": ts,
                     "analysis": {"top_intent": it, "product_id": pid, "group_id": group, "intents": {it: 0.9}}})
    with store.engine.begin() as conn:
        for k in range(0, n, 20000):
            conn.execute(insert(comments), rows[k:k + 20000])
    events = [{"kind": "stage", "ts": T0 + 720 * k, "product_id": ids[k % len(ids)]} for k in range(1, 10)]
    events += [{"kind": "card", "ref": f"group:g{k}", "ts": T0 + 20 * k, "product_id": rng.choice(ids),
                "data": {"kind": "question_group", "title": f"问题{k}", "count": 5, "talking_point": f"话术{k}"}}
               for k in range(300)]
    events += [{"kind": "handoff", "ts": T0 + 15 * k, "product_id": rng.choice(ids),
                "data": {"question": f"答不上的问题{k % 40}", "group_id": f"g{k % 40}"}} for k in range(400)]
    events += [{"kind": "room_stats", "ts": T0 + 60 * k, "data": {"viewers": 1000 + 10 * k}} for k in range(120)]
    shows.add_events(show["id"], events)
    shows.end("bench", show["id"], now=T0 + duration)
    return str(show["id"])


def through_api(data_dir: Path, store_url: str, show_id: str) -> dict[str, object]:
    """The baseline: every comment re-read over the REST API, figures computed in Python."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import Settings
    from knowledge.embedder import HashingEmbedder

    settings = Settings(data_dir=data_dir, database_url=store_url, load_demo=False, embedding_model="hashing",
                        api_key_host="bench-host")
    with TestClient(create_app(settings, embedder=HashingEmbedder(32))) as c:
        started = time.perf_counter()
        show = c.get(f"/rooms/bench/shows/{show_id}/review", headers={"X-API-Key": "bench-host"}).json()["show"]
        since, per_minute, per_product, groups = 0, Counter(), defaultdict(Counter), Counter()
        while True:
            page = c.get("/rooms/bench/comments", params={"since": since, "limit": 1000},
                         headers={"X-API-Key": "bench-host"}).json()
            if not page:
                break
            for row in page:
                a = row["analysis"] or {}
                per_minute[(int((row["ts"] - show["started_at"]) // 60), a.get("top_intent"))] += 1
                per_product[a.get("product_id")][a.get("top_intent")] += 1
                if a.get("group_id"):
                    groups[a["group_id"]] += 1
            since = page[-1]["seq"]
        return {"seconds": time.perf_counter() - started, "minutes": len({m for m, _ in per_minute}),
                "groups": len(groups)}


def main() -> None:
    """Run the bench and print both timings side by side."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--comments", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cuecard-review-bench-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    store = Store(url)
    started = time.perf_counter()
    show_id = build_show(store, args.comments)
    print(f"wrote a {args.comments:,}-comment show in {time.perf_counter() - started:.1f}s")
    shows, events = ShowStore(store), EventStore(store)
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        review = build_review(store, shows, events, "bench", show_id)
        times.append(time.perf_counter() - t)
    assert review["show"]["comments"] == args.comments
    store.close()
    base = through_api(tmp, url, show_id)
    best = min(times)
    out = {"comments": args.comments, "review_s": round(best, 3), "review_runs_s": [round(x, 3) for x in times],
           "api_reread_s": round(float(base["seconds"]), 3), "speedup": round(float(base["seconds"]) / best, 1),
           "minutes": review["timeline"]["minutes"], "groups_in_review": len(review["question_groups"]),
           "suggestions": len(review["suggestions"]), "target_s": 5.0}
    print(f"build_review (SQL aggregation)      {best:7.3f} s   (runs: {', '.join(f'{x:.3f}' for x in times)})")
    print(f"re-read via GET /rooms/…/comments   {base['seconds']:7.3f} s   (1,000 a page, figures in Python)")
    print(f"speed-up {out['speedup']}×; target ≤ 5 s: {'met' if best <= 5.0 else 'NOT met'}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
