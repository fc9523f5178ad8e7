"""Threads as agents see them: drafts now, reading and replying with the dashboard."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from api.deps import ApiKeyDep
from api.errors import ApiError
from graph.conversation import read_conversation
from knowledge.ingest import KnowledgeError

router = APIRouter(prefix="/api/v1/threads", tags=["threads"])


class SourceOut(BaseModel):
    doc: str
    heading: str
    score: float


class DraftOut(BaseModel):
    draft: str
    sources: list[SourceOut]
    generator: Literal["llm", "retrieval"]
    language: str


@router.post("/{thread_id}/draft", response_model=DraftOut, responses={401: {}, 404: {}, 503: {}})
async def draft(thread_id: str, request: Request, _key: ApiKeyDep) -> DraftOut:
    """A reply draft grounded in the knowledge base and the order (not sent: an agent reviews)."""
    drafting = request.app.state.drafting

    def make() -> DraftOut:
        with request.app.state.pipeline.sessions() as session:
            conversation, order = read_conversation(session, thread_id)  # 404 if unknown
        try:
            result = drafting.draft(conversation, order)
        except KnowledgeError as exc:
            raise ApiError(503, "knowledge_base_unavailable", str(exc)) from None
        return DraftOut(
            draft=result.text,
            sources=[
                SourceOut(doc=s.doc, heading=s.heading, score=s.score) for s in result.sources
            ],
            generator=result.generator,
            language=result.language,
        )

    return await run_in_threadpool(make)
