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
from graph.drafting import DraftingService
from graph.processor import processor_for
from graph.services import Services
from store.db import get_engine
from store.keys import resolve_api_key, resolve_internal_api_key, resolve_reviewer_api_key
from store.queue import Pipeline, Processor
from store.settings import Settings, get_settings
from tools.mirakl.poller import Poller

MAX_BODY_BYTES = 64 * 1024


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    processor: Processor | None = None,
    queue_worker: bool | None = None,
    drafting: DraftingService | None = None,
    poll: bool = False,
) -> FastAPI:
    """The app; `poll`: also read each marketplace's inbox in the background (the seller's
    intake, tools/mirakl/poller.py), what `csagent serve` does when CSAGENT_MIRAKL_POLL is on."""
    settings = settings or get_settings()
    engine = engine or get_engine(settings)
    pipeline = Pipeline.from_settings(
        settings, engine=engine, processor=processor or processor_for(settings, engine)
    )
    run_worker = settings.api_queue_worker if queue_worker is None else queue_worker
    # A polled message takes the webhook's path: recorded, then processed by the queue.
    poller = Poller(settings, engine, pipeline.enqueue) if poll else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if agent_services is not None:
            # Load (or, on a fresh install, train) the classifier before the server says it is
            # up, never inside the first customer's request.
            await run_in_threadpool(agent_services.classifier.local.predict, "warm up")
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
            services.close()

    app = FastAPI(
        title="csagent",
        version="0.1.0",
        description="Customer-service agent for Mirakl marketplace sellers.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.pipeline = pipeline
    app.state.poller = poller
    app.state.api_key = resolve_api_key(settings)
    app.state.internal_api_key = resolve_internal_api_key(settings)
    app.state.reviewer_api_key = resolve_reviewer_api_key(settings)
    # When the agent runs, its drafting service (knowledge base, model, tools) serves the draft
    # endpoint too, rather than a second copy of everything.
    agent_services: Services | None = getattr(pipeline.processor, "services", None)
    services = agent_services or Services.from_settings(settings, engine)
    app.state.drafting = drafting or services.drafting
    app.state.mirakl = services.mirakl  # drafts read the order from Mirakl, as the agent does
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
