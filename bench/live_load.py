"""Live-room load: the real server (uvicorn, `cuecard serve`) with the demo store and models, ingest
clients offering comments in bursts, and teleprompter/bot subscribers.

Two phases in the same run, side by side: a light baseline (100 comments/s, 10 subscribers) and the
target (1,000 comments/s in bursts, 200 subscribers). For each, it reports:

- comment-to-card latency p50/p99: from sending a comment to a teleprompter receiving the first
  `cards` message whose `upto_seq` covers it, over every (comment, teleprompter) pair;
- comment-to-answer latency for bots (same, `answers` messages), when the server has an answerer;
- comments lost: acknowledged but not in the store afterwards (must be 0);
- overloaded replies, subscribers dropped (told `slow_consumer` or closed);
- server CPU (cores busy) and peak RSS.

    .venv/bin/python bench/live_load.py [--rate 1000] [--subscribers 200] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge.demo import demo_comment_stream, seed_demo  # noqa: E402
from knowledge.store import Store  # noqa: E402

KEYS = {"ingest": "bench-ingest", "host": "bench-host", "bot": "bench-bot", "admin": "bench-admin"}
UPTO = re.compile(r'"upto_seq":(\d+)')
TAILS = "啊呀吧呢哈嘛哦～！？。"


@dataclass
class Phase:
    """One load level and what it measured."""

    name: str
    rate: int
    subscribers: int
    seconds: float
    sent: dict[int, float] = field(default_factory=dict)  # seq -> send time
    acked: set[str] = field(default_factory=set)
    ack_s: list[float] = field(default_factory=list)  # per batch: send → ack (stored)
    overloaded: int = 0
    receipts: dict[str, list[tuple[float, int]]] = field(default_factory=dict)  # subscriber -> (time, upto)
    kinds: dict[str, str] = field(default_factory=dict)
    dropped: int = 0
    cpu: float = 0.0
    client_cpu: float = 0.0
    rss_mb: float = 0.0
    lost: int = 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def comment_texts(fresh: float, seed: int = 7) -> list[str]:
    """The demo stream's texts; a `fresh` share get a random tail, so the model must read them."""
    rng = random.Random(seed)
    texts = [c["text"] for c in demo_comment_stream(n=5000)]
    return [t + "".join(rng.choices(TAILS, k=3)) + str(rng.randint(0, 999)) if rng.random() < fresh else t
            for t in texts]


def latencies(phase: Phase, kind: str) -> list[float]:
    """Seconds from each comment's send to each subscriber of `kind` receiving a message covering it."""
    out: list[float] = []
    seqs = sorted(phase.sent)
    for sub, receipts in phase.receipts.items():
        if phase.kinds[sub] != kind or not receipts:
            continue
        times, running = [], []
        best = 0
        for t, upto in receipts:
            best = max(best, upto)
            times.append(t)
            running.append(best)
        for seq in seqs:
            i = bisect.bisect_left(running, seq)
            if i < len(running):
                out.append(times[i] - phase.sent[seq])
    return out


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q / 100 * len(values)))]


async def subscriber(url: str, name: str, kind: str, phase: Phase, stop: asyncio.Event) -> None:
    receipts = phase.receipts.setdefault(name, [])
    phase.kinds[name] = kind
    wanted = '"type":"cards"' if kind == "teleprompter" else '"type":"answers"'
    try:
        async with connect(url, max_size=None) as ws:
            closer = asyncio.create_task(_close_on(stop, ws))
            async for frame in ws:
                now = time.perf_counter()
                head = frame[:80] if isinstance(frame, str) else ""
                if wanted in head and '"snapshot":true' not in frame[-40:]:
                    m = UPTO.search(head)
                    if m:
                        receipts.append((now, int(m.group(1))))
                elif '"slow_consumer"' in head or '"slow_consumer"' in frame[:200]:
                    phase.dropped += 1
                    return
            closer.cancel()
            if not stop.is_set():  # the server closed on us
                phase.dropped += 1
    except Exception:
        if not stop.is_set():
            phase.dropped += 1


