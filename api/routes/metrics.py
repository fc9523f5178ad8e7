"""Prometheus metrics at /metrics: messages by final status and intent, processing latency,
stages, embeddings, Mirakl calls by outcome, and, as the database sees them now: the queue, each
marketplace's polling lag and its replies owed with the time to the next deadline (Mirakl's
reply clock)."""

from __future__ import annotations

import math
import os
from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from api.deps import SessionDep, SettingsDep
from store.metrics import (
    FAILED_EVENTS,
    MIRAKL_POLL_LAG,
    QUEUE_DEPTH,
    REPLIES_OWED,
    REPLY_DUE_SECONDS,
    multiprocess_registry,
)
from store.queue import marketplace_health, queue_health

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response)
def metrics(session: SessionDep, settings: SettingsDep) -> Response:
    """Prometheus text format; with several server processes (PROMETHEUS_MULTIPROC_DIR set),
    the sum of all of them."""
    queue = queue_health(session)
    QUEUE_DEPTH.set(queue.queued)
    FAILED_EVENTS.set(queue.failed)
    now = datetime.now(UTC)
    for connection in settings.connections():
        health = marketplace_health(session, settings.stored_name(connection.name))
        lag = health.lag_s
        MIRAKL_POLL_LAG.labels(connection.name).set(lag if lag is not None else math.nan)
        REPLIES_OWED.labels(connection.name).set(health.replies_owed)
        due = (health.next_due_at - now).total_seconds() if health.next_due_at else math.nan
        REPLY_DUE_SECONDS.labels(connection.name).set(due)  # NaN: nothing owed, no alert
    shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    registry = multiprocess_registry(Path(shared)) if shared else REGISTRY
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
