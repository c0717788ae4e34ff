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

    .venv/bin/python bench/live_load.py [--rate 1000] [--subscribers 200] [--seconds 20] [--json]
    .venv/bin/python bench/live_load.py --instances 2 --bus redis --database postgresql [--kill-one] --json
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
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
    reconnect: bool = False  # --kill-one: a client of the killed instance moves to another
    kill_t: float = 0.0  # perf_counter() when an instance was killed (0: none)
    seq_at_kill: int = 0  # the highest acknowledged seq at that moment
    reconnects: list[float] = field(default_factory=list)  # kill → subscriber back on another instance (s)


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


async def subscriber(urls: list[str], name: str, kind: str, phase: Phase, stop: asyncio.Event) -> None:
    """Record when each covering frame arrives; with `phase.reconnect`, move to the next instance on a
    disconnect, with since=<last seq covered>."""
    receipts = phase.receipts.setdefault(name, [])
    for attempt in range(len(urls) if phase.reconnect else 1):
        since = max((u for _, u in receipts), default=0)
        url = urls[attempt] + (f"&since={since}" if attempt else "")
        if not await _subscribe_once(url, name, kind, phase, stop, receipts) or stop.is_set():
            return
        if attempt + 1 < len(urls) and phase.reconnect:
            continue


async def _subscribe_once(url: str, name: str, kind: str, phase: Phase, stop: asyncio.Event,
                          receipts: list[tuple[float, int]]) -> bool:
    """One connection; True when it ended under us (a reconnect may follow)."""
    phase.kinds[name] = kind
    wanted = '"type":"cards"' if kind == "teleprompter" else '"type":"answers"'
    moved = "since=" in url
    try:
        async with connect(url, max_size=None) as ws:
            if moved and phase.kill_t:
                phase.reconnects.append(time.perf_counter() - phase.kill_t)
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
                    return False
            closer.cancel()
            if not stop.is_set():  # the server closed on us
                if not phase.reconnect:
                    phase.dropped += 1
                return True
    except Exception:
        if not stop.is_set():
            if not phase.reconnect:
                phase.dropped += 1
            return True
    return False


async def _close_on(stop: asyncio.Event, ws: Any) -> None:
    await stop.wait()
    await ws.close()


