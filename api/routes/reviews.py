"""Human review: the pending Agent-Inbox requests, and the answers that resume the graph."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from pydantic import BaseModel, Field

from api.deps import AgentDep, MarketplaceDep, ReviewerKeyDep, SessionDep, SettingsDep
from api.errors import ApiError, error_responses
from graph.nodes.actions import ActionFailed
from graph.review_protocol import read_review_answer
from store.threads import ThreadRef, threads_awaiting_review
from tools.mirakl.errors import MiraklError

router = APIRouter(
    prefix="/api/v1", tags=["review"], responses=error_responses(401, 404, 409, 422, 500)
)


class ReviewAnswerIn(BaseModel):
    type: Literal["accept", "edit", "response", "ignore"]
    message_id: str | None = Field(
        default=None,
        max_length=128,
        description="The message the reviewed draft answers (from GET /reviews): a newer "
        "message of the thread replaces the review, and then the answer is refused (409)",
    )
    args: dict[str, Any] | str | None = Field(
        default=None,
        description='edit: {"reply": "text to send"} (or Agent Inbox\'s whole action request); '
        'response: {"note": "what to change"} or the note as a string; accept and edit may add '
        '"to": ["CUSTOMER"], ["OPERATOR"] or both, the reply\'s recipients on Mirakl',
    )


class PendingReview(BaseModel):
    thread_id: str
    marketplace: str = Field(description="The thread's marketplace (its configured name)")
    message_id: str | None = Field(
        default=None, description="The message this review answers; send it back with the answer"
    )
    intent: str | None
    confidence: float | None
    action_request: dict[str, Any]
    config: dict[str, Any]
    description: str
    draft: dict[str, Any] | None = None


class ReviewOutcome(BaseModel):
    thread_id: str
    marketplace: str
    status: str
    reply: str | None = None
    actions: list[str] = Field(default_factory=list)


@router.get("/reviews", response_model=list[PendingReview])
def reviews(
    _key: ReviewerKeyDep,
    session: SessionDep,
    agent: AgentDep,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[PendingReview]:
    """Threads waiting for a human, oldest first, with the request to answer (a page of them)."""
    pending = []
    for thread_id, intent, confidence, marketplace in threads_awaiting_review(
        session, limit, offset
    ):
        found = agent.pending_review(ThreadRef(thread_id, marketplace))
        if found is None:
            continue
        req = found.request.model_dump()
        pending.append(
            PendingReview(
                thread_id=thread_id, marketplace=settings.display_name(marketplace),
                message_id=found.message_id, intent=intent, confidence=confidence,
                action_request=req["action_request"], config=req["config"],
                description=req["description"], draft=req["draft"],
            )
        )  # fmt: skip
    return pending


@router.post(
    "/threads/{thread_id}/review",
    response_model=ReviewOutcome,
    responses=error_responses(502),
)
def answer_review(
    thread_id: str,
    answer: ReviewAnswerIn | list[ReviewAnswerIn],
    _key: ReviewerKeyDep,
    session: SessionDep,
    agent: AgentDep,
    marketplace: MarketplaceDep,
    settings: SettingsDep,
    x_actor: Annotated[
        str | None, Header(max_length=128, description="Who answers, for the audit log")
    ] = None,
) -> ReviewOutcome:
    """accept / edit send the (edited) reply; response asks for a new draft; ignore closes.
    Agent Inbox's list of responses is accepted too. The answer is checked before the paused run
    is resumed; if Mirakl (or the business API) fails while carrying it out, the answer is 502
    and the review stays pending, to be answered again."""
    raw = [a.model_dump() for a in answer] if isinstance(answer, list) else answer.model_dump()
    first = raw[0] if isinstance(raw, list) and raw else raw  # [] is refused by resume (422)
    if isinstance(first, dict):
        first["reviewer"] = x_actor or "reviewer"
    try:  # a stale, unusable or unexpected answer: api/errors.py (409, 422, 404)
        outcome = agent.resume(
            session, ThreadRef(thread_id, marketplace), read_review_answer(first)
        )
    except (MiraklError, ActionFailed) as exc:
        message = getattr(exc, "message", None) or str(exc)
        raise ApiError(502, "action_failed", f"{message}; the review is still pending") from None
    session.commit()
    return ReviewOutcome(
        thread_id=thread_id, marketplace=settings.display_name(marketplace),
        status=outcome.status, reply=outcome.reply,
        actions=list(outcome.detail.get("actions") or []),
    )  # fmt: skip
