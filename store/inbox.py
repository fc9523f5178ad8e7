"""The agents' read model: the inbox (threads with their status and deadline), one thread with
its messages, order, shipment and audit trail, and the automation figures of the dashboard."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Float, Result, Row, Select, and_, case, cast, exists, func, or_, select
from sqlalchemy.orm import Session

from store.confirmations import ConfirmationView, describe, latest, pending_by_thread
from store.models import AuditEntry, Customer, InboundEvent, Message, Order, Shipment, Thread
from store.threads import NoteView, PresenceView, notes_of, presence_of

# What an agent sees; `auto_resolved` is a thread the automation closed itself.
INBOX_STATUSES = (
    "open", "awaiting_approval", "needs_attention", "auto_resolved", "answered", "closed",
)  # fmt: skip


def _closed_by_automation() -> Any:
    """The thread's latest close was the automation's (not a reviewer's "ignore")."""
    latest = (
        select(AuditEntry.actor_type)
        .where(
            AuditEntry.action == "thread.close",
            AuditEntry.outcome == "succeeded",
            AuditEntry.marketplace == Thread.marketplace,
            AuditEntry.payload["thread"].astext == Thread.mirakl_thread_id,
        )
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return latest == "automation"


def _inbox_status() -> Any:
    return case(
        (and_(Thread.status == "closed", _closed_by_automation()), "auto_resolved"),
        else_=Thread.status,
    )


# The customer's full name when an order of theirs was read ("Laura Fischer"), not "Laura F.".
FULL_NAME = func.nullif(func.trim(func.concat_ws(" ", Customer.firstname, Customer.lastname)), "")
UNASSIGNED = "unassigned"  # the `assignee` filter for threads nobody took


@dataclass(frozen=True)
class InboxRow:
    thread_id: str
    status: str
    intent: str | None
    confidence: float | None
    language: str | None
    marketplace: str
    customer: str | None
    order_id: str | None
    topic: str | None
    last_message: str | None
    last_message_at: datetime | None
    sla_due_at: datetime | None
    overdue: bool
    attention: str | None
    # What csagent asked the customer to confirm and waits for (None: nothing pending)
    awaiting_customer: str | None = None
    assignee: str | None = None  # the agent working on it
    unread: bool = False  # the customer wrote since an agent last opened it
    snoozed_until: datetime | None = None  # put aside until then (None: not snoozed)
    tags: list[str] = field(default_factory=list)  # the agents' tags


@dataclass(frozen=True)
class InboxPage:
    threads: list[InboxRow]
    total: int  # matching the filters
    counts: dict[str, int]  # every thread, per status


def list_threads(
    session: Session,
    *,
    status: str | None = None,
    search: str | None = None,
    overdue: bool = False,
    marketplace: str | None = None,
    assignee: str | None = None,
    snoozed: bool = False,
    tag: str | None = None,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> InboxPage:
    """Threads, overdue first (earliest deadline first), then the most recent. `assignee`: one
    agent's threads, or UNASSIGNED for nobody's. Snoozed threads are left out, or only they
    are listed (`snoozed`)."""
    now = now or datetime.now(UTC)
    is_overdue = _overdue(now)
    is_snoozed = _snoozed(now)
    conditions = []
    if marketplace:
        conditions.append(Thread.marketplace == marketplace)
    if status:
        conditions.append(_inbox_status() == status)
    if overdue:
        conditions.append(is_overdue)
    conditions.append(is_snoozed if snoozed else ~is_snoozed)
    if tag:
        conditions.append(Thread.tags.contains([tag]))
    if assignee == UNASSIGNED:
        conditions.append(Thread.assignee.is_(None))
    elif assignee:
        conditions.append(Thread.assignee == assignee)
    if search:
        conditions.append(_matching(search))
    filtered = _inbox_rows(is_overdue, is_snoozed).where(*conditions)
    total = session.scalar(select(func.count()).select_from(filtered.subquery())) or 0
    rows = session.execute(
        filtered.order_by(
            is_overdue.desc(),
            case((is_overdue, Thread.sla_due_at)).asc().nulls_last(),
            Thread.last_message_at.desc().nulls_last(),
            Thread.id,
        )
        .limit(limit)
        .offset(offset)
    ).all()
    counts = _counts_per_status(session)
    questions = pending_by_thread(session, [r[14] for r in rows])
    return InboxPage(
        threads=[_inbox_row(r, questions.get(r[14]), now) for r in rows],
        total=total,
        counts=counts,
    )


def _overdue(now: datetime) -> Any:
    return and_(Thread.sla_due_at.is_not(None), Thread.sla_due_at < now)


def _snoozed(now: datetime) -> Any:
    """Put aside until later, and the customer has not written since."""
    return and_(
        Thread.snoozed_until.is_not(None),
        Thread.snoozed_until > now,
        ~exists().where(
            Message.thread_id == Thread.id,
            Message.direction == "inbound",
            Message.created_at > Thread.snoozed_at,
        ),
    )


def _unread() -> Any:
    """Waiting for a person, and the customer wrote since an agent last opened it."""
    return and_(
        Thread.status.in_(("open", "awaiting_approval", "needs_attention")),
        exists().where(
            Message.thread_id == Thread.id,
            Message.direction == "inbound",
            or_(Thread.read_by_agents_at.is_(None), Message.created_at > Thread.read_by_agents_at),
        ),
    )


def _last_message_body() -> Any:
    return (
        select(Message.body)
        .where(Message.thread_id == Thread.id)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _inbox_rows(is_overdue: Any, is_snoozed: Any) -> Select[*tuple[Any, ...]]:
    """Every thread as a row of the inbox, its columns in the order `_inbox_row` reads them."""
    return (
        select(
            Thread.mirakl_thread_id, _inbox_status().label("inbox_status"), Thread.intent,
            Thread.confidence, Thread.locale, Thread.marketplace,
            func.coalesce(FULL_NAME, Customer.display_name, Customer.mirakl_customer_id),
            Order.mirakl_order_id, Thread.topic, _last_message_body(), Thread.last_message_at,
            Thread.sla_due_at, is_overdue, Thread.attention, Thread.id, Thread.assignee,
            _unread(), case((is_snoozed, Thread.snoozed_until)), Thread.tags,
        )
        .outerjoin(Customer, Customer.id == Thread.customer_id)
        .outerjoin(Order, Order.id == Thread.order_id)
    )  # fmt: skip


def _matching(search: str) -> Any:
    """The text is in the thread id, the topic, the customer's name, the order id or a
    message."""
    like = f"%{search.strip()}%"
    return or_(
        Thread.mirakl_thread_id.ilike(like),
        Thread.topic.ilike(like),
        Customer.display_name.ilike(like),
        FULL_NAME.ilike(like),
        Order.mirakl_order_id.ilike(like),
        exists().where(Message.thread_id == Thread.id, Message.body.ilike(like)),
    )


def _counts_per_status(session: Session) -> dict[str, int]:
    """Every thread, per inbox status (0 for a status no thread has)."""
    counts = dict.fromkeys(INBOX_STATUSES, 0)
    statuses = select(_inbox_status().label("s")).select_from(Thread).subquery()
    for name, n in session.execute(select(statuses.c.s, func.count()).group_by(statuses.c.s)):
        counts[name] = n
    return counts


def _inbox_row(
    r: Row[*tuple[Any, ...]], question: ConfirmationView | None, now: datetime
) -> InboxRow:
    return InboxRow(
        thread_id=r[0],
        status=r[1],
        intent=r[2],
        confidence=r[3],
        language=(r[4] or "")[:2] or None,
        marketplace=r[5],
        customer=r[6],
        order_id=r[7],
        topic=r[8],
        last_message=(r[9] or "")[:200] or None,
        last_message_at=r[10],
        sla_due_at=r[11],
        overdue=bool(r[12]),
        attention=r[13],
        awaiting_customer=awaiting_text(question, now),
        assignee=r[15],
        unread=bool(r[16]),
        snoozed_until=r[17],
        tags=list(r[18] or []),
    )  # fmt: skip


@dataclass(frozen=True)
class MessageView:
    message_id: str
    direction: str
    author_type: str
    author: str | None
    body: str
    created_at: datetime
    verification: str | None
    by: str  # customer, agent, automation, shop (imported), operator
    attachments: list[dict[str, Any]] = field(default_factory=list)  # as Mirakl lists them


@dataclass(frozen=True)
class AuditView:
    at: datetime
    actor_type: str
    actor: str | None
    action: str
    outcome: str
    detail: str | None


@dataclass
class ThreadDetail:
    thread_id: str
    status: str
    intent: str | None
    confidence: float | None
    language: str | None
    marketplace: str
    customer: str | None
    customer_id: str | None
    topic: str | None
    sla_due_at: datetime | None
    attention: str | None
    messages: list[MessageView]
    order: dict[str, Any] | None  # as last read (source, fetched_at), with lines and shipment
    audit: list[AuditView] = field(default_factory=list)
    # When Mirakl's reply clock was last read (None: the deadline is csagent's estimate)
    reply_clock_read_at: datetime | None = None
    # The thread's latest confirmation question and what became of it (None: never asked)
    confirmation: dict[str, Any] | None = None
    assignee: str | None = None  # the agent working on it
    notes: list[NoteView] = field(default_factory=list)  # agents' internal notes, oldest first
    presence: list[PresenceView] = field(default_factory=list)  # agents on it now
    tags: list[str] = field(default_factory=list)  # the agents' tags


def awaiting_text(question: ConfirmationView | None, now: datetime) -> str | None:
    """ "cancel order 123-A, until 2026-12-08 17:40 UTC": what the customer is asked to confirm
    (an expired question is not awaited any more: None)."""
    if question is None or question.expired(now):
        return None  # nothing is awaited any more: no yes came in time
    until = question.expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{describe(question.action, question.order_id)}, until {until}"


def thread_detail(
    session: Session, mirakl_thread_id: str, *, marketplace: str
) -> ThreadDetail | None:
    row = session.execute(
        select(Thread, _inbox_status(), Customer)
        .outerjoin(Customer, Customer.id == Thread.customer_id)
        .where(Thread.marketplace == marketplace, Thread.mirakl_thread_id == mirakl_thread_id)
    ).first()
    if row is None:
        return None
    thread, status, customer = row
    audit = list(
        session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.marketplace == marketplace,
                AuditEntry.payload["thread"].astext == mirakl_thread_id,
            )
            .order_by(AuditEntry.at, AuditEntry.id)
        )
    )
    sent_by = {
        str((a.payload.get("result") or {}).get("message_id")): (
            "automation" if a.actor_type == "automation" else "agent"
        )
        for a in audit
        if a.action in ("reply.send", "reply.manual") and a.outcome == "succeeded"
    }
    messages = [
        MessageView(
            message_id=m.mirakl_message_id,
            direction=m.direction,
            author_type=m.author_type,
            author=m.author_name,
            body=m.body,
            created_at=m.created_at,
            verification=m.verification,
            by=_by(m, sent_by),
            attachments=list(m.attachments or []),
        )  # fmt: skip
        for m in session.scalars(
            select(Message)
            .where(Message.thread_id == thread.id)
            .order_by(Message.created_at, Message.id)
        )
    ]
    order = _order_view(session, thread.order_id) if thread.order_id else None
    return ThreadDetail(
        thread_id=mirakl_thread_id, status=status, intent=thread.intent,
        confidence=thread.confidence, language=(thread.locale or "")[:2] or None,
        marketplace=thread.marketplace,
        customer=(
            " ".join(p for p in (customer.firstname, customer.lastname) if p)
            or customer.display_name or customer.mirakl_customer_id
        ) if customer else None,
        customer_id=customer.mirakl_customer_id if customer else None, topic=thread.topic,
        sla_due_at=thread.sla_due_at, attention=thread.attention, messages=messages, order=order,
        reply_clock_read_at=thread.reply_clock_read_at, assignee=thread.assignee,
        notes=notes_of(session, thread.id),
        presence=presence_of(session, thread.id), tags=list(thread.tags or []),
        confirmation=(question.as_dict() if (question := latest(
            session, mirakl_thread_id, marketplace=marketplace)) else None),
        audit=[
            AuditView(a.at, a.actor_type, a.actor, a.action, a.outcome,
                      a.detail or (a.payload or {}).get("error"))
            for a in audit
        ],
    )  # fmt: skip


def _by(message: Message, sent_by: dict[str, str]) -> str:
    """Who wrote it: the customer (or an operator), csagent's automation, an agent through
    csagent, or the shop before csagent (imported history)."""
    if message.direction == "inbound":
        return "operator" if message.author_type == "OPERATOR" else "customer"
    return sent_by.get(message.mirakl_message_id, "shop")


def _order_view(session: Session, order_pk: int) -> dict[str, Any] | None:
    order = session.get(Order, order_pk)
    if order is None:
        return None
    shipment = session.scalar(select(Shipment).where(Shipment.order_id == order.id))
    return {
        "order_id": order.mirakl_order_id,
        "state": order.state,
        "source": order.source,
        "fetched_at": order.fetched_at,
        "created": order.created_date,
        "currency": order.currency,
        "total_price": order.total_price,
        "shipping_price": order.shipping_price,
        "lines": [
            {"product": ln.product_title or ln.offer_sku, "sku": ln.offer_sku,
             "qty": ln.quantity, "price": ln.price, "state": ln.state}
            for ln in sorted(order.lines, key=lambda ln: ln.mirakl_order_line_id)
        ],
        "shipment": None if shipment is None else {
            "status": shipment.status, "carrier": shipment.carrier_name or shipment.carrier_code,
            "tracking_number": shipment.tracking_number, "tracking_url": shipment.tracking_url,
            "address": shipment.address or order.shipping_address,
        },
    }  # fmt: skip


# -- needs attention ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttentionItem:
    kind: str  # failed | unverified
    thread_id: str | None
    message_id: str
    error: str
    at: datetime
    event_id: int | None  # what a retry re-runs
    marketplace: str

    @property
    def key(self) -> str:
        """One string per item, which a dismissal names."""
        return attention_key(self.kind, self.marketplace, self.message_id)


def attention_key(kind: str, marketplace: str, message_id: str) -> str:
    return f"{kind}:{marketplace}:{message_id}"


def dismiss_attention(
    session: Session, key: str, *, actor: str, thread_id: str | None, marketplace: str
) -> None:
    """An agent looked at an item of Needs attention and took it off the list (audit
    `attention.dismiss`); what it concerns is left as it is."""
    session.add(
        AuditEntry(
            actor_type="human", actor=actor, action="attention.dismiss", marketplace=marketplace,
            payload={"item": key, "thread": thread_id}, outcome="succeeded",
            finished_at=datetime.now(UTC),
        )
    )  # fmt: skip


def needing_attention(session: Session, limit: int = 100) -> list[AttentionItem]:
    """Messages whose processing failed for good, and messages Mirakl did not confirm."""
    failed = [
        AttentionItem(
            "failed",
            (e.payload or {}).get("thread_id") or e.thread_key,
            (e.payload or {}).get("message_id") or e.dedupe_key,
            e.error or "failed",
            e.received_at,
            e.id,
            e.marketplace,
        )  # fmt: skip
        for e in session.scalars(
            select(InboundEvent)
            .where(InboundEvent.status == "failed")
            .order_by(InboundEvent.id.desc())
            .limit(limit)
        )
    ]
    unverified = session.execute(
        select(Message.mirakl_message_id, Thread.mirakl_thread_id, Thread.attention,
               Message.created_at, InboundEvent.id, Thread.marketplace)
        .join(Thread, Thread.id == Message.thread_id)
        .outerjoin(
            InboundEvent,
            and_(
                InboundEvent.marketplace == Message.marketplace,
                InboundEvent.payload["message_id"].astext == Message.mirakl_message_id,
            ),
        )
        .where(Message.verification == "unverified")
        .order_by(Message.created_at.desc())
        .limit(limit)
    ).all()  # fmt: skip
    dismissed = set(
        session.scalars(
            select(AuditEntry.payload["item"].astext).where(
                AuditEntry.action == "attention.dismiss"
            )
        )
    )
    items = failed + [
        AttentionItem("unverified", t, m, attention or "not confirmed by Mirakl", at, event, mp)
        for m, t, attention, at, event, mp in unverified
    ]
    return [i for i in items if i.key not in dismissed]


# -- automation figures ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AutomationFigures:
    messages_per_day: list[tuple[str, int]]  # (YYYY-MM-DD, inbound messages)
    replies_by: dict[str, int]  # automated, reviewed, manual
    intents: list[tuple[str, int]]
    median_first_response_h: float | None
    reviews_of_automation: int  # reviews of decisions the automation would have carried out
    accepted_unchanged: int

    @property
    def automation_precision(self) -> float | None:
        """Share of the automation's proposals a reviewer accepted as they were."""
        if not self.reviews_of_automation:
            return None
        return self.accepted_unchanged / self.reviews_of_automation


def automation_figures(session: Session, days: int = 30) -> AutomationFigures:
    since = datetime.now(UTC) - timedelta(days=days)
    per_day = _inbound_messages_per_day(session, since)
    replies = _replies_by_kind(session)
    intents = session.execute(
        select(Thread.intent, func.count())
        .where(Thread.intent.is_not(None))
        .group_by(Thread.intent)
        .order_by(func.count().desc())
    ).all()
    median = _median_first_response_h(session)
    reviewed = _latest_reviews_of_automation(session)
    return AutomationFigures(
        messages_per_day=[(d, n) for d, n in per_day],
        replies_by=replies,
        intents=[(str(i), n) for i, n in intents],
        median_first_response_h=round(float(median), 2) if median is not None else None,
        reviews_of_automation=sum(n for _, n in reviewed),
        accepted_unchanged=sum(n for d, n in reviewed if d == "accepted"),
    )


def _inbound_messages_per_day(session: Session, since: datetime) -> Sequence[Row[str, int]]:
    """(YYYY-MM-DD, inbound messages), oldest day first."""
    days_q = (
        select(func.to_char(Message.created_at, "YYYY-MM-DD").label("day"))
        .where(Message.direction == "inbound", Message.created_at >= since)
        .subquery()
    )
    return session.execute(
        select(days_q.c.day, func.count()).group_by(days_q.c.day).order_by(days_q.c.day)
    ).all()


def _replies_by_kind(session: Session) -> dict[str, int]:
    """Replies sent: by the automation, by an agent approving a draft, or written by hand."""
    kind = case(
        (AuditEntry.action == "reply.manual", "manual"),
        (AuditEntry.actor_type == "automation", "automated"),
        else_="reviewed",
    )
    replies = dict.fromkeys(("automated", "reviewed", "manual"), 0)
    kinds = (
        select(kind.label("kind"))
        .where(
            AuditEntry.action.in_(("reply.send", "reply.manual")),
            AuditEntry.outcome == "succeeded",
        )
        .subquery()
    )
    for name, n in session.execute(select(kinds.c.kind, func.count()).group_by(kinds.c.kind)):
        replies[name] = n
    return replies


def _median_first_response_h(session: Session) -> Any:
    """Hours from a thread's first inbound message to the first reply after it, the median
    over threads (None: no thread was answered)."""
    first_in = (
        select(Message.thread_id, func.min(Message.created_at).label("first_in"))
        .where(Message.direction == "inbound")
        .group_by(Message.thread_id)
        .subquery()
    )
    first_out = (
        select(Message.thread_id, func.min(Message.created_at).label("first_out"))
        .join(first_in, first_in.c.thread_id == Message.thread_id)
        .where(Message.direction == "outbound", Message.created_at >= first_in.c.first_in)
        .group_by(Message.thread_id)
        .subquery()
    )
    hours = func.extract("epoch", first_out.c.first_out - first_in.c.first_in) / 3600.0
    return session.scalar(
        select(func.percentile_cont(0.5).within_group(cast(hours, Float))).select_from(
            first_in.join(first_out, first_out.c.thread_id == first_in.c.thread_id)
        )
    )


def _accepted_as_proposed() -> Any:
    """A reviewer's answer accepted the proposal with its action kept (not declined)."""
    return and_(
        AuditEntry.payload["decision"].astext == "accepted",
        AuditEntry.payload["with_action"].astext.is_distinct_from("false"),
    )


def _nth_answer_from_last() -> Any:
    """1 for the last answer per reviewed message: a retry after a failed approval answers
    again, and the last answer is the one that counts."""
    return func.row_number().over(
        partition_by=(
            AuditEntry.marketplace,
            AuditEntry.payload["thread"].astext,
            AuditEntry.payload["message_id"].astext,
        ),
        order_by=(AuditEntry.at.desc(), AuditEntry.id.desc()),
    )


def _latest_reviews_of_automation(session: Session) -> Sequence[Row[str, int]]:
    """(accepted | corrected, reviews) over the last answer per reviewed message."""
    decisions = (
        select(
            case((_accepted_as_proposed(), "accepted"), else_="corrected").label("decision"),
            _nth_answer_from_last().label("nth"),
        )
        .where(
            AuditEntry.action == "review.answer",
            AuditEntry.payload["automated"].astext == "true",
        )
        .subquery()
    )
    return session.execute(
        select(decisions.c.decision, func.count())
        .where(decisions.c.nth == 1)
        .group_by(decisions.c.decision)
    ).all()


RECONTACT_H = 72  # a customer who writes again this soon after an automatic reply: unresolved


@dataclass(frozen=True)
class IntentJudgement:
    intent: str
    automatic_replies: int  # sent by the automation in the period
    recontacted: int  # of which the customer wrote again within RECONTACT_H hours
    reviews: int  # reviewers' answers to the automation's proposals of this intent
    accepted: int  # of which accepted as proposed

    @property
    def recontact_rate(self) -> float | None:
        return self.recontacted / self.automatic_replies if self.automatic_replies else None

    @property
    def acceptance(self) -> float | None:
        return self.accepted / self.reviews if self.reviews else None


@dataclass(frozen=True)
class AutomaticReply:
    thread_id: str
    marketplace: str
    intent: str | None
    sent_at: datetime
    text: str
    recontacted: bool  # the customer wrote again within RECONTACT_H hours


def automation_judgement(
    session: Session, days: int = 30, sample: int = 8, now: datetime | None = None
) -> tuple[list[IntentJudgement], list[AutomaticReply]]:
    """Whether to trust the automation, per intent: its automatic replies and how many
    customers wrote again within 72 h (the industry's resolution measure), and reviewers'
    answers to its proposals; with the latest automatic replies to read."""
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    rows = _automatic_replies_since(session, since)
    per: dict[str, list[int]] = {}
    for _, _, intent, _, _, again in rows:
        counts = per.setdefault(intent or "unknown", [0, 0, 0, 0])
        counts[0] += 1
        counts[1] += int(bool(again))
    for intent, accepted in _latest_answers_to_automation(session, since):
        counts = per.setdefault(intent or "unknown", [0, 0, 0, 0])
        counts[2] += 1
        counts[3] += int(bool(accepted))
    judged = [IntentJudgement(intent, *c) for intent, c in sorted(per.items())]
    latest = [
        AutomaticReply(t, m, i, at, text or "", bool(again))
        for t, m, i, at, text, again in rows[:sample]
    ]
    return judged, latest


def _automatic_replies_since(
    session: Session, since: datetime
) -> Sequence[Row[str, str, str | None, datetime, str | None, bool]]:
    """(thread id, marketplace, intent, sent at, text, the customer wrote again within
    RECONTACT_H hours) per reply the automation sent since then, the latest first."""
    sent = (
        select(
            Thread.id.label("thread_pk"), Thread.mirakl_thread_id, Thread.marketplace,
            Thread.intent, AuditEntry.at,
            AuditEntry.payload["result"]["message_id"].astext.label("message_id"),
        )
        .join(
            Thread,
            and_(
                Thread.marketplace == AuditEntry.marketplace,
                Thread.mirakl_thread_id == AuditEntry.payload["thread"].astext,
            ),
        )
        .where(
            AuditEntry.action == "reply.send", AuditEntry.outcome == "succeeded",
            AuditEntry.actor_type == "automation", AuditEntry.at >= since,
        )
        .subquery()
    )  # fmt: skip
    wrote_again = exists().where(
        Message.thread_id == sent.c.thread_pk,
        Message.direction == "inbound",
        Message.created_at > sent.c.at,
        Message.created_at <= sent.c.at + timedelta(hours=RECONTACT_H),
    )
    body = (
        select(Message.body)
        .where(
            Message.thread_id == sent.c.thread_pk, Message.mirakl_message_id == sent.c.message_id
        )
        .limit(1)
        .scalar_subquery()
    )
    return session.execute(
        select(
            sent.c.mirakl_thread_id, sent.c.marketplace, sent.c.intent, sent.c.at, body,
            wrote_again,
        ).order_by(sent.c.at.desc())
    ).all()  # fmt: skip


def _latest_answers_to_automation(session: Session, since: datetime) -> Result[str | None, bool]:
    """(intent, accepted as proposed) per message whose proposal a reviewer answered since
    then, the last answer only."""
    answers = (
        select(
            AuditEntry.payload["intent"].astext.label("intent"),
            _accepted_as_proposed().label("accepted"),
            _nth_answer_from_last().label("nth"),
        )
        .where(
            AuditEntry.action == "review.answer",
            AuditEntry.payload["automated"].astext == "true", AuditEntry.at >= since,
        )
        .subquery()
    )  # fmt: skip
    return session.execute(select(answers.c.intent, answers.c.accepted).where(answers.c.nth == 1))
