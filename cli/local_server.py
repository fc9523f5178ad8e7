"""Serve an ASGI app with uvicorn on a loopback port in a background thread (demo, bench, tests)."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import httpx
import uvicorn

from api.server import PROTOCOL


def wait_for_health(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> bool:
    """True once `url`/healthz answers 200; False if the process ended or time ran out."""
    deadline = time.monotonic() + timeout_s
    while process.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@contextmanager
def serve_in_thread(
    app: Any,
    lifespan: Literal["auto", "on", "off"] = "off",
    timeout_s: float = 300.0,  # the app may load or train the classifier before it is up
    port: int | None = None,
) -> Iterator[str]:
    """Yields the base URL while the app is served; stops the server on exit."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan=lifespan,
            http=PROTOCOL,  # as `csagent serve`: a request is read within a deadline
        )  # fmt: skip
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"local server on port {port} did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
