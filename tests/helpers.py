"""Helpers shared by tests: loopback servers and the simulator handle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from cli import local_server

# The product's own loopback server runner, shared with the demo and the benchmarks.
free_port = local_server.free_port
serve = local_server.serve_in_thread


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
