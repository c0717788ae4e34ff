"""Throwaway real PostgreSQL and Redis servers for tests (Debian's binaries), in a temp dir on loopback.

Tests that need one skip with a reason when the binaries are absent; `.ci/run` installs them.
initdb refuses to run as root, so as root the cluster runs as the `postgres` system user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from servers import free_port

PG_BIN = Path(os.environ.get("CUECARD_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _as_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no 'postgres' user to run initdb as")
    return ["runuser", "-u", "postgres", "--"]


class Postgres:
    """A running throwaway cluster: `url` for SQLAlchemy, `restart()` for fault tests."""

    def __init__(self, datadir: Path, port: int, prefix: list[str]) -> None:
        self.datadir, self.port, self.prefix = datadir, port, prefix
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"

    def ctl(self, *args: str) -> None:
        """Run pg_ctl on this cluster."""
        subprocess.run([*self.prefix, str(PG_BIN / "pg_ctl"), "-D", str(self.datadir), "-w", *args],
                       check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        """Start the server (listening on loopback only)."""
        self.ctl("-o", f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1 -c fsync=off",
                 "-l", str(self.datadir / "log"), "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server."""
        self.ctl("-m", mode, "stop")

    def create_database(self, name: str) -> str:
        """A fresh database in this cluster; its URL."""
        subprocess.run([*self.prefix, str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                        "-U", "postgres", name], check=True, capture_output=True, timeout=60)
        return self.url.rsplit("/", 1)[0] + "/" + name


@contextmanager
def postgres() -> Iterator[Postgres]:
    """Start a throwaway PostgreSQL cluster for the block, or skip when the binaries are absent."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL binaries not found in {PG_BIN} (apt-get install postgresql)")
    prefix = _as_user()
    root = Path(tempfile.mkdtemp(prefix="cuecard-pg-"))
    datadir = root / "data"
    datadir.mkdir()
    if prefix:
        shutil.chown(root, "postgres")
        shutil.chown(datadir, "postgres")
    subprocess.run([*prefix, str(PG_BIN / "initdb"), "-D", str(datadir), "-U", "postgres", "-A", "trust",
                    "--no-sync", "-E", "UTF8"], check=True, capture_output=True, timeout=120)
    pg = Postgres(datadir, free_port(), prefix)
    pg.start()
    try:
        yield pg
    finally:
        try:
            pg.stop("immediate")
        finally:
            shutil.rmtree(root, ignore_errors=True)


class Redis:
    """A running throwaway redis-server."""

    def __init__(self, port: int, proc: subprocess.Popen[bytes]) -> None:
        self.port, self.proc = port, proc
        self.url = f"redis://127.0.0.1:{port}/0"


@contextmanager
def redis_server() -> Iterator[Redis]:
    """Start a redis-server on loopback for the block, or skip when it is not installed."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server not found (apt-get install redis-server)")
    port = free_port()
    work = tempfile.mkdtemp(prefix="cuecard-redis-")
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", work],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    client = redis.Redis(port=port)
    deadline = time.time() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("redis-server did not start") from None
            time.sleep(0.05)
    client.close()
    try:
        yield Redis(port, proc)
    finally:
        proc.kill()
        proc.wait(10)
        shutil.rmtree(work, ignore_errors=True)
