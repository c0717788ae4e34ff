"""Recommendation serving: train on a synthetic shop, then time `recommend` in process and over HTTP.

1. a synthetic history (default 100,000 users × 10,000 items × 2,000,000 purchase lines);
2. training time (per part) and the saved model's size on disk;
3. in-process latency per user, side by side in the same run: implicit's own `recommend` on the
   same ALS factors (the baseline), CueCard's blend alone, and the full service path (blend +
   live re-ranking + catalogue);
4. the real server (uvicorn on 127.0.0.1, `create_app` with the model just trained) under an
   open-loop load of each of `--rates` requests per second: a path no route matches first (answered 404 by
   the same HTTP stack, routing and middleware: the baseline), then `GET /recommendations?user_id=…&k=10`. Latency is measured from each request's
   scheduled send time, so a stalled server cannot hide its queue (no coordinated omission);
5. with `--profiles` (default): the same history written to the store with times, precomputed by
   the server's `ShopperService` on the first request, then `GET /users/{id}/profile` under the same load.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/recs_serving.py [--users 100000] [--rates 250,500] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge.store import Store  # noqa: E402
from recsys.blend import BlendParams, BlendRecommender  # noqa: E402
from recsys.service import MODEL_KIND, RecommendationService  # noqa: E402
from recsys.synthetic import shop_history  # noqa: E402

BENCH_KEY = "bench-admin-key"  # the admin key passes every role's check (widget, host)


def store_history(store: Store, data: Any, days_apart: float = 7.0) -> int:
    """Write the synthetic history to the store with times (each user's k-th basket k × ~`days_apart`
    days before now), so `GET /users/{id}/profile` has a 100,000-shopper history to precompute."""
    from sqlalchemy import insert

    from knowledge.store import purchases

    n_b = np.diff(data.user_ptr)
    b_user = np.repeat(np.arange(data.n_users), n_b)
    rank = np.arange(len(b_user)) - np.repeat(data.user_ptr[:-1], n_b)
    gap = np.random.default_rng(1).uniform(0.5, 1.5, len(b_user)) * days_apart
    b_ts = time.time() - (np.repeat(n_b, n_b) - rank) * gap * 86_400
    lens = np.diff(data.basket_ptr)
    line_b = np.repeat(np.arange(len(lens)), lens)
    users, items = data.user_ids[b_user[line_b]], data.item_ids[data.basket_items]
    ts = b_ts[line_b]
    with store.engine.begin() as conn:
        for start in range(0, len(line_b), 100_000):
            stop = start + 100_000
            conn.execute(insert(purchases), [
                {"user_id": u, "item_id": i, "basket_id": f"b{b}", "order_no": None, "ts": float(t), "quantity": 1.0}
                for u, i, b, t in zip(users[start:stop].tolist(), items[start:stop].tolist(),
                                      line_b[start:stop].tolist(), ts[start:stop].tolist(), strict=True)])
    return len(line_b)


def pct(values: list[float], q: float) -> float:
    """The q-th percentile in milliseconds."""
    return float(np.percentile(np.asarray(values) * 1000.0, q)) if values else float("nan")


def per_call(fn: Any, users: list[Any], repeat: int = 1) -> list[float]:
    """Seconds per call of `fn(user)`, one call at a time."""
    out = []
    for _ in range(repeat):
        for u in users:
            t = time.perf_counter()
            fn(u)
            out.append(time.perf_counter() - t)
    return out


async def _client(host: str, port: int, queue: asyncio.Queue, latencies: list[float], errors: list[str]) -> None:
    """One keep-alive connection taking scheduled requests from the queue (a minimal HTTP/1.1 client)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while True:
            item = await queue.get()
            if item is None:
                return
            scheduled, path = item
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {BENCH_KEY}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length"))
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - scheduled)
            if status != 200 and not path.startswith("/__"):
                errors.append(str(status))
    finally:
        writer.close()


