"""Helpers shared by tests: loopback servers and the simulator handle."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from fastapi import FastAPI


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(app: FastAPI, lifespan: str = "off") -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a loopback port in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


@dataclass
class Simulator:
    app: FastAPI
    url: str
    api_key: str = "sim-shop-key"

    @property
    def api(self) -> str:
        return f"{self.url}/api"

    @property
    def state(self) -> Any:
        return self.app.state.sim


@dataclass
class Internal:
    """The internal business API of a served app."""

    url: str
    key: str = "internal-key"

    def get(self, path: str, key: str | None = "internal-key") -> Any:
        import httpx

        headers = {"X-API-Key": key} if key is not None else {}
        return httpx.get(f"{self.url}/internal/v1{path}", headers=headers)

    def put(self, path: str, body: Any, key: str | None = "internal-key") -> Any:
        import httpx

        headers = {"X-API-Key": key} if key is not None else {}
        return httpx.put(f"{self.url}/internal/v1{path}", json=body, headers=headers)
