"""Threads as agents see them: drafts now, reading and replying with the dashboard."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import DraftingDep, MiraklDep, ReviewerKeyDep, SessionDep
from api.errors import error_responses
from graph.conversation import read_conversation
from graph.verify import record_reading, thread_orders

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
    thread_id: str,
    _key: ReviewerKeyDep,
    session: SessionDep,
    drafting: DraftingDep,
    mirakl: MiraklDep,
) -> DraftOut:
    """A reply draft grounded in the knowledge base and the order as Mirakl has it now (only
    this customer's order; when it cannot be read, the draft claims nothing about it).
    Not sent: an agent reviews it."""
    conversation = read_conversation(session, thread_id)  # 404 if unknown
    session.close()  # Mirakl and drafting may take a while: hold no connection meanwhile
    reading = thread_orders(mirakl, thread_id, conversation["question"])
    if reading.read:
        with session.begin():
            record_reading(session, thread_id, reading)
        session.close()
    result = drafting.draft(conversation, reading.order, unverified=reading.problem)
    return DraftOut(
        draft=result.text,
        sources=[SourceOut(doc=s.doc, heading=s.heading, score=s.score) for s in result.sources],
        generator=result.generator,
        language=result.language,
    )
