"""Human review: the pending Agent-Inbox requests, and the answers that resume the graph."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import AgentDep, ApiKeyDep, SessionDep
from api.errors import ApiError, error_responses
from store.threads import threads_awaiting_review

router = APIRouter(
    prefix="/api/v1", tags=["review"], responses=error_responses(401, 404, 409, 422, 500)
)


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


@router.get("/reviews", response_model=list[PendingReview])
def reviews(_key: ApiKeyDep, session: SessionDep, agent: AgentDep) -> list[PendingReview]:
    """Threads waiting for a human, oldest first, with the request to answer."""
    pending = []
    for thread_id, intent, confidence in threads_awaiting_review(session):
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


@router.post("/threads/{thread_id}/review", response_model=ReviewOutcome)
def answer_review(
    thread_id: str, answer: ReviewAnswer, _key: ApiKeyDep, session: SessionDep, agent: AgentDep
) -> ReviewOutcome:
    """accept / edit send the (edited) reply; response asks for a new draft; ignore closes."""
    try:
        outcome = agent.resume(session, thread_id, answer.model_dump())
    except LookupError as exc:
        raise ApiError(404, "no_pending_review", str(exc)) from None
    except ValueError as exc:
        raise ApiError(422, "invalid_review", str(exc)) from None
    session.commit()
    return ReviewOutcome(
        thread_id=thread_id, status=outcome.status, reply=outcome.reply,
        actions=list(outcome.detail.get("actions") or []),
    )  # fmt: skip
