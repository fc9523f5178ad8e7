"""Threads as agents see them: the inbox, one thread with its order and audit trail, a draft on
demand, and a reply written by hand. The dashboard (ui/) is built on the same functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

from api.deps import (
    ActorDep,
    DraftingDep,
    MarketplaceDep,
    MiraklDep,
    ReviewerKeyDep,
    SessionDep,
    SettingsDep,
)
from api.errors import ApiError, error_responses
from graph.nodes.actions import ActionFailed
from graph.processor import Agent, StaleReview
from graph.review_protocol import InvalidReviewAnswer
from graph.workspace import (
    assign_thread,
    canned_replies,
    close_by_agent,
    draft_for_thread,
    intent_for_draft,
    reopen_by_agent,
    send_manual_reply,
    snooze_by_agent,
    tag_thread,
)
from store.inbox import INBOX_STATUSES, list_threads, thread_detail
from store.text import StorableStr
from store.threads import (
    PRESENCE_S,
    ThreadRef,
    add_note,
    clean_tag,
    mark_read_by_agents,
    note_presence,
    thread_pk_of,
)
from tools.mirakl.errors import MiraklError

router = APIRouter(
    prefix="/api/v1/threads", tags=["threads"], responses=error_responses(401, 404, 409, 422, 500)
)

InboxStatus = Literal[
    "open", "awaiting_approval", "needs_attention", "auto_resolved", "answered", "closed"
]
assert set(InboxStatus.__args__) == set(INBOX_STATUSES)  # type: ignore[attr-defined]


class ThreadRow(BaseModel):
    thread_id: str
    status: InboxStatus
    intent: str | None
    confidence: float | None
    language: str | None
    marketplace: str | None
    customer: str | None
    order_id: str | None
    topic: str | None
    last_message: str | None
    last_message_at: datetime | None
    sla_due_at: datetime | None = Field(
        description="Reply deadline: Mirakl's shop_reply_needed_since + the marketplace's SLA "
        "hours (null: no reply owed)"
    )
    overdue: bool
    attention: str | None = Field(description="Why a person must look (failed, unverified)")
    awaiting_customer: str | None = Field(
        default=None,
        description="What csagent asked the customer to confirm and waits for (a cancellation or "
        "an address change, and until when); null: nothing",
    )
    assignee: str | None = Field(default=None, description="The agent working on it; null: nobody")
    snoozed_until: datetime | None = Field(
        default=None, description="Put aside until then (listed with ?snoozed=true only)"
    )
    unread: bool = Field(
        default=False,
        description="Waiting for a person, and the customer wrote since an agent last opened it "
        "(POST /api/v1/threads/{thread_id}/read, or opening it in the dashboard)",
    )
    tags: list[str] = Field(default_factory=list, description="The agents' tags, sorted")


class ThreadList(BaseModel):
    threads: list[ThreadRow]
    total: int = Field(description="Threads matching the filters")
    counts: dict[str, int] = Field(description="Every thread, per status")


class MessageOut(BaseModel):
    message_id: str
    direction: Literal["inbound", "outbound"]
    by: Literal["customer", "operator", "automation", "agent", "shop"]
    author: str | None
    body: str
    created_at: datetime
    verification: str | None = Field(description="verified / unverified by Mirakl, or null")
    attachments: list[dict[str, Any]] = Field(
        default_factory=list,
        description="The files attached, as Mirakl lists them ({id, name, size})",
    )


class NoteOut(BaseModel):
    id: int
    author: str
    body: str
    created_at: datetime


class PresenceOut(BaseModel):
    agent: str
    activity: Literal["viewing", "replying"]
    seen_at: datetime


class PresenceIn(BaseModel):
    activity: Literal["viewing", "replying"] = Field(
        description="What the agent (X-Actor) is doing on the thread now"
    )


class NoteIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    text: StorableStr = Field(min_length=1, max_length=10_000, description="The note, for agents")


class AuditOut(BaseModel):
    at: datetime
    actor_type: str
    actor: str | None
    action: str
    outcome: str
    detail: str | None


class ThreadOut(BaseModel):
    thread_id: str
    status: InboxStatus
    intent: str | None
    confidence: float | None
    language: str | None
    marketplace: str | None
    customer: str | None
    customer_id: str | None
    topic: str | None
    sla_due_at: datetime | None = Field(
        description="Reply deadline: Mirakl's shop_reply_needed_since + the marketplace's SLA "
        "hours (null: no reply owed)"
    )
    reply_clock_read_at: datetime | None = Field(
        default=None,
        description="When Mirakl's reply clock was read; null: never, the deadline is csagent's "
        "estimate from the stored messages",
    )
    attention: str | None
    messages: list[MessageOut]
    order: dict[str, Any] | None = Field(
        description="The order as last read (source 'mirakl' and fetched_at say from where and "
        "when), with its lines and shipment"
    )
    audit: list[AuditOut]

    confirmation: dict[str, Any] | None = Field(
        default=None,
        description="The latest question asking the customer to confirm a cancellation or an "
        "address change: what (action, order_id, details), asked_at, expires_at, status "
        "(pending, confirmed, declined, unclear, expired, superseded) and outcome",
    )
    pending_review: dict[str, Any] | None = Field(
        default=None, description="The review waiting on this thread, as GET /reviews shows it"
    )
    assignee: str | None = Field(default=None, description="The agent working on it; null: nobody")
    notes: list[NoteOut] = Field(
        default_factory=list, description="Agents' internal notes, oldest first (never sent)"
    )
    tags: list[str] = Field(default_factory=list, description="The agents' tags, sorted")
    presence: list[PresenceOut] = Field(
        default_factory=list,
        description=f"Agents on the thread now (seen within {PRESENCE_S} s), replying ones first",
    )

    @computed_field(description="Seconds until the deadline (negative: breached that long ago)")
    def due_in_s(self) -> float | None:
        if self.sla_due_at is None:
            return None
        return round((self.sla_due_at - datetime.now(UTC)).total_seconds(), 1)


class ReplyIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    text: StorableStr = Field(
        min_length=3, max_length=10_000, description="Mirakl takes 3 to 50,000 characters"
    )
    to: list[Literal["CUSTOMER", "OPERATOR"]] = Field(
        default=["CUSTOMER"],
        min_length=1,
        description="Who receives it on Mirakl: the customer, the marketplace's operator, or both",
    )
    last_message_id: str | None = Field(
        default=None,
        max_length=128,
        description="The newest message of the thread the agent read (`messages[-1].message_id` "
        "of GET /api/v1/threads/{thread_id}); when the thread has a newer one, 409 "
        "`thread_moved_on` and nothing is sent",
    )


class ReplyOut(BaseModel):
    thread_id: str
    message_id: str | None = Field(description="Mirakl's id of the sent message")
    answered_review: bool = Field(description="The reply answered the thread's pending review")
    status: str


class SourceOut(BaseModel):
    doc: str
    heading: str
    score: float


class DraftOut(BaseModel):
    draft: str
    sources: list[SourceOut]
    generator: Literal["llm", "retrieval"]
    language: str
    decision: str | None = Field(
        default=None, description="What the draft states first (cancel_refused_shipped, ...)"
    )
    flags: list[str] = Field(
        default_factory=list,
        description="What the draft states that the facts do not (check before sending)",
    )


def optional_agent(request: Request) -> Agent | None:
    """The agent, or None when it is off (a reply by hand is then sent without a review)."""
    agent: Agent | None = request.app.state.agent
    return agent


@router.get("", response_model=ThreadList)
def threads(
    _key: ReviewerKeyDep,
    session: SessionDep,
    settings: SettingsDep,
    status: Annotated[InboxStatus | None, Query(description="Only this status")] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Search thread, customer, order, text")
    ] = None,
    overdue: Annotated[bool, Query(description="Only threads past their deadline")] = False,
    marketplace: Annotated[
        str | None, Query(max_length=64, description="Only this marketplace's threads")
    ] = None,
    assignee: Annotated[
        str | None,
        Query(max_length=128, description="Only this agent's threads; `unassigned`: nobody's"),
    ] = None,
    snoozed: Annotated[
        bool, Query(description="Only the snoozed threads (which the inbox leaves out)")
    ] = False,
    tag: Annotated[
        str | None, Query(max_length=40, description="Only the threads with this tag")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ThreadList:
    """The inbox of every marketplace: overdue threads first (earliest deadline first), then
    the most recent."""
    page = list_threads(
        session, status=status, search=q, overdue=overdue, limit=limit, offset=offset,
        marketplace=settings.stored_name(marketplace) if marketplace else None, assignee=assignee,
        snoozed=snoozed, tag=tag_filter(tag),
    )  # fmt: skip
    return ThreadList(
        threads=[
            ThreadRow(**{**row.__dict__, "marketplace": settings.display_name(row.marketplace)})
            for row in page.threads
        ],
        total=page.total,
        counts=page.counts,
    )


@router.get("/{thread_id}", response_model=ThreadOut)
def thread(
    thread_id: str,
    _key: ReviewerKeyDep,
    session: SessionDep,
    request: Request,
    marketplace: MarketplaceDep,
    settings: SettingsDep,
) -> ThreadOut:
    """One thread: messages oldest first (who wrote each), the order and shipment as last read
    from Mirakl, the audit trail, and the pending review if there is one."""
    detail = thread_detail(session, thread_id, marketplace=marketplace)
    if detail is None:
        raise ApiError(404, "not_found", f"thread {thread_id} not found")
    agent = optional_agent(request)
    pending = agent.pending_review(ThreadRef(thread_id, marketplace)) if agent is not None else None
    skip = ("messages", "audit", "order", "notes", "presence")
    fields = {k: v for k, v in detail.__dict__.items() if k not in skip}
    fields["marketplace"] = settings.display_name(marketplace)
    return ThreadOut(
        **fields,
        messages=[MessageOut(**m.__dict__) for m in detail.messages],
        audit=[AuditOut(**a.__dict__) for a in detail.audit],
        notes=[NoteOut(**n.__dict__) for n in detail.notes],
        presence=[PresenceOut(**p.__dict__) for p in detail.presence],
        order=_jsonable(detail.order),
        pending_review=None
        if pending is None
        else {
            "message_id": pending.message_id,
            **pending.request.model_dump(include={"action_request", "config", "description"}),
        },
    )


@router.post("/{thread_id}/reply", response_model=ReplyOut, responses=error_responses(409, 502))
def reply(
    thread_id: str,
    body: ReplyIn,
    _key: ReviewerKeyDep,
    session: SessionDep,
    mirakl: MiraklDep,
    marketplace: MarketplaceDep,
    request: Request,
    x_actor: Annotated[
        str | None, Header(max_length=128, description="Who replies, for the audit log")
    ] = None,
) -> ReplyOut:
    """Send a reply written by an agent, on Mirakl, once (the same text for the same customer
    message is posted once); a pending review of the thread is answered by it. 502 when Mirakl
    refuses or cannot be reached: nothing is recorded as sent, and the text can be sent again."""
    try:
        sent = send_manual_reply(
            session,
            sessions=request.app.state.pipeline.sessions,
            mirakl=mirakl,
            agent=optional_agent(request),
            thread_id=thread_id,
            text=body.text,
            actor=x_actor or "agent",
            marketplace=marketplace,
            to=tuple(dict.fromkeys(body.to)),
            seen_last=body.last_message_id,
        )
    except InvalidReviewAnswer as exc:  # the others (moved on, stale, unknown): api/errors.py
        raise ApiError(422, "invalid_reply", str(exc)) from None
    except (MiraklError, ActionFailed) as exc:
        message = getattr(exc, "message", None) or str(exc)
        raise ApiError(502, "mirakl_failed", f"not sent: {message}") from None
    session.commit()
    return ReplyOut(
        thread_id=thread_id,
        message_id=sent.message_id,
        answered_review=sent.via_review,
        status=sent.outcome.status if sent.outcome else "answered",
    )


class CloseIn(BaseModel):
    reason: Literal["no_reply_needed", "resolved", "spam"] = Field(
        default="no_reply_needed", description="Why the thread is left without a reply"
    )
    last_message_id: str | None = Field(
        default=None,
        max_length=128,
        description="The newest message the agent read; when the thread has a newer one, 409 "
        "`thread_moved_on` and it stays open",
    )


class StatusOut(BaseModel):
    thread_id: str
    status: str
    answered_review: bool = Field(
        default=False, description="A pending review was answered by 'ignore' (nothing sent)"
    )


class BulkCloseIn(BaseModel):
    thread_ids: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(
        min_length=1, max_length=200, description="The threads to close (of `marketplace`)"
    )
    reason: Literal["no_reply_needed", "resolved", "spam"] = "no_reply_needed"


class BulkCloseFailure(BaseModel):
    thread_id: str
    error: str


class BulkCloseOut(BaseModel):
    closed: list[str]
    failed: list[BulkCloseFailure] = Field(description="Left as they were, with why")


# Not under /api/v1/threads: "/threads/close" would also be the thread whose id is "close".
bulk = APIRouter(prefix="/api/v1/bulk", tags=["threads"], responses=error_responses(401, 422, 500))


@bulk.post("/close", response_model=BulkCloseOut)
def close_many(
    body: BulkCloseIn,
    _key: ReviewerKeyDep,
    marketplace: MarketplaceDep,
    request: Request,
    x_actor: Annotated[
        str | None, Header(max_length=128, description="Who closes them, for the audit log")
    ] = None,
) -> BulkCloseOut:
    """Close several threads without replying, each as POST /api/v1/threads/{thread_id}/close
    does and in its own transaction: one that cannot be closed (unknown, its review moved on)
    is listed in `failed` and the others are closed."""
    pipeline = request.app.state.pipeline
    closed, failed = [], []
    for thread_id in dict.fromkeys(body.thread_ids):
        try:
            with pipeline.sessions.begin() as session:
                close_by_agent(
                    session, sessions=pipeline.sessions, agent=optional_agent(request),
                    thread_id=thread_id, actor=x_actor or "agent", reason=body.reason,
                    marketplace=marketplace,
                )  # fmt: skip
        except (LookupError, StaleReview) as exc:
            failed.append(BulkCloseFailure(thread_id=thread_id, error=str(exc)))
            continue
        closed.append(thread_id)
    return BulkCloseOut(closed=closed, failed=failed)


@router.post("/{thread_id}/close", response_model=StatusOut)
def close(
    thread_id: str,
    body: CloseIn,
    _key: ReviewerKeyDep,
    session: SessionDep,
    marketplace: MarketplaceDep,
    request: Request,
    x_actor: Annotated[
        str | None, Header(max_length=128, description="Who closes it, for the audit log")
    ] = None,
) -> StatusOut:
    """Leave a thread without replying ("thanks!", spam, handled elsewhere). Nothing is sent to
    Mirakl; a question csagent asked the customer is no longer awaited, and a pending review is
    answered by "ignore". The customer's next message opens the thread again."""
    # A thread that moved on, a stale review, an unknown thread: api/errors.py (409, 404).
    via_review = close_by_agent(
        session,
        sessions=request.app.state.pipeline.sessions,
        agent=optional_agent(request),
        thread_id=thread_id,
        actor=x_actor or "agent",
        reason=body.reason,
        marketplace=marketplace,
        seen_last=body.last_message_id,
    )
    session.commit()
    return StatusOut(thread_id=thread_id, status="closed", answered_review=via_review)


