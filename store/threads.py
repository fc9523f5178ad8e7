"""Thread bookkeeping shared by every way a message enters csagent (V1 import, webhook, sync)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from store.business import NotFound
from store.models import (
    Customer,
    Message,
    Order,
    ReplyDraft,
    Thread,
    ThreadNote,
    ThreadPresence,
)
from store.settings import DEFAULT_MARKETPLACE
from store.upserts import get_or_create


@dataclass(frozen=True)
class ThreadSummary:
    status: str
    last_message_at: datetime | None
    sla_due_at: datetime | None


@dataclass(frozen=True)
class ReplyClock:
    """Mirakl's reply clock as last read: since when the shop owes a reply (None: nothing owed),
    and when it was read."""

    needed_since: datetime | None
    read_at: datetime


def summarize_thread(
    messages: list[tuple[str, datetime]], sla_hours: float, clock: ReplyClock | None = None
) -> ThreadSummary:
    """Status and reply deadline of a thread from its (direction, created_at) messages.

    A thread whose latest message is the customer's waits for us ("open"). Its deadline is
    Mirakl's clock, the one operators judge the shop on: `sla_hours` after
    `shop_reply_needed_since`, nothing when Mirakl says no reply is owed. Only a message that
    arrived after the clock was read (or a thread whose clock was never read) falls back to
    csagent's estimate: the first customer message that has had no answer yet.
    """
    if not messages:
        return ThreadSummary("open", None, None)
    ordered = sorted(messages, key=lambda m: m[1])
    last_direction, last_at = ordered[-1]
    if last_direction == "outbound":
        return ThreadSummary("answered", last_at, None)
    first_unanswered = last_at
    for direction, created_at in reversed(ordered):
        if direction == "outbound":
            break
        first_unanswered = created_at
    since: datetime | None = first_unanswered
    if clock is not None:
        if clock.needed_since is not None:
            since = clock.needed_since
        elif first_unanswered <= clock.read_at:
            since = None  # Mirakl said nothing is owed (answered, or "no reply needed")
    due = since + timedelta(hours=sla_hours) if since is not None else None
    return ThreadSummary("open", last_at, due)


def link_order(session: Session, thread_pk: int, order_pk: int) -> bool:
    """Link a thread to its order unless it already has one; True if a link was made."""
    linked = session.execute(
        update(Thread)
        .where(Thread.id == thread_pk, Thread.order_id.is_(None))
        .values(order_id=order_pk)
        .returning(Thread.id)
    ).scalar_one_or_none()
    return linked is not None


def refresh_thread_summary(session: Session, thread_pk: int, sla_hours: float) -> ThreadSummary:
    """Recompute status, last message time and reply deadline from the stored messages."""
    summary = _summary(session, thread_pk, sla_hours)
    session.execute(
        update(Thread)
        .where(Thread.id == thread_pk)
        .values(
            status=summary.status,
            last_message_at=summary.last_message_at,
            sla_due_at=summary.sla_due_at,
        )
    )
    return summary


def _summary(session: Session, thread_pk: int, sla_hours: float) -> ThreadSummary:
    history = session.execute(
        select(Message.direction, Message.created_at).where(
            Message.thread_id == thread_pk, Message.verification.is_distinct_from("unverified")
        )
    ).all()
    clock_row = session.execute(
        select(Thread.reply_needed_since, Thread.reply_clock_read_at).where(Thread.id == thread_pk)
    ).one_or_none()
    clock = (
        ReplyClock(clock_row[0], clock_row[1])
        if clock_row is not None and clock_row[1] is not None
        else None
    )
    return summarize_thread([(d, c) for d, c in history], sla_hours, clock)


def record_reply_clock(
    session: Session,
    mirakl_thread_id: str,
    needed_since: datetime | None,
    *,
    sla_hours: float,
    marketplace: str,
    read_at: datetime | None = None,
) -> bool:
    """Keep Mirakl's reply clock of a stored thread (read from M10/M11 `metadata` at `read_at`)
    and recompute its deadline, and only its deadline: the thread's status (awaiting review,
    needs attention, closed) is not Mirakl's to change. A read older than the one kept (a pass
    that began before csagent replied) changes nothing. False when nothing was changed."""
    read_at = read_at or datetime.now(UTC)
    thread_pk = session.scalar(
        update(Thread)
        .where(
            Thread.marketplace == marketplace,
            Thread.mirakl_thread_id == mirakl_thread_id,
            (Thread.reply_clock_read_at.is_(None)) | (Thread.reply_clock_read_at <= read_at),
        )
        .values(reply_needed_since=needed_since, reply_clock_read_at=read_at)
        .returning(Thread.id)
    )
    if thread_pk is None:
        return False
    refresh_deadline(session, thread_pk, sla_hours)
    return True


def refresh_deadline(session: Session, thread_pk: int, sla_hours: float) -> None:
    """Recompute a thread's reply deadline alone (none for a closed thread)."""
    status = session.scalar(select(Thread.status).where(Thread.id == thread_pk))
    summary = _summary(session, thread_pk, sla_hours)
    due = None if status == "closed" else summary.sla_due_at
    session.execute(update(Thread).where(Thread.id == thread_pk).values(sla_due_at=due))