async def _close_on(stop: asyncio.Event, ws: Any) -> None:
    await stop.wait()
    await ws.close()


async def ingester(url: str, n: int, clients: int, phase: Phase, texts: list[str], stop: asyncio.Event) -> None:
    """Offer `rate / clients` comments a second, as a burst of a quarter second's worth every 250 ms."""
    per_burst = max(1, phase.rate // clients // 4)
    async with connect(url, max_size=None) as ws:
        await ws.recv()
        b = 0
        next_at = time.perf_counter()
        while not stop.is_set():
            batch = [{"comment_id": f"{phase.name}-{n}-{b}-{i}", "user_id": f"v{(n * 7919 + b * 31 + i) % 600}",
                      "text": texts[(n * 1000 + b * per_burst + i) % len(texts)], "ts": time.time()}
                     for i in range(per_burst)]
            t0 = time.perf_counter()
            await ws.send(json.dumps({"type": "comments", "comments": batch}))
            while True:
                msg = json.loads(await ws.recv())
                if msg["type"] in ("ack", "overloaded", "error"):
                    break
            if msg["type"] == "ack":
                phase.ack_s.append(time.perf_counter() - t0)
                phase.acked.update(msg["comment_ids"])
                for seq in msg["seqs"]:
                    phase.sent.setdefault(seq, t0)
            elif msg["type"] == "overloaded":
                phase.overloaded += 1
            b += 1
            next_at += 0.25
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))


async def run_phase(base_ws: str, phase: Phase, proc: psutil.Process, texts: list[str]) -> None:
    stop = asyncio.Event()
    subs = []
    for i in range(phase.subscribers):
        kind = "teleprompter" if i % 2 == 0 else "bot"
        subs.append(asyncio.create_task(subscriber(
            f"{base_ws}/{kind}?key={KEYS['host' if kind == 'teleprompter' else 'bot']}", f"{kind}{i}", kind, phase, stop)))
    await asyncio.sleep(2.0)  # let every subscriber connect before the load starts
    clients = 5 if phase.rate >= 500 else 1
    me = psutil.Process()
    stop_ingest = asyncio.Event()
    cpu0, me0, t0 = proc.cpu_times(), me.cpu_times(), time.perf_counter()
    peak = 0.0
    ingest = [asyncio.create_task(ingester(f"{base_ws}/comments?key={KEYS['ingest']}", n, clients, phase, texts,
                                           stop_ingest))
              for n in range(clients)]
    while time.perf_counter() - t0 < phase.seconds:
        await asyncio.sleep(0.5)
        peak = max(peak, proc.memory_info().rss)
    stop_ingest.set()
    await asyncio.gather(*ingest, return_exceptions=True)
    cpu1, me1, t1 = proc.cpu_times(), me.cpu_times(), time.perf_counter()
    phase.cpu = ((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)) / (t1 - t0)
    phase.client_cpu = ((me1.user - me0.user) + (me1.system - me0.system)) / (t1 - t0)
    await asyncio.sleep(2.0)  # let the last cards arrive
    stop.set()
    await asyncio.gather(*subs, return_exceptions=True)
    phase.rss_mb = peak / 2**20