def tag_filter(tag: str | None) -> str | None:
    if tag is None:
        return None
    try:
        return clean_tag(tag)
    except ValueError as exc:
        raise ApiError(422, "invalid_tag", str(exc)) from None


class TagsIn(BaseModel):
    add: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(
        default_factory=list, max_length=20, description="Tags to give the thread"
    )
    remove: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(
        default_factory=list, max_length=20, description="Tags to take off it"
    )


class TagsOut(BaseModel):
    thread_id: str
    tags: list[str] = Field(description="Its tags now, sorted (lowercase, words joined by -)")


@router.post("/{thread_id}/tags", response_model=TagsOut)
def tags(
    thread_id: str,
    body: TagsIn,
    _key: ReviewerKeyDep,
    session: SessionDep,
    marketplace: MarketplaceDep,
    actor: ActorDep,
) -> TagsOut:
    """Tags added and removed ("Damaged item" is stored as `damaged-item`), under X-Actor's
    name (audit `thread.tags`); `GET /api/v1/threads?tag=` finds the threads with one."""
    try:
        now = tag_thread(
            session, thread_id=thread_id, add=body.add, remove=body.remove, actor=actor,
            marketplace=marketplace,
        )  # fmt: skip
    except ValueError as exc:
        raise ApiError(422, "invalid_tag", str(exc)) from None
    session.commit()
    return TagsOut(thread_id=thread_id, tags=now)


class AssignIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    to: str | None = Field(
        min_length=1, max_length=128,
        description="The agent who works on the thread (their name; send X-Actor's own to take "
        "it); null releases it",
    )  # fmt: skip


class AssignOut(BaseModel):
    thread_id: str
    assignee: str | None
    previous: str | None = Field(description="Who had it before (null: nobody)")


@router.post("/{thread_id}/assign", response_model=AssignOut)
def assign(
    thread_id: str,
    body: AssignIn,
    _key: ReviewerKeyDep,
    session: SessionDep,
    marketplace: MarketplaceDep,
    actor: ActorDep,
) -> AssignOut:
    """Take, assign or release a thread (recorded as `thread.assign` under X-Actor)."""
    previous = assign_thread(
        session, thread_id=thread_id, to=body.to, actor=actor, marketplace=marketplace
    )
    session.commit()
    return AssignOut(thread_id=thread_id, assignee=body.to, previous=previous)


@router.post("/{thread_id}/notes", response_model=NoteOut, status_code=201)
def note(
    thread_id: str,
    body: NoteIn,
    _key: ReviewerKeyDep,
    session: SessionDep,
    marketplace: MarketplaceDep,
    actor: ActorDep,
) -> NoteOut:
    """An internal note on the thread, for the other agents: never sent to Mirakl, never in a
    draft; shown with the thread (`notes`)."""
    added = add_note(session, thread_id, actor, body.text, marketplace=marketplace)
    session.commit()
    return NoteOut(**added.__dict__)


