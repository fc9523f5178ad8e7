"""Ingestion: webhook senders (n8n, the simulator, Mirakl) post each new customer message here."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import ApiKeyDep, PipelineDep, SignatureDep
from api.errors import ApiError, error_responses
from store.ingest import IncomingMessage
from store.queue import EventView

router = APIRouter(
    prefix="/api/v1", tags=["ingestion"], responses=error_responses(401, 413, 422, 500)
)


class MessageOutcome(BaseModel):
    event_id: int
    thread_id: str
    status: str
    intent: str | None = None
    confidence: float | None = None
    classifier: str | None = Field(
        default=None, description="Who classified it: `local`, or `llm` (the cascade's model)"
    )
    reply: str | None = None
    reason: str | None = Field(
        default=None, description="Why a person reviews it, or why it is unverified."
    )
    confirmation: str | None = Field(
        default=None,
        description="`asked`: the reply asks the customer to confirm a cancellation or an "
        "address change (nothing is done before a yes); or how this message answered such a "
        "question: `yes`, `no`, `unclear` (a person reads it), `late` (a yes after it expired), "
        "`expired`.",
    )
    duplicate: bool = False


class Queued(BaseModel):
    event_id: int
    status: str
    duplicate: bool = False


class EventOut(BaseModel):
    event_id: int
    thread_id: str | None
    message_id: str
    marketplace: str = Field(description="As stored: `default` is the default marketplace")
    status: str
    attempts: int
    error: str | None
    intent: str | None = None
    confidence: float | None = None
    reply: str | None = Field(
        default=None,
        description="Always null here: reply texts are read with the reviewer key "
        "(GET /api/v1/threads/{thread_id}); the answer to POST /api/v1/messages carries its own.",
    )
    reason: str | None = None
    received_at: datetime
    processed_at: datetime | None
    next_attempt_at: datetime | None = None


def outcome(view: EventView, duplicate: bool) -> MessageOutcome:
    return MessageOutcome(
        event_id=view.event_id,
        thread_id=view.thread_id or "",
        status=view.status,
        intent=view.intent,
        confidence=view.confidence,
        classifier=view.classifier,
        reply=view.reply,
        reason=view.reason,
        confirmation=view.confirmation,
        duplicate=duplicate,
    )


@router.post(
    "/messages",
    response_model=MessageOutcome,
    responses={
        202: {"model": Queued, "description": "Accepted for background processing"},
    },
)
async def post_message(
    message: IncomingMessage,
    request: Request,
    pipeline: PipelineDep,
    _key: ApiKeyDep,
    _signature: SignatureDep,
    mode: Literal["sync", "async"] = "sync",
) -> Any:
    """Store and process one customer message. Idempotent on `message_id`: a repeat returns the
    first outcome with `"duplicate": true` and does nothing else."""
    raw = await request.json()
    if mode == "async":
        accepted = await run_in_threadpool(pipeline.accept, message, source="webhook", raw=raw)
        view = await run_in_threadpool(pipeline.event_view, accepted.event_id)
        assert view is not None
        body = Queued(event_id=view.event_id, status=view.status, duplicate=not accepted.is_new)
        return JSONResponse(body.model_dump(), status_code=202)
    view, duplicate = await run_in_threadpool(pipeline.ingest, message, source="webhook", raw=raw)
    assert view is not None
    return outcome(view, duplicate)


def event_out(view: EventView) -> EventOut:
    """An event as the webhook key sees it: its outcome, never the reply text (the webhook key
    lives in n8n and the like; reply texts, with customers' names and orders, are the reviewers'
    to read through the threads API)."""
    return EventOut.model_validate(view, from_attributes=True).model_copy(update={"reply": None})


@router.get("/events", response_model=list[EventOut])
def list_events(
    _key: ApiKeyDep,
    pipeline: PipelineDep,
    state: Annotated[
        Literal["received", "processed", "failed"] | None,
        Query(alias="status", description="received (queued), processed or failed"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> list[EventOut]:
    """Accepted events, newest first; page on with `before_id` = the last event_id seen."""
    return [event_out(v) for v in pipeline.events(status=state, limit=limit, before_id=before_id)]


class Requeued(BaseModel):
    requeued: list[int]


@router.post("/events/retry", response_model=Requeued, status_code=202)
def retry_failed_events(_key: ApiKeyDep, pipeline: PipelineDep) -> Requeued:
    """Put every failed event back in the queue, with a fresh set of attempts; the queue workers
    process them (see GET /api/v1/events/{event_id})."""
    return Requeued(requeued=pipeline.requeue_failed())


@router.post(
    "/events/{event_id:int}/retry", response_model=EventOut, responses=error_responses(404, 409)
)
def retry_event(
    event_id: Annotated[int, Path(ge=1, le=2**63 - 1)], _key: ApiKeyDep, pipeline: PipelineDep
) -> EventOut:
    """Run a failed event again now (after fixing its cause) and answer its new outcome."""
    try:
        return event_out(pipeline.retry(event_id))
    except LookupError as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except ValueError as exc:
        raise ApiError(409, "not_failed", str(exc)) from None


@router.get("/events/{event_id:int}", response_model=EventOut, responses=error_responses(404))
def get_event(
    event_id: Annotated[int, Path(ge=1, le=2**63 - 1)], _key: ApiKeyDep, pipeline: PipelineDep
) -> EventOut:
    """Where an accepted event is: `queued`, its outcome status, or `failed` with the error."""
    view = pipeline.event_view(event_id)
    if view is None:
        raise ApiError(404, "not_found", f"no event {event_id}")
    return event_out(view)
