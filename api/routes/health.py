"""Health for load balancers, monitoring and the demo: 503 when the database is unreachable;
otherwise 200, `degraded` when messages have failed for good or wait too long in the queue."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from api.deps import SessionDep, SettingsDep
from store.pollers import poller_pid
from store.queue import marketplace_health, queue_health

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(request: Request, session: SessionDep, settings: SettingsDep) -> JSONResponse:
    try:
        queue = queue_health(session)
    except SQLAlchemyError as exc:
        return JSONResponse(
            {"status": "unavailable", "database": f"unreachable: {type(exc).__name__}"},
            status_code=503,
        )
    problems = []
    if queue.failed:
        problems.append(
            f"{queue.failed} event(s) failed: see GET /api/v1/events?status=failed, retry them "
            "with POST /api/v1/events/retry or `csagent events retry --all-failed`"
        )
    waited = queue.oldest_queued_s
    if waited is not None and waited > settings.health_max_queue_age_s:
        problems.append(
            f"the oldest queued event has waited {waited:.0f} s: is a queue worker running?"
        )
    marketplaces = {}
    for connection in settings.connections():
        stored = settings.stored_name(connection.name)
        health = marketplace_health(session, stored)
        try:
            connection.key()
            key = "configured"
        except ValueError:
            key = f"missing: set {connection.api_key_env}"
            problems.append(f"marketplace {connection.name}: its API key is not configured")
        marketplaces[connection.name] = {  # no URL: /healthz is open (`csagent mirakl check`)
            "key": key,
            "queued_events": health.queued,
            "failed_events": health.failed,
            "unverified_messages": health.unverified,
            "inbox_synced_to": health.inbox_synced_to.isoformat()
            if health.inbox_synced_to
            else None,
            # How old csagent's view of this marketplace's inbox is (polling, or `csagent sync`).
            "inbox_lag_s": round(health.lag_s, 1) if health.lag_s is not None else None,
            # Which process reads this marketplace's inbox: one at a time per database.
            "inbox_poller": _poller(request, session, connection.name, stored),
            "replies_owed": health.replies_owed,
            "next_reply_due_at": health.next_due_at.isoformat() if health.next_due_at else None,
        }
        status = _poll_status(request, connection.name)
        if status is not None and status.last_error:
            marketplaces[connection.name]["inbox_poll_error"] = _without_urls(status.last_error)
        limit = max(settings.mirakl_poll_interval_s * 3, 600.0)
        if settings.mirakl_poll and health.lag_s is not None and health.lag_s > limit:
            problems.append(
                f"marketplace {connection.name}: its inbox was last read completely "
                f"{health.lag_s:.0f} s ago (polling every {settings.mirakl_poll_interval_s:g} s)"
                + (
                    f"; last error: {_without_urls(status.last_error)}"
                    if status and status.last_error
                    else ""
                )
            )
        elif status is not None and health.lag_s is None and status.last_error:
            problems.append(
                f"marketplace {connection.name}: its inbox has never been read: "
                f"{_without_urls(status.last_error)}"
            )
    return JSONResponse(
        {
            "status": "degraded" if problems else "ok",
            "database": "ok",
            "queued_events": queue.queued,
            "failed_events": queue.failed,
            "oldest_queued_s": round(waited, 1) if waited is not None else None,
            "problems": problems,
            "marketplaces": marketplaces,
        }
    )


def _poll_status(request: Request, name: str) -> Any:
    poller = getattr(request.app.state, "poller", None)
    return poller.status.get(name) if poller is not None else None


def _poller(request: Request, session: SessionDep, name: str, stored: str) -> str:
    status = _poll_status(request, name)
    if status is not None and status.polling:
        return "this process"
    return "another process" if poller_pid(session, stored) else "none"


URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)


def _without_urls(text: str) -> str:
    """An error as /healthz shows it: which marketplace URL failed is in the logs and in
    `csagent mirakl check`, not on an unauthenticated endpoint."""
    return URL.sub("<url>", text)
