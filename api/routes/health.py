"""Health for load balancers, monitoring and the demo: 503 when the database is unreachable;
otherwise 200, `degraded` when messages have failed for good or wait too long in the queue."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from api.deps import SessionDep, SettingsDep
from store.queue import queue_health

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(session: SessionDep, settings: SettingsDep) -> JSONResponse:
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
    return JSONResponse(
        {
            "status": "degraded" if problems else "ok",
            "database": "ok",
            "queued_events": queue.queued,
            "failed_events": queue.failed,
            "oldest_queued_s": round(waited, 1) if waited is not None else None,
            "problems": problems,
        }
    )