# -- what the agent reads and writes of a thread --------------------------------------------------


@dataclass(frozen=True)
class ThreadSnapshot:
    """A thread with its customer and messages (oldest first), read in two statements."""

    pk: int
    mirakl_thread_id: str
    locale: str | None
    order_pk: int | None
    customer_pk: int | None
    customer_name: str | None  # first name when known, else the display name
    customer_locale: str | None
    messages: list[tuple[str, str]]  # (direction, body)
    marketplace: str
    # What a reply must take into account beyond the words: who, when, what was attached.
    firstname: str | None = None
    lastname: str | None = None
    display_name: str | None = None
    sent_at: list[datetime] = field(default_factory=list)  # of each message, as `messages`
    images: list[int] = field(default_factory=list)  # pictures attached to each message


def read_thread(
    session: Session, mirakl_thread_id: str, *, marketplace: str
) -> ThreadSnapshot | None:
    row = session.execute(
        select(
            Thread.id, Thread.locale, Thread.order_id, Thread.customer_id,
            Customer.firstname, Customer.display_name, Customer.locale, Customer.lastname,
        )
        .outerjoin(Customer, Customer.id == Thread.customer_id)
        .where(Thread.marketplace == marketplace, Thread.mirakl_thread_id == mirakl_thread_id)
    ).first()  # fmt: skip
    if row is None:
        return None
    messages = session.execute(
        select(Message.direction, Message.body, Message.created_at, Message.attachments)
        .where(
            Message.thread_id == row[0],
            Message.verification.is_distinct_from("unverified"),  # never what Mirakl denies
            Message.author_type != "OPERATOR",  # the marketplace's words are not the customer's
        )
        .order_by(Message.created_at, Message.id)
    ).all()
    return ThreadSnapshot(
        pk=row[0], mirakl_thread_id=mirakl_thread_id, locale=row[1], order_pk=row[2],
        customer_pk=row[3], customer_name=row[4] or row[5], customer_locale=row[6],
        messages=[(d, b) for d, b, _, _ in messages],
        firstname=row[4], lastname=row[7], display_name=row[5],
        sent_at=[at for _, _, at, _ in messages],
        images=[sum(1 for a in (files or []) if is_image(a)) for _, _, _, files in messages],
        marketplace=marketplace,
    )  # fmt: skip


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".heic", ".webp", ".gif")


def is_image(attachment: Any) -> bool:
    """A picture the customer attached (photos of a damaged parcel, ...), by type or name."""
    if not isinstance(attachment, dict):
        return False
    kind = str(attachment.get("type") or attachment.get("content_type") or "").lower()
    name = str(attachment.get("name") or attachment.get("file_name") or "").lower()
    return kind.startswith("image/") or name.endswith(IMAGE_SUFFIXES)


def set_thread_state(
    session: Session,
    mirakl_thread_id: str,
    *,
    marketplace: str,
    **values: Any,
) -> None:
    """Update a thread's columns (status, intent, confidence, ...) by its Mirakl id."""
    session.execute(
        update(Thread)
        .where(Thread.marketplace == marketplace, Thread.mirakl_thread_id == mirakl_thread_id)
        .values(**values)
    )