@router.post("/{thread_id}/presence", status_code=204)
def presence(
    thread_id: str,
    body: PresenceIn,
    _key: ReviewerKeyDep,
    session: SessionDep,
    marketplace: MarketplaceDep,
    actor: ActorDep,
) -> None:
    """The agent (X-Actor) is on the thread now: viewing it, or writing a reply. Other agents
    see it with the thread (`presence`) for the next 30 s; send it again to stay there."""
    note_presence(session, thread_id, actor, body.activity, marketplace=marketplace)
    session.commit()


class CannedOut(BaseModel):
    id: str
    title: str
    text: str = Field(description="Filled for this thread; what it could not fill reads [name?]")
    language: str
    missing: list[str] = Field(description="Placeholders the thread could not fill")


@router.get("/{thread_id}/canned", response_model=list[CannedOut])
def canned(
    thread_id: str,
    _key: ReviewerKeyDep,
    session: SessionDep,
    settings: SettingsDep,
    marketplace: MarketplaceDep,
) -> list[CannedOut]:
    """The shop's canned responses in the thread's language, filled with the customer's name,
    the order and its tracking (CSAGENT_CANNED_FILE; nothing is sent)."""
    try:
        found = canned_replies(session, thread_id, settings, marketplace)
    except LookupError as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    return [CannedOut(**{**c.__dict__, "missing": list(c.missing)}) for c in found]


