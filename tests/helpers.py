"""Helpers shared by tests: loopback servers and the simulator handle."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
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
    """The API with the agent over the seeded business data, Mirakl being `sim`; yields its URL
    (webhook key "k", reviewer key "rk")."""
    from store.business import seed_business_data
    from store.db import session_scope

    with session_scope() as session:
        seed_business_data(session)
    with serve_csagent(sim.url, mirakl_base_url=sim.api, **overrides) as csagent:
        yield csagent.api


SIM_KEY = {"Authorization": "sim-shop-key"}
WEBHOOK = {"X-API-Key": "k"}
REVIEWER = {"X-API-Key": "rk", "X-Actor": "Ana (support)"}
# Confidence thresholds have their own tests; tests of the branches after them use these.
LOW_THRESHOLDS = {"order_status": 0.5, "cancellation_request": 0.5, "address_update": 0.5}


@dataclass
class Csagent:
    """csagent served on loopback over a Mirakl simulator, driven as its users drive it: the
    customer writes on Mirakl (the simulator's API), n8n notifies csagent, reviewers and agents
    answer through the API or the dashboard. The one harness of the end-to-end tests."""

    api: str  # csagent's base URL
    sim: str  # the simulator's base URL (several marketplaces: each at `{sim}/{name}`)
    app: Any
    sim_state: Any = None  # the simulator's state, when it runs in this process
    headers: dict[str, str] = field(default_factory=lambda: dict(WEBHOOK))
    reviewer: dict[str, str] = field(default_factory=lambda: dict(REVIEWER))

    def sim_url(self, marketplace: str | None = None) -> str:
        return f"{self.sim}/{marketplace}" if marketplace else self.sim

    def create_order(self, order: dict[str, Any], *, marketplace: str | None = None) -> None:
        created = httpx.post(f"{self.sim_url(marketplace)}/_sim/orders", json=order)
        assert created.status_code == 201, created.text

    def customer_writes(
        self, thread_id: str, body: str, order_id: str | None = None, *,
        marketplace: str | None = None, **extra: Any,
    ) -> dict[str, Any]:  # fmt: skip
        """The customer writes on Mirakl; the notification is posted to csagent as n8n does
        (on several marketplaces, by that marketplace's workflow)."""
        created = httpx.post(
            f"{self.sim_url(marketplace)}/_sim/threads/{thread_id}/customer-message",
            json={"body": body, "order_id": order_id, **extra},
        )
        assert created.status_code == 201, created.text
        event = created.json()["event"]
        if marketplace:
            assert event["marketplace"] == marketplace
        return self.notify(event)

    def notify(self, event: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(
            f"{self.api}/api/v1/messages", json=event, headers=self.headers, timeout=300
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def shop_messages(self, thread_id: str, *, marketplace: str | None = None) -> list[str]:
        """What the shop has written on the thread, as Mirakl has it ([]: no such thread)."""
        thread = httpx.get(
            f"{self.sim_url(marketplace)}/api/inbox/threads/{thread_id}", headers=SIM_KEY
        )
        if thread.status_code == 404:
            return []
        return [m["body"] for m in thread.json()["messages"] if m["from"]["type"] == "SHOP_USER"]

    def mirakl_order(self, order_id: str, *, marketplace: str | None = None) -> dict[str, Any]:
        page = httpx.get(
            f"{self.sim_url(marketplace)}/api/orders", params={"order_ids": order_id},
            headers=SIM_KEY,
        )  # fmt: skip
        [order] = page.json()["orders"]
        return dict(order)

    def order_state(self, order_id: str, *, marketplace: str | None = None) -> str:
        return str(self.mirakl_order(order_id, marketplace=marketplace)["order_state"])

    def fault(self, *, marketplace: str | None = None, **fault: Any) -> None:
        created = httpx.post(f"{self.sim_url(marketplace)}/_sim/faults", json=fault)
        assert created.status_code == 201

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """csagent's API (`/api/v1{path}`), as a reviewer by default."""
        kwargs.setdefault("headers", self.reviewer)
        return httpx.request(method, f"{self.api}/api/v1{path}", timeout=300, **kwargs)

    def reviews(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/reviews").json())

    def review(self, thread_id: str, answer: Any) -> httpx.Response:
        return self.call("POST", f"/threads/{thread_id}/review", json=answer)

    def pending_review(self, thread_id: str) -> dict[str, Any]:
        [review] = [r for r in self.reviews() if r["thread_id"] == thread_id]
        return dict(review)

    def client(self, password: str = "correct horse") -> Any:
        """The dashboard's API, signed in as Ana (gradio_client)."""
        from gradio_client import Client

        return Client(f"{self.api}/ui/", auth=("ana", password), verbose=False)


def csagent_settings(port: int, **overrides: Any) -> Any:
    """The settings of a csagent served on `port` for a test: the keys above, the agent on,
    its tools calling its own internal API."""
    from pydantic import SecretStr

    from store.settings import Settings

    return Settings(**{
        "api_key": SecretStr("k"), "internal_api_key": SecretStr("ik"),
        "reviewer_api_key": SecretStr("rk"), "processing": "agent",
        "internal_api_url": f"http://127.0.0.1:{port}/internal/v1", **overrides,
    })  # fmt: skip


@contextmanager
def serve_csagent(
    sim: str, *, sim_state: Any = None, dashboard: bool = False, **overrides: Any
) -> Iterator[Csagent]:
    """csagent (with the dashboard when asked) over the simulator at `sim`; `overrides` are
    settings (say `mirakl_base_url`, or `marketplaces` for several)."""
    port = free_port()
    settings = csagent_settings(port, **overrides)
    if dashboard:
        from cli.web import create_web_app

        app = create_web_app(settings, queue_worker=False, poll=False)
    else:
        from api.app import create_app

        app = create_app(settings, queue_worker=False)
    with serve(app, lifespan="on", port=port) as url:
        yield Csagent(url, sim, app, sim_state)