def record_outbound(
    session: Session,
    mirakl_thread_id: str,
    message_id: str,
    body: str,
    author: str,
    *,
    marketplace: str,
) -> None:
    """Store a reply the shop sent (once: keyed by Mirakl's message id) and mark the thread
    answered."""
    thread_pk = session.scalar(
        select(Thread.id).where(
            Thread.marketplace == marketplace, Thread.mirakl_thread_id == mirakl_thread_id
        )
    )
    if thread_pk is None:
        raise LookupError(f"thread {mirakl_thread_id} is not stored")
    session.execute(
        insert(Message)
        .values(
            mirakl_message_id=message_id, marketplace=marketplace, thread_id=thread_pk,
            direction="outbound",
            author_type="SHOP", author_name=author, body=body, created_at=datetime.now(UTC),
            delivery_status="sent",
        )
        .on_conflict_do_nothing(index_elements=["marketplace", "mirakl_message_id"])
    )  # fmt: skip
    # Mirakl stops its reply clock when the shop replies ("null when the shop has replied").
    now = datetime.now(UTC)
    session.execute(
        update(Thread)
        .where(Thread.id == thread_pk)
        .values(
            status="answered", sla_due_at=None, reply_needed_since=None, reply_clock_read_at=now
        )
    )


def close_thread(session: Session, mirakl_thread_id: str, *, marketplace: str) -> None:
    set_thread_state(
        session, mirakl_thread_id, marketplace=marketplace, status="closed", sla_due_at=None
    )


def scoped(marketplace: str, key: str) -> str:
    """A key (a Mirakl id, a dedupe or audit key) unique across marketplaces: `<marketplace>/
    <key>`. The default marketplace's keys stay bare, so a single-marketplace install's
    checkpoints, dedupe and audit keys keep their meaning."""
    return key if marketplace == DEFAULT_MARKETPLACE else f"{marketplace}/{key}"


def thread_key(mirakl_thread_id: str, marketplace: str) -> str:
    """One string per thread across marketplaces: its lock, its queue lane, its checkpoint."""
    return scoped(marketplace, mirakl_thread_id)


class ThreadRef(NamedTuple):
    """Which thread: its Mirakl id on its marketplace (the same id on two marketplaces is two
    threads). A pair, so `thread_id, marketplace = ref` still reads it."""

    id: str
    marketplace: str

    @property
    def key(self) -> str:
        """The thread's one string across marketplaces (`thread_key`)."""
        return thread_key(self.id, self.marketplace)


def _lock_key(key: str) -> Any:
    return func.hashtextextended(key, 0)


def lock_thread(session: Session, mirakl_thread_id: str, *, marketplace: str) -> None:
    """Hold the thread's advisory lock until the transaction ends: one run per thread at a time."""
    key = thread_key(mirakl_thread_id, marketplace)
    session.execute(select(func.pg_advisory_xact_lock(_lock_key(key))))


def try_lock_key(session: Session, key: str) -> bool:
    """Take a thread's advisory lock (by its `thread_key`) if no one holds it; never waits."""
    return bool(session.scalar(select(func.pg_try_advisory_xact_lock(_lock_key(key)))))


def lock_key(session: Session, key: str) -> None:
    """Wait for a thread's advisory lock by its `thread_key`."""
    session.execute(select(func.pg_advisory_xact_lock(_lock_key(key))))


