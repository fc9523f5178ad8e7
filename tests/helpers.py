"""Helpers shared by tests: loopback servers and the simulator handle."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
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


def postgres_stopped(data_dir: Any, timeout_s: float = 60.0) -> bool:
    """The embedded PostgreSQL of `data_dir` has stopped (its pid file is gone). The last process
    using it stops it on exit; on a loaded machine the shutdown checkpoint can outlast the
    process by a few seconds, so this waits for it."""
    import time
    from pathlib import Path

    pid_file = Path(data_dir) / "pgdata" / "postmaster.pid"
    deadline = time.monotonic() + timeout_s
    while pid_file.exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def stop_process(process: subprocess.Popen[Any], wait_s: float = 30.0) -> None:
    """Ask a server process to stop, and kill it if it has not within `wait_s`."""
    process.terminate()
    try:
        process.wait(wait_s)
    except subprocess.TimeoutExpired:
        process.kill()


@contextmanager
def served_agent(sim: Simulator, **overrides: Any) -> Iterator[str]:
    """The API with the agent over the seeded business data, its tools calling its own internal
    API, Mirakl being `sim`; yields its URL (webhook key "k", reviewer key "rk")."""
    from pydantic import SecretStr

    from api.app import create_app
    from store.business import seed_business_data
    from store.db import session_scope
    from store.settings import Settings

    with session_scope() as session:
        seed_business_data(session)
    port = free_port()
    settings = Settings(
        api_key=SecretStr("k"), internal_api_key=SecretStr("ik"), reviewer_api_key=SecretStr("rk"),
        processing="agent", mirakl_base_url=sim.api,
        internal_api_url=f"http://127.0.0.1:{port}/internal/v1", **overrides,
    )  # fmt: skip
    with serve(create_app(settings, queue_worker=False), lifespan="on", port=port) as url:
        yield url
