"""The csagent HTTP app factory: ingestion, reviews, threads and the internal business API, over
the queue and the agent it composes (one set of services per process)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine

from api.errors import install_error_handlers
from api.limits import BodySizeLimit
from api.routes import health, internal, messages, metrics, reviews, threads
from graph.composition import Composition
from store.keys import resolve_api_key, resolve_internal_api_key, resolve_reviewer_api_key
from store.queue import Processor
from store.settings import Settings, get_settings

MAX_BODY_BYTES = 64 * 1024


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    processor: Processor | None = None,
    queue_worker: bool | None = None,
    poll: bool = False,
) -> FastAPI:
    """The app over a process's services built here (see `app_for`); `poll`: also read each
    marketplace's inbox in the background, what `csagent serve` does when CSAGENT_MIRAKL_POLL
    is on."""
    composition = Composition.build(
        settings or get_settings(), engine=engine, processor=processor, poll=poll
    )
    return app_for(composition, queue_worker=queue_worker)


def app_for(composition: Composition, *, queue_worker: bool | None = None) -> FastAPI:
    """The app over the services the composition root built once: the routes, the queue worker
    and the poller all use the same ones."""
    settings, pipeline, poller = composition.settings, composition.pipeline, composition.poller
    agent = composition.agent
    run_worker = settings.api_queue_worker if queue_worker is None else queue_worker

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if agent is not None:
            # Load (or, on a fresh install, train) the classifier before the server says it is
            # up, never inside the first customer's request.
            await run_in_threadpool(agent.services.classifier.local.predict, "warm up")
        stop = threading.Event()
        worker = None
        if run_worker:
            worker = threading.Thread(
                target=pipeline.run_worker, args=(stop, settings.queue_poll_s),
                name="csagent-queue-worker", daemon=True,
            )  # fmt: skip
            worker.start()
        polling = poller.run_in_thread(stop) if poller is not None else None
        try:
            yield
        finally:
            stop.set()
            if polling is not None:
                polling.join(timeout=15)  # its lock is released: another process takes over
            if worker is not None:
                worker.join(timeout=10)
            composition.close()

    app = FastAPI(
        title="csagent",
        version="0.1.0",
        description="Customer-service agent for Mirakl marketplace sellers.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.pipeline = pipeline
    app.state.poller = poller
    app.state.agent = agent  # None: reviews and drafts by the agent answer 409
    app.state.api_key = resolve_api_key(settings)
    app.state.internal_api_key = resolve_internal_api_key(settings)
    app.state.reviewer_api_key = resolve_reviewer_api_key(settings)
    # The agent's drafting service (knowledge base, model, tools) serves the draft endpoint
    # too, and drafts read the order from Mirakl with the agent's clients.
    services = composition.services
    app.state.drafting = services.drafting
    app.state.mirakl = services.mirakl
    app.state.mirakl_for = services.mirakl_for  # each thread's own marketplace
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES, prefix="/")
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(messages.router)
    app.include_router(internal.router)
    app.include_router(threads.router)
    app.include_router(threads.bulk)
    app.include_router(reviews.router)
    return app
