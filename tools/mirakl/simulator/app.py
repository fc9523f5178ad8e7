"""A Mirakl Seller API simulator, in memory, faithful to Mirakl's published OpenAPI
(tools/mirakl/spec; docs/mirakl-contract.md).

Everything under `/api` answers in the published shapes (CI validates them against the spec's
response schemas) and refuses what Mirakl refuses: the same paths, auth header, paging, status
codes and `{"status", "message"}` error bodies. Everything under `/_sim` is a test control that real
Mirakl does not have: create orders, make a customer write, inject faults, reset.
Run it with `csagent mirakl-sim --port 8081`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from tools.mirakl.simulator import account, controls, inbox, orders
from tools.mirakl.simulator.state import SimError, SimulatorState


def create_simulator(
    *,
    api_key: str = "sim-shop-key",
    shop_id: str = "2001",
    shop_name: str = "Maison Électro",
    seed: bool = True,
    webhook_url: str | None = None,
) -> FastAPI:
    """A fresh simulator app with its own in-memory state (seeded from the examples by default)."""
    state = SimulatorState(
        api_key=api_key, shop_id=shop_id, shop_name=shop_name, seed=seed, webhook_url=webhook_url
    )
    state.reset()
    app = FastAPI(
        title="Mirakl Seller API simulator",
        description="Implements docs/mirakl-contract.md. `/_sim/*` routes are test controls.",
    )
    app.state.sim = state

    @app.exception_handler(SimError)
    async def sim_error(_: Request, exc: SimError) -> JSONResponse:
        return JSONResponse({"status": exc.status, "message": exc.message}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        status = 422 if _local_path(request).startswith("/_sim") else 400
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        return JSONResponse({"status": status, "message": details}, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"status": exc.status_code, "message": str(exc.detail)}, status_code=exc.status_code
        )

    @app.middleware("http")
    async def inject_faults(request: Request, call_next: Any) -> Response:
        path = _local_path(request)
        if not path.startswith("/api"):
            return await call_next(request)
        fault = state.take_fault(path.removeprefix("/api"))
        if fault is None:
            return await call_next(request)
        if fault.status is not None:
            # The request is refused before Mirakl does anything with it.
            await asyncio.sleep(fault.latency_ms / 1000)
            headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.status == 429 else {}
            message = "Too many requests" if fault.status == 429 else "Service unavailable"
            return JSONResponse(
                {"status": fault.status, "message": message},
                status_code=fault.status,
                headers=headers,
            )
        # A delay alone: the request is processed, and the answer comes late.
        response = await call_next(request)
        await asyncio.sleep(fault.latency_ms / 1000)
        return response

    app.include_router(account.router)
    app.include_router(inbox.router)
    app.include_router(orders.router)
    app.include_router(controls.router)
    return app


def _local_path(request: Request) -> str:
    """The path inside this simulator (without the marketplace prefix it is mounted under)."""
    path = request.url.path
    root = str(request.scope.get("root_path") or "")
    return path.removeprefix(root) if root and path.startswith(root) else path


def create_marketplaces_simulator(
    marketplaces: list[str], *, seed: bool = False, **options: Any
) -> FastAPI:
    """Several Mirakl instances in one process, one per marketplace, each under its own path:
    `/<name>/api` (the Seller API) and `/<name>/_sim` (its controls), each with its own state,
    so thread and order ids may collide between them as they do between real marketplaces."""
    app = FastAPI(
        title="Mirakl Seller API simulator, several marketplaces",
        description="Each marketplace at /<name>/api, its controls at /<name>/_sim.",
    )
    app.state.marketplaces = {}
    for name in marketplaces:
        simulator = create_simulator(seed=seed, **options)
        simulator.state.sim.marketplace = name
        app.state.marketplaces[name] = simulator.state.sim
        app.mount(f"/{name}", simulator)

    @app.get("/", include_in_schema=False)
    async def index() -> dict[str, Any]:
        return {"marketplaces": {name: f"/{name}/api" for name in marketplaces}}

    return app