def report(phases: list[Phase]) -> str:
    rows = [("", *[p.name for p in phases])]
    def add(label: str, values: list[str]) -> None:
        rows.append((label, *values))
    add("offered comments/s", [str(p.rate) for p in phases])
    add("subscribers (teleprompter+bot)", [str(p.subscribers) for p in phases])
    add("comments acknowledged", [str(len(p.acked)) for p in phases])
    add("acknowledged comments/s", [f"{len(p.acked) / p.seconds:.0f}" for p in phases])
    for q in (50, 99):
        add(f"batch→ack (stored) p{q} (ms)", [f"{pct(p.ack_s, q) * 1000:.0f}" for p in phases])
    lat = {kind: [latencies(p, kind) for p in phases] for kind in ("teleprompter", "bot")}  # once each
    for kind, label in (("teleprompter", "comment→card"), ("bot", "comment→answer")):
        for q in (50, 99):
            add(f"{label} p{q} (ms)", [f"{pct(v, q) * 1000:.0f}" for v in lat[kind]])
    add("comments lost", [str(p.lost) for p in phases])
    add("overloaded replies", [str(p.overloaded) for p in phases])
    add("subscribers dropped", [str(p.dropped) for p in phases])
    add("server CPU (cores)", [f"{p.cpu:.2f}" for p in phases])
    add("server peak RSS (MB)", [f"{p.rss_mb:.0f}" for p in phases])
    add("load clients' CPU (cores, same machine)", [f"{p.client_cpu:.2f}" for p in phases])
    if len(phases) == 2:
        a, b = (pct(v, 99) for v in lat["teleprompter"])
        add("p99 ratio target/baseline", ["", f"{b / a:.2f}×" if a == a and a > 0 else "n/a"])
    width = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(c.ljust(width[i]) for i, c in enumerate(r)) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in width) + "|")
    return "\n".join(lines)


def main() -> None:
    """Start the server, run the baseline and target phases, print the table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--subscribers", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--fresh", type=float, default=0.2, help="share of comments with a never-seen text")
    ap.add_argument("--server-cpus", default="", help="pin the server to these CPUs (taskset list, e.g. 0,1)")
    args = ap.parse_args()

    data = Path(tempfile.mkdtemp(prefix="cuecard-bench-"))
    store = Store(f"sqlite:///{(data / 'cuecard.db').resolve()}")
    seed_demo(store)
    port = free_port()
    env = {**os.environ, "CUECARD_DATA_DIR": str(data), "CUECARD_PORT": str(port), "CUECARD_LOAD_DEMO": "false",
           "OPENBLAS_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
           **{f"CUECARD_API_KEY_{r.upper()}": k for r, k in KEYS.items()}}
    cmd = [sys.executable, "-m", "api.cli", "serve", "--no-replay"]
    if args.server_cpus:
        cmd = ["taskset", "-c", args.server_cpus, *cmd]
    print(f"starting the server on :{port} (demo store in {data}) …", flush=True)
    server = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 300
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.time() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.5)
        health = httpx.get(f"http://127.0.0.1:{port}/health").json()
        proc = psutil.Process(server.pid)  # taskset execs the server: same process
        texts = comment_texts(args.fresh)
        base_ws = f"ws://127.0.0.1:{port}/ws/rooms/demo"
        print("warm-up: 200 comments/s for 5 s (not reported) …", flush=True)
        asyncio.run(run_phase(base_ws, Phase("warmup", 200, 4, 5.0), proc, texts))
        phases = [Phase("baseline", 100, 10, args.seconds), Phase("target", args.rate, args.subscribers, args.seconds)]
        for phase in phases:
            print(f"phase {phase.name}: {phase.rate} comments/s, {phase.subscribers} subscribers, {phase.seconds:.0f} s …",
                  flush=True)
            asyncio.run(run_phase(base_ws, phase, proc, texts))
        for phase in phases:
            stored = {r["comment_id"] for r in _all_comments(store) if r["comment_id"].startswith(phase.name)}
            phase.lost = len(phase.acked - stored)
        print(f"\nserver: {health.get('embedding_model')} · models {health.get('models')} · "
              f"{psutil.cpu_count()} CPUs on this machine, server pinned to: {args.server_cpus or 'no'} · "
              f"fresh texts {args.fresh:.0%}\n")
        print(report(phases))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        store.close()


def _all_comments(store: Store) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    since = 0
    while True:
        chunk = store.comments_since("demo", since, 5000)
        if not chunk:
            return rows
        rows.extend(chunk)
        since = chunk[-1]["seq"]


if __name__ == "__main__":
    main()