def threads_awaiting_review(
    session: Session, limit: int = 50, offset: int = 0
) -> list[tuple[str, str | None, float | None, str]]:
    """(Mirakl thread id, intent, confidence, marketplace) of the threads waiting for a human,
    oldest first."""
    rows = session.execute(
        select(Thread.mirakl_thread_id, Thread.intent, Thread.confidence, Thread.marketplace)
        .where(Thread.status == "awaiting_approval")
        .order_by(Thread.updated_at, Thread.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return [(t, i, c, m) for t, i, c, m in rows]


def latest_message_id(session: Session, thread_id: str, marketplace: str) -> str | None:
    """The Mirakl id of the message stored last in the thread, whoever wrote it: what an agent
    who opened the thread has seen (by storing order, not Mirakl's date: a customer message
    polled after an agent's reply is newer to the agent even when written before it)."""
    return session.scalar(
        select(Message.mirakl_message_id)
        .join(Thread, Thread.id == Message.thread_id)
        .where(Thread.marketplace == marketplace, Thread.mirakl_thread_id == thread_id)
        .order_by(Message.id.desc())
        .limit(1)
    )


def newest_message_pk(session: Session) -> int:
    """Where the stored messages stand now (their storing order): a message stored later has a
    larger key."""
    return int(session.scalar(select(func.max(Message.id))) or 0)


def written_since(session: Session, thread_id: str, upto: int, marketplace: str) -> bool:
    """The thread has a message stored after `upto` (newest_message_pk when an agent looked)."""
    return bool(
        session.scalar(
            select(func.count())
            .select_from(Message)
            .join(Thread, Thread.id == Message.thread_id)
            .where(
                Thread.marketplace == marketplace,
                Thread.mirakl_thread_id == thread_id,
                Message.id > upto,
            )
        )
    )


def thread_of_message(session: Session, mirakl_message_id: str, *, marketplace: str) -> int | None:
    """The thread a stored message belongs to (None when the message is not stored)."""
    return session.scalar(
        select(Message.thread_id).where(
            Message.marketplace == marketplace, Message.mirakl_message_id == mirakl_message_id
        )
    )


def needs_attention(
    session: Session, mirakl_thread_id: str, reason: str, *, marketplace: str
) -> None:
    """Processing a message of this thread failed: a human should look, and here is why."""
    set_thread_state(
        session, mirakl_thread_id, marketplace=marketplace, status="needs_attention",
        attention=reason,
    )  # fmt: skip


def clear_attention(session: Session, thread_pk: int, sla_hours: float) -> None:
    """A new attempt starts: a thread that needed attention gets its ordinary status back."""
    cleared = session.execute(
        update(Thread)
        .where(Thread.id == thread_pk, Thread.attention.is_not(None))
        .values(attention=None)
        .returning(Thread.status)
    ).first()
    if cleared is not None and cleared[0] == "needs_attention":
        refresh_thread_summary(session, thread_pk, sla_hours)


def link_thread_order(
    session: Session,
    mirakl_thread_id: str,
    mirakl_order_id: str,
    *,
    marketplace: str,
) -> None:
    """Link a thread to the order Mirakl says it is about (the order row exists by now)."""
    order_pk = session.scalar(
        select(Order.id).where(
            Order.marketplace == marketplace, Order.mirakl_order_id == mirakl_order_id
        )
    )
    if order_pk is not None:
        set_thread_state(session, mirakl_thread_id, marketplace=marketplace, order_id=order_pk)


def mark_verified(
    session: Session,
    mirakl_message_id: str,
    body: str,
    attachments: list[dict[str, Any]] | None = None,
    *,
    marketplace: str,
) -> None:
    """Mirakl confirmed the message: its copy of the text (and of what was attached) is kept."""
    values: dict[str, Any] = {"body": body, "verification": "verified"}
    if attachments:
        values["attachments"] = attachments
    session.execute(
        update(Message)
        .where(Message.marketplace == marketplace, Message.mirakl_message_id == mirakl_message_id)
        .values(**values)
    )


def flag_unverified(
    session: Session,
    mirakl_thread_id: str,
    mirakl_message_id: str,
    reason: str,
    *,
    review_pending: bool,
    sla_hours: float,
    marketplace: str,
) -> None:
    """Mirakl does not confirm the message: kept and shown with why, never read into a
    conversation nor counted in the thread's deadline. A thread waiting for a review keeps
    waiting (its review stays listed); any other needs attention."""
    thread_pk = session.execute(
        update(Message)
        .where(Message.marketplace == marketplace, Message.mirakl_message_id == mirakl_message_id)
        .values(verification="unverified")
        .returning(Message.thread_id)
    ).scalar_one()
    refresh_thread_summary(session, thread_pk, sla_hours)
    session.execute(
        update(Thread)
        .where(Thread.id == thread_pk)
        .values(
            attention=f"unverified: {reason}",
            status="awaiting_approval" if review_pending else "needs_attention",
        )
    )


def adopt_customer(
    session: Session,
    mirakl_thread_id: str,
    mirakl_customer_id: str,
    display_name: str | None,
    *,
    marketplace: str,
) -> None:
    """The thread's customer is the one Mirakl names (a first notification may have said
    otherwise), shown as Mirakl's inbox shows them ("M. Dupont": how to greet them)."""
    customer_pk, _ = get_or_create(
        session,
        Customer,
        ("marketplace", "mirakl_customer_id"),
        {
            "marketplace": marketplace,
            "mirakl_customer_id": mirakl_customer_id,
            "display_name": display_name,
        },
    )
    if display_name:
        session.execute(
            update(Customer)
            .where(Customer.id == customer_pk, Customer.display_name.is_distinct_from(display_name))
            .values(display_name=display_name)
        )
    session.execute(
        update(Thread)
        .where(
            Thread.marketplace == marketplace,
            Thread.mirakl_thread_id == mirakl_thread_id,
            Thread.customer_id.is_distinct_from(customer_pk),
        )
        .values(customer_id=customer_pk)
    )


@dataclass(frozen=True)
class NoteView:
    id: int
    author: str
    body: str
    created_at: datetime


def thread_pk_of(session: Session, mirakl_thread_id: str, marketplace: str) -> int:
    """The stored thread's key; NotFound (a LookupError, 404 in the API) when it is not stored."""
    thread_pk = session.scalar(
        select(Thread.id).where(
            Thread.marketplace == marketplace, Thread.mirakl_thread_id == mirakl_thread_id
        )
    )
    if thread_pk is None:
        raise NotFound(f"thread {mirakl_thread_id} not found")
    return thread_pk


def add_note(
    session: Session,
    mirakl_thread_id: str,
    author: str,
    body: str,
    *,
    marketplace: str,
) -> NoteView:
    """An internal note on the thread, for the other agents (never sent to Mirakl).
    LookupError for an unknown thread."""
    thread_pk = thread_pk_of(session, mirakl_thread_id, marketplace)
    note = ThreadNote(thread_id=thread_pk, author=author, body=body, created_at=datetime.now(UTC))
    session.add(note)
    session.flush()
    return NoteView(note.id, note.author, note.body, note.created_at)


def notes_of(session: Session, thread_pk: int) -> list[NoteView]:
    """The thread's internal notes, oldest first."""
    rows = session.scalars(
        select(ThreadNote).where(ThreadNote.thread_id == thread_pk).order_by(ThreadNote.id)
    )
    return [NoteView(n.id, n.author, n.body, n.created_at) for n in rows]


MAX_TAGS = 20


def clean_tag(raw: str) -> str:
    """A tag as stored: lowercase, words joined by "-", without a leading "#", at most 40
    characters; ValueError when nothing is left."""
    tag = re.sub(r"[^\w-]+", "-", raw.strip().lstrip("#").lower()).strip("-_")[:40]
    if not tag:
        raise ValueError(f"{raw!r} is not a tag: use letters, digits, - or _")
    return tag


def retag(
    session: Session, thread_pk: int, *, add: list[str], remove: list[str]
) -> tuple[list[str], list[str]]:
    """Tags added and removed (cleaned; ValueError for an empty one or more than MAX_TAGS).
    (the tags before, after), sorted."""
    adding, removing = [clean_tag(t) for t in add], {clean_tag(t) for t in remove}
    before = list(session.scalar(select(Thread.tags).where(Thread.id == thread_pk)) or [])
    after = sorted((set(before) | set(adding)) - removing)
    if len(after) > MAX_TAGS:
        raise ValueError(f"a thread has at most {MAX_TAGS} tags")
    session.execute(update(Thread).where(Thread.id == thread_pk).values(tags=after))
    return sorted(before), after


def keep_reply_draft(
    session: Session,
    mirakl_thread_id: str,
    agent: str,
    body: str | None,
    *,
    marketplace: str,
) -> None:
    """The reply the agent is writing on the thread, kept on the server (blank: forgotten).
    NotFound when the thread is not stored."""
    thread_pk = thread_pk_of(session, mirakl_thread_id, marketplace)
    if not (body or "").strip():
        session.execute(
            delete(ReplyDraft).where(ReplyDraft.thread_id == thread_pk, ReplyDraft.agent == agent)
        )
        return
    _put_agents_row(session, ReplyDraft, thread_pk, agent, body=body, updated_at=datetime.now(UTC))


def kept_reply_draft(
    session: Session, mirakl_thread_id: str, agent: str, *, marketplace: str
) -> str:
    """The reply the agent was writing on the thread ("" when none)."""
    return (
        session.scalar(
            select(ReplyDraft.body)
            .join(Thread, Thread.id == ReplyDraft.thread_id)
            .where(
                Thread.marketplace == marketplace,
                Thread.mirakl_thread_id == mirakl_thread_id,
                ReplyDraft.agent == agent,
            )
        )
        or ""
    )


# An agent whose dashboard has not said so for this long has left the thread.
PRESENCE_S = 30
PRESENCE_ACTIVITIES = ("viewing", "replying")


@dataclass
class PresenceView:
    agent: str
    activity: str  # viewing | replying
    seen_at: datetime


def note_presence(
    session: Session,
    mirakl_thread_id: str,
    agent: str,
    activity: str,
    *,
    marketplace: str,
) -> None:
    """The agent is on the thread now (viewing it, or writing a reply); NotFound when the thread
    is not stored."""
    if activity not in PRESENCE_ACTIVITIES:
        raise ValueError(f"activity must be one of {', '.join(PRESENCE_ACTIVITIES)}")
    thread_pk = thread_pk_of(session, mirakl_thread_id, marketplace)
    _put_agents_row(
        session, ThreadPresence, thread_pk, agent, activity=activity, seen_at=datetime.now(UTC)
    )


def _put_agents_row(
    session: Session, model: Any, thread_pk: int, agent: str, **values: Any
) -> None:
    """One row per thread and agent (presence, a reply being written), written or replaced."""
    session.execute(
        insert(model)
        .values(thread_id=thread_pk, agent=agent, **values)
        .on_conflict_do_update(index_elements=[model.thread_id, model.agent], set_=values)
    )


def presence_of(
    session: Session, thread_pk: int, *, now: datetime | None = None
) -> list[PresenceView]:
    """The agents on the thread now (seen within PRESENCE_S), replying ones first."""
    since = (now or datetime.now(UTC)) - timedelta(seconds=PRESENCE_S)
    rows = session.scalars(
        select(ThreadPresence)
        .where(ThreadPresence.thread_id == thread_pk, ThreadPresence.seen_at >= since)
        .order_by(ThreadPresence.activity, ThreadPresence.agent)  # replying < viewing
    )
    return [PresenceView(p.agent, p.activity, p.seen_at) for p in rows]


def mark_read_by_agents(session: Session, mirakl_thread_id: str, *, marketplace: str) -> None:
    """An agent opened the thread: what the customer wrote so far is read."""
    set_thread_state(
        session, mirakl_thread_id, marketplace=marketplace, read_by_agents_at=datetime.now(UTC)
    )


def snooze_thread(
    session: Session,
    mirakl_thread_id: str,
    until: datetime | None,
    *,
    marketplace: str,
) -> None:
    """Put the thread aside until `until` (None: back now); a customer message after now brings
    it back sooner."""
    set_thread_state(
        session, mirakl_thread_id, marketplace=marketplace, snoozed_until=until,
        snoozed_at=datetime.now(UTC) if until else None,
    )  # fmt: skip


def marketplace_of_thread(session: Session, thread_pk: int) -> str | None:
    """The marketplace a stored thread belongs to."""
    return session.scalar(select(Thread.marketplace).where(Thread.id == thread_pk))


def marketplaces_of_thread(session: Session, mirakl_thread_id: str) -> list[str]:
    """Every marketplace with a thread of that Mirakl id (the same id on two is two threads)."""
    found = session.scalars(
        select(Thread.marketplace).where(Thread.mirakl_thread_id == mirakl_thread_id)
    )
    return list(found)


def has_threads(session: Session, marketplace: str) -> bool:
    """Whether any thread is stored under that marketplace."""
    found = session.scalar(select(Thread.id).where(Thread.marketplace == marketplace).limit(1))
    return found is not None


def thread_intent(session: Session, mirakl_thread_id: str, marketplace: str) -> str | None:
    """The intent the thread was last classified as (None: never classified)."""
    return session.scalar(
        select(Thread.intent).where(
            Thread.marketplace == marketplace, Thread.mirakl_thread_id == mirakl_thread_id
        )
    )


def latest_inbound(session: Session, thread_pk: int) -> tuple[str | None, datetime | None]:
    """(Mirakl id, time) of the thread's newest customer message; (None, None) if none."""
    last = session.execute(
        select(Message.mirakl_message_id, Message.created_at)
        .where(Message.thread_id == thread_pk, Message.direction == "inbound")
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
    ).first()
    return (last[0], last[1]) if last else (None, None)


def reassign(session: Session, thread_pk: int, to: str | None) -> str | None:
    """Give the thread to `to` (None: nobody); who had it before."""
    previous = session.scalar(select(Thread.assignee).where(Thread.id == thread_pk))
    session.execute(update(Thread).where(Thread.id == thread_pk).values(assignee=to))
    return previous