async def open_loop(host: str, port: int, paths: list[str], rate: float, connections: int) -> dict[str, Any]:
    """Send `paths` at `rate` per second over a pool of connections; latency from the scheduled time."""
    queue: asyncio.Queue = asyncio.Queue()
    latencies: list[float] = []
    errors: list[str] = []
    workers = [asyncio.create_task(_client(host, port, queue, latencies, errors)) for _ in range(connections)]
    start = time.perf_counter() + 0.05
    for i, path in enumerate(paths):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((scheduled, path))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - start
    return {"requests": len(latencies), "achieved_rps": round(len(latencies) / elapsed, 1), "errors": len(errors),
            "p50_ms": round(pct(latencies, 50), 2), "p90_ms": round(pct(latencies, 90), 2),
            "p99_ms": round(pct(latencies, 99), 2), "max_ms": round(max(latencies) * 1000, 2)}


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    """Run every phase and print the figures (and JSON with --json)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--rates", default="500", help="comma-separated request rates, each run in turn")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--sample", type=int, default=2000, help="users timed in process")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--profiles", action=argparse.BooleanOptionalAction, default=True,
                    help="also store the history with times and time GET /users/{id}/profile")
    args = ap.parse_args()
    out: dict[str, Any] = {"config": vars(args)}
    rng = random.Random(0)

    t = time.perf_counter()
    data = shop_history(args.users, args.items, args.lines, seed=0)
    out["data"] = {"users": data.n_users, "items": data.n_items, "lines": data.n_lines,
                   "baskets": len(data.basket_ptr) - 1, "generate_s": round(time.perf_counter() - t, 1)}
    print(f"history: {out['data']}", flush=True)

    t = time.perf_counter()
    model = BlendRecommender(BlendParams(), progress=False).fit(data)
    out["train"] = {"total_s": round(time.perf_counter() - t, 1), "parts_s": model.timings}
    print(f"training: {out['train']}", flush=True)

    with tempfile.TemporaryDirectory(prefix="recs-bench-") as tmp:
        tmp_path = Path(tmp)
        path = model.save(tmp_path / "models" / MODEL_KIND / "bench")
        sizes = {f.name: f.stat().st_size for f in path.iterdir()}
        out["model_size_mb"] = round(sum(sizes.values()) / 2**20, 1)
        t = time.perf_counter()
        BlendRecommender.load(path)
        out["load_s"] = round(time.perf_counter() - t, 2)
        print(f"model on disk: {out['model_size_mb']} MiB, loads in {out['load_s']} s", flush=True)

        # ---- in process ----
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, "blas"):
            baseline = AlternatingLeastSquares(factors=model.als.factors)
        baseline.user_factors, baseline.item_factors = model.als.user_factors, model.als.item_factors
        user_items = data.user_items.tocsr()
        dense = rng.sample(range(data.n_users), args.sample)
        ids = [str(data.user_ids[u]) for u in dense]
        store = Store(f"sqlite:///{tmp_path / 'cuecard.db'}")
        store.record_model(MODEL_KIND, "bench", str(path), {})
        service = RecommendationService(store, model, catalog_ttl_s=60.0)
        warm = ids[:200]
        per_call(lambda u: service.recommend(u, 10), warm)
        per_call(lambda u: baseline.recommend(u, user_items[u], N=10, filter_already_liked_items=False),
                 dense[:200])
        rows = {
            "implicit ALS recommend (baseline)": per_call(
                lambda u: baseline.recommend(u, user_items[u], N=10, filter_already_liked_items=False), dense),
            "cuecard blend (model only)": per_call(lambda u: model.recommend_user(u, 10), ids),
            "cuecard service.recommend": per_call(lambda u: service.recommend(u, 10), ids),
        }
        base_p50 = pct(rows["implicit ALS recommend (baseline)"], 50)
        out["in_process"] = {name: {"mean_ms": round(float(np.mean(v)) * 1000, 3), "p50_ms": round(pct(v, 50), 3),
                                    "p99_ms": round(pct(v, 99), 3), "p50_vs_implicit": round(pct(v, 50) / base_p50, 2)}
                             for name, v in rows.items()}
        for name, v in out["in_process"].items():
            print(f"in process  {name:36s} {v}", flush=True)
        if args.profiles:
            t = time.perf_counter()
            out["profiles_store"] = {"lines": store_history(store, data), "write_s": round(time.perf_counter() - t, 1)}
            print(f"purchases with times in the store: {out['profiles_store']}", flush=True)
        store.close()

        # ---- over HTTP, the real server ----
        port = free_port()
        env = {**os.environ, "CUECARD_DATA_DIR": str(tmp_path), "CUECARD_LOAD_DEMO": "false",
               "CUECARD_EMBEDDING_MODEL": "hashing", "OPENBLAS_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
               "CUECARD_API_KEY_ADMIN": BENCH_KEY, "CUECARD_SHOPPERS_REFRESH_S": "3600"}
        server = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory",
                                   "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
                                   "--log-level", "warning"], cwd=ROOT, env=env)
        try:
            deadline = time.time() + 300
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    if time.time() > deadline or server.poll() is not None:
                        raise SystemExit("the server did not start") from None
                    time.sleep(0.5)
            proc = psutil.Process(server.pid)
            warm = [f"/recommendations?user_id={data.user_ids[rng.randrange(data.n_users)]}&k=10&key={BENCH_KEY}" for _ in range(500)]
            asyncio.run(open_loop("127.0.0.1", port, warm, 200, 8))
            if args.profiles:  # the first profile request fits the per-shopper aggregates (once)
                t = time.perf_counter()
                asyncio.run(open_loop("127.0.0.1", port, [f"/users/{data.user_ids[0]}/profile"], 1, 1))
                out["profiles_precompute_s"] = round(time.perf_counter() - t, 1)
                print(f"profiles precomputed in {out['profiles_precompute_s']} s", flush=True)
            out["http"] = {}
            for rate in [float(r) for r in args.rates.split(",")]:
                n = int(rate * args.seconds)
                rec_paths = [f"/recommendations?user_id={data.user_ids[rng.randrange(data.n_users)]}&k=10&key={BENCH_KEY}"
                             for _ in range(n)]
                # baseline: a path no route matches, answered 404 by the same stack (HTTP, routing, middleware)
                phases = [("HTTP stack, 404 (baseline)", ["/__no_such_route"] * n), ("GET /recommendations", rec_paths)]
                if args.profiles:
                    phases.append(("GET /users/{id}/profile", [f"/users/{data.user_ids[rng.randrange(data.n_users)]}/profile"
                                                              for _ in range(n)]))
                for name, paths in phases:
                    proc.cpu_percent()
                    res = asyncio.run(open_loop("127.0.0.1", port, paths, rate, args.connections))
                    cores = proc.cpu_percent() / 100
                    res["server_cpu_cores"] = round(cores, 2)
                    res["server_cpu_ms_per_request"] = round(cores * 1000 / max(res["achieved_rps"], 1e-9), 3)
                    out["http"][f"{name} @ {rate:.0f}/s"] = res
                    print(f"HTTP {rate:.0f} req/s  {name:28s} {res}", flush=True)
            out["server_rss_mb"] = round(proc.memory_info().rss / 2**20)
        finally:
            server.terminate()
            server.wait(timeout=30)
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
