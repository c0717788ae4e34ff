"""A real uvicorn server on 127.0.0.1:<free port> in a thread, for tests that need a socket but
want the app object in hand (its services, its hub); `free_port` for servers in a subprocess."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def free_port() -> int:
    """A port nothing listens on right now, for a server started in a subprocess."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _ThreadServer(uvicorn.Server):
    """uvicorn without signal handlers (only the main thread may install them)."""

    def install_signal_handlers(self) -> None:
        pass


@contextmanager
def serve_in_thread(app: Any, timeout_s: float = 120.0) -> Iterator[int]:
    """Serve `app` on loopback until the block ends; yields the port."""
    # No per-message deflate, as `cuecard serve` runs it (see api/cli.py).
    server = _ThreadServer(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                          ws_per_message_deflate=False))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.time() + timeout_s
    while not server.started:
        assert time.time() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)
