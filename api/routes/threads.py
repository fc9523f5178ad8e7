"""Threads as agents see them: drafts now, reading and replying with the dashboard."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import DraftingDep, ReviewerKeyDep, SessionDep
from api.errors import error_responses
from graph.conversation import read_conversation

router = APIRouter(
    prefix="/api/v1/threads", tags=["threads"], responses=error_responses(401, 404, 422, 500)
)


class SourceOut(BaseModel):
    doc: str
    heading: str
    score: float


class DraftOut(BaseModel):
    draft: str
    sources: list[SourceOut]
    generator: Literal["llm", "retrieval"]
    language: str


@router.post("/{thread_id}/draft", response_model=DraftOut)
def draft(
    thread_id: str, _key: ReviewerKeyDep, session: SessionDep, drafting: DraftingDep
) -> DraftOut:
    """A reply draft grounded in the knowledge base and the order (not sent: an agent reviews)."""
    conversation, order = read_conversation(session, thread_id)  # 404 if unknown
    session.close()  # drafting may take a while (an LLM): hold no connection meanwhile
    result = drafting.draft(conversation, order)  # without a knowledge base: no passages
    return DraftOut(
        draft=result.text,
        sources=[SourceOut(doc=s.doc, heading=s.heading, score=s.score) for s in result.sources],
        generator=result.generator,
        language=result.language,
    )