@router.post("/{thread_id}/read", status_code=204)
def read(
    thread_id: str, _key: ReviewerKeyDep, session: SessionDep, marketplace: MarketplaceDep
) -> None:
    """An agent read the thread: it is no longer marked unread in the inbox."""
    thread_pk_of(session, thread_id, marketplace)  # 404 when unknown
    mark_read_by_agents(session, thread_id, marketplace=marketplace)
    session.commit()


class SnoozeIn(BaseModel):
    until: datetime | None = Field(
        description="When the thread comes back (with a time zone, within 90 days); null: now. "
        "A customer message brings it back sooner"
    )

    @field_validator("until")
    @classmethod
    def _ahead(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("give a time zone, e.g. 2026-12-07T09:00:00+01:00")
        now = datetime.now(UTC)
        if not now < value <= now + timedelta(days=90):
            raise ValueError("must be in the future, within 90 days")
        return value


class SnoozeOut(BaseModel):
    thread_id: str
    snoozed_until: datetime | None


@router.post("/{thread_id}/snooze", response_model=SnoozeOut)
def snooze(
    thread_id: str,
    body: SnoozeIn,
    _key: ReviewerKeyDep,
    session: SessionDep,
    marketplace: MarketplaceDep,
    actor: ActorDep,
) -> SnoozeOut:
    """Put a thread aside until a time (audit `thread.snooze`): the inbox leaves it out until
    then, or until the customer writes again."""
    snooze_by_agent(
        session, thread_id=thread_id, until=body.until, actor=actor, marketplace=marketplace
    )
    session.commit()
    return SnoozeOut(thread_id=thread_id, snoozed_until=body.until)


@router.post("/{thread_id}/reopen", response_model=StatusOut)
def reopen(
    thread_id: str,
    _key: ReviewerKeyDep,
    session: SessionDep,
    settings: SettingsDep,
    marketplace: MarketplaceDep,
    actor: ActorDep,
) -> StatusOut:
    """Open a closed thread again; its status and reply deadline come back from its messages."""
    status = reopen_by_agent(
        session, thread_id=thread_id, actor=actor, marketplace=marketplace,
        sla_hours=settings.for_marketplace(marketplace).sla_hours,
    )  # fmt: skip
    session.commit()
    return StatusOut(thread_id=thread_id, status=status)


@router.post("/{thread_id}/draft", response_model=DraftOut)
def draft(
    thread_id: str,
    _key: ReviewerKeyDep,
    session: SessionDep,
    drafting: DraftingDep,
    mirakl: MiraklDep,
    marketplace: MarketplaceDep,
    request: Request,
) -> DraftOut:
    """A reply draft grounded in the knowledge base and the order as Mirakl has it now (only
    this customer's order; when it cannot be read, the draft claims nothing about it).
    Not sent: an agent reviews it."""
    agent = optional_agent(request)
    result = draft_for_thread(  # 404 if unknown
        session, mirakl, drafting, thread_id, marketplace,
        classify=intent_for_draft(agent.services.classifier) if agent else None,
    )  # fmt: skip
    return DraftOut(
        draft=result.text,
        sources=[SourceOut(doc=s.doc, heading=s.heading, score=s.score) for s in result.sources],
        generator=result.generator,
        language=result.language,
        decision=result.decision,
        flags=result.flags,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value