async def ingester(urls: list[str], n: int, clients: int, phase: Phase, texts: list[str], stop: asyncio.Event) -> None:
    """Offer `rate / clients` comments a second, as a burst of a quarter second's worth every 250 ms;
    with `phase.reconnect`, a client whose instance died goes on with the next one."""
    per_burst = max(1, phase.rate // clients // 4)
    for attempt, url in enumerate(urls if phase.reconnect else urls[:1]):
        try:
            await _ingest_once(url, n + 100 * attempt, per_burst, phase, texts, stop)
            return
        except Exception:
            if stop.is_set() or not phase.reconnect:
                raise


async def _ingest_once(url: str, n: int, per_burst: int, phase: Phase, texts: list[str], stop: asyncio.Event) -> None:
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


def _rotate(bases: list[str], i: int) -> list[str]:
    """The instances in the order client `i` tries them: its own first."""
    k = i % len(bases)
    return bases[k:] + bases[:k]


async def run_phase(bases: list[str], phase: Phase, procs: list[psutil.Process], texts: list[str],
                    kill: Any = None) -> None:
    """Subscribers and ingest clients spread over the instances; `kill()` halfway, if given."""
    stop = asyncio.Event()
    subs = []
    for i in range(phase.subscribers):
        kind = "teleprompter" if i % 2 == 0 else "bot"
        key = KEYS['host' if kind == 'teleprompter' else 'bot']
        subs.append(asyncio.create_task(subscriber(
            [f"{b}/{kind}?key={key}" for b in _rotate(bases, i)], f"{kind}{i}", kind, phase, stop)))
    await asyncio.sleep(2.0)  # let every subscriber connect before the load starts
    clients = 5 if phase.rate >= 500 else 1
    me = psutil.Process()
    stop_ingest = asyncio.Event()
    cpu0, me0, t0 = _cpu(procs), me.cpu_times(), time.perf_counter()
    peak = 0.0
    ingest = [asyncio.create_task(ingester([f"{b}/comments?key={KEYS['ingest']}" for b in _rotate(bases, n)], n,
                                           clients, phase, texts, stop_ingest))
              for n in range(clients)]
    while time.perf_counter() - t0 < phase.seconds:
        await asyncio.sleep(0.5)
        if kill is not None and not phase.kill_t and time.perf_counter() - t0 > phase.seconds / 2:
            phase.seq_at_kill = max(phase.sent, default=0)
            phase.kill_t = time.perf_counter()
            kill()
        peak = max(peak, _rss(procs))
    stop_ingest.set()
    await asyncio.gather(*ingest, return_exceptions=True)
    cpu1, me1, t1 = _cpu(procs), me.cpu_times(), time.perf_counter()
    phase.cpu = (cpu1 - cpu0) / (t1 - t0)
    phase.client_cpu = ((me1.user - me0.user) + (me1.system - me0.system)) / (t1 - t0)
    await asyncio.sleep(2.0)  # let the last cards arrive
    stop.set()
    await asyncio.gather(*subs, return_exceptions=True)
    phase.rss_mb = peak / 2**20


def _cpu(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
            total += t.user + t.system
        except psutil.Error:  # killed
            pass
    return total


def _rss(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total


def failover_s(phase: Phase) -> float | None:
    """Kill → the first teleprompter frame covering a comment acknowledged after the kill (analysis taken over)."""
    if not phase.kill_t:
        return None
    after = [t for sub, rs in phase.receipts.items() if phase.kinds[sub] == "teleprompter"
             for t, upto in rs if t > phase.kill_t and upto > phase.seq_at_kill]
    return round(min(after) - phase.kill_t, 3) if after else None


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


def start_servers(args: argparse.Namespace, data: Path, database_url: str, bus_url: str) -> list[tuple[subprocess.Popen[bytes], int]]:
    """`--instances` servers over one store (and one bus); each on its own port and data dir."""
    servers = []
    for k in range(args.instances):
        port = free_port()
        env = {**os.environ, "CUECARD_DATA_DIR": str(data / f"i{k}") if k else str(data), "CUECARD_PORT": str(port),
               "CUECARD_LOAD_DEMO": "false", "OPENBLAS_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
               "CUECARD_DATABASE_URL": database_url, "CUECARD_BUS_URL": bus_url,
               **{f"CUECARD_API_KEY_{r.upper()}": key for r, key in KEYS.items()}}
        cmd = [sys.executable, "-m", "api.cli", "serve", "--no-replay"]
        if args.server_cpus:
            cmd = ["taskset", "-c", args.server_cpus, *cmd]
        print(f"starting server {k} on :{port} ({database_url.split(':')[0]}, bus {bus_url.split(':')[0]}) …",
              flush=True)
        servers.append((subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL), port))
    for server, port in servers:
        deadline = time.time() + 300
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.time() > deadline or server.poll() is not None:
                    raise SystemExit("a server did not start") from None
                time.sleep(0.5)
    return servers


def main() -> None:
    """Start the server(s), run the phases, print the table (and `--json`)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--subscribers", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--fresh", type=float, default=0.2, help="share of comments with a never-seen text")
    ap.add_argument("--server-cpus", default="", help="pin the server to these CPUs (taskset list, e.g. 0,1)")
    ap.add_argument("--instances", type=int, default=1, help="servers sharing the rooms (needs --bus redis)")
    ap.add_argument("--bus", choices=("memory", "redis"), default="memory", help="redis: a throwaway redis-server")
    ap.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite",
                    help="postgresql: a throwaway cluster (Debian's binaries)")
    ap.add_argument("--kill-one", action="store_true", help="SIGKILL the room's owner halfway through the target phase")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object at the end")
    args = ap.parse_args()
    if args.instances > 1 and args.bus != "redis":
        raise SystemExit("--instances > 1 needs --bus redis")
    if args.kill_one and args.instances < 2:
        raise SystemExit("--kill-one needs --instances 2 or more")

    sys.path.insert(0, str(ROOT / "tests"))
    with contextlib.ExitStack() as stack:
        database_url = bus_url = ""
        data = Path(tempfile.mkdtemp(prefix="cuecard-bench-"))
        if args.database == "postgresql":
            from backends import postgres  # the tests' throwaway cluster

            pg = stack.enter_context(postgres())
            database_url = pg.create_database("bench")
        else:
            database_url = f"sqlite:///{(data / 'cuecard.db').resolve()}"
        if args.bus == "redis":
            from backends import redis_server

            bus_url = stack.enter_context(redis_server()).url
        else:
            bus_url = "memory://"
        store = Store(database_url)
        seed_demo(store)
        servers = start_servers(args, data, database_url, bus_url)
        try:
            port = servers[0][1]
            health = httpx.get(f"http://127.0.0.1:{port}/health").json()
            procs = [psutil.Process(srv.pid) for srv, _ in servers]  # taskset execs the server: same process
            texts = comment_texts(args.fresh)
            bases = [f"ws://127.0.0.1:{p}/ws/rooms/demo" for _, p in servers]
            print("warm-up: 200 comments/s for 5 s on the first instance (not reported; it becomes the owner) …",
                  flush=True)
            asyncio.run(run_phase(bases[:1], Phase("warmup", 200, 4, 5.0), procs[:1], texts))
            phases = [Phase("baseline", 100, 10, args.seconds)]
            if args.instances > 1:
                phases.append(Phase("single", args.rate, args.subscribers, args.seconds))
            phases.append(Phase("target", args.rate, args.subscribers, args.seconds))
            for phase in phases:
                many = phase.name == "target" and args.instances > 1
                phase.reconnect = many and args.kill_one
                kill = (lambda: servers[0][0].send_signal(signal.SIGKILL)) if phase.reconnect else None
                print(f"phase {phase.name}: {phase.rate} comments/s, {phase.subscribers} subscribers, "
                      f"{phase.seconds:.0f} s on {len(bases) if many else 1} instance(s)"
                      f"{' (SIGKILL of instance 0 halfway)' if kill else ''} …", flush=True)
                asyncio.run(run_phase(bases if many else bases[:1], phase, procs if many else procs[:1], texts, kill))
            stored_ids = {r["comment_id"] for r in _all_comments(store)}
            for phase in phases:
                stored = {c for c in stored_ids if c.startswith(phase.name)}
                phase.lost = len(phase.acked - stored)
            print(f"\nserver: {health.get('embedding_model')} · models {health.get('models')} · "
                  f"{psutil.cpu_count()} CPUs on this machine, server pinned to: {args.server_cpus or 'no'} · "
                  f"fresh texts {args.fresh:.0%} · {args.instances} instance(s), {args.database}, bus {args.bus}\n")
            print(report(phases))
            if args.json:
                target = phases[-1]
                figures: dict[str, Any] = {
                    "instances": args.instances, "database": args.database, "bus": args.bus,
                    "card_p99_ms": round(pct(latencies(target, "teleprompter"), 99) * 1000, 1),
                    "card_p50_ms": round(pct(latencies(target, "teleprompter"), 50) * 1000, 1),
                    "baseline_card_p99_ms": round(pct(latencies(phases[0], "teleprompter"), 99) * 1000, 1),
                    "lost": sum(p.lost for p in phases), "acked": len(target.acked),
                    "dropped": target.dropped, "overloaded": target.overloaded}
                if args.instances > 1:
                    figures["single_card_p99_ms"] = round(pct(latencies(phases[1], "teleprompter"), 99) * 1000, 1)
                if args.kill_one:
                    figures["failover_s"] = failover_s(target)
                    figures["reconnect_max_s"] = round(max(target.reconnects), 3) if target.reconnects else None
                    figures["reconnected"] = len(target.reconnects)
                print(json.dumps(figures))
        finally:
            for server, _ in servers:
                server.send_signal(signal.SIGTERM)
            for server, _ in servers:
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
