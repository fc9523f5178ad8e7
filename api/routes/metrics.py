"""Prometheus metrics at /metrics: messages by final status and intent, processing latency,
stages, embeddings, Mirakl calls by outcome, and the queue as the database sees it now."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from api.deps import SessionDep
from store.metrics import FAILED_EVENTS, QUEUE_DEPTH, multiprocess_registry
from store.queue import queue_health

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response)
def metrics(session: SessionDep) -> Response:
    """Prometheus text format; with several server processes (PROMETHEUS_MULTIPROC_DIR set),
    the sum of all of them."""
    queue = queue_health(session)
    QUEUE_DEPTH.set(queue.queued)
    FAILED_EVENTS.set(queue.failed)
    shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    registry = multiprocess_registry(Path(shared)) if shared else REGISTRY
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
