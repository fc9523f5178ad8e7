"""Human review: the pending Agent-Inbox requests, and the answers that resume the graph."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.deps import ApiKeyDep
from api.errors import ApiError
from store.models import Thread

router = APIRouter(prefix="/api/v1", tags=["review"])


class ReviewAnswer(BaseModel):
    type: Literal["accept", "edit", "response", "ignore"]
    args: dict[str, Any] | str | None = Field(
        default=None,
        description='edit: {"reply": "text to send"}; response: {"note": "what to change"}',
    )


class PendingReview(BaseModel):
    thread_id: str
    intent: str | None
    confidence: float | None
    action_request: dict[str, Any]
    config: dict[str, Any]
    description: str
    draft: dict[str, Any] | None = None


class ReviewOutcome(BaseModel):
    thread_id: str
    status: str
    reply: str | None = None
    actions: list[str] = Field(default_factory=list)


def _agent(request: Request) -> Any:
    from graph.processor import Agent

    processor = request.app.state.pipeline.processor
    if not isinstance(processor, Agent):
        raise ApiError(409, "agent_disabled", "the agent is off (CSAGENT_PROCESSING=store)")
    return processor


@router.get("/reviews", response_model=list[PendingReview])
async def reviews(request: Request, _key: ApiKeyDep) -> list[PendingReview]:
    """Threads waiting for a human, oldest first, with the request to answer."""
    agent = _agent(request)

    def read() -> list[PendingReview]:
        with request.app.state.pipeline.sessions() as session:
            threads = session.execute(
                select(Thread.mirakl_thread_id, Thread.intent, Thread.confidence)
                .where(Thread.status == "awaiting_approval")
                .order_by(Thread.updated_at)
            ).all()
        pending = []
        for thread_id, intent, confidence in threads:
            found = agent.pending_review(thread_id)
            if found is None:
                continue
            req = found["request"]
            pending.append(
                PendingReview(
                    thread_id=thread_id, intent=intent, confidence=confidence,
                    action_request=req["action_request"], config=req["config"],
                    description=req["description"], draft=req.get("draft"),
                )
            )  # fmt: skip
        return pending

    return await run_in_threadpool(read)


@router.post(
    "/threads/{thread_id}/review", response_model=ReviewOutcome, responses={404: {}, 409: {}}
)
async def answer_review(
    thread_id: str, answer: ReviewAnswer, request: Request, _key: ApiKeyDep
) -> ReviewOutcome:
    """accept / edit send the (edited) reply; response asks for a new draft; ignore closes."""
    agent = _agent(request)

    def resume() -> ReviewOutcome:
        with request.app.state.pipeline.sessions.begin() as session:
            try:
                outcome = agent.resume(session, thread_id, answer.model_dump())
            except LookupError as exc:
                raise ApiError(404, "no_pending_review", str(exc)) from None
            except ValueError as exc:
                raise ApiError(422, "invalid_review", str(exc)) from None
        return ReviewOutcome(
            thread_id=thread_id, status=outcome.status, reply=outcome.reply,
            actions=list(outcome.detail.get("actions") or []),
        )  # fmt: skip

    return await run_in_threadpool(resume)
