"""The processing queue behind POST /api/v1/messages, `csagent worker` and `csagent sync`.

It sits below the agent: the composition root (app factory, CLI) hands it the processor.

Accepting an event commits it to `inbound_events` first; processing happens in a transaction that
holds a PostgreSQL advisory lock on the thread, so messages of one thread run one at a time and
oldest first, while different threads run in parallel. Workers claim events with
`FOR UPDATE SKIP LOCKED`, so any number of processes can share the queue, and an event whose
processing died with its process is simply still `received` and is picked up again.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import Engine, delete, func, select, text, true, tuple_, update
from sqlalchemy.orm import Session, sessionmaker

from store.db import get_engine, libpq_url
from store.ingest import (
    INBOX_CURSOR,
    IncomingMessage,
    cursor_name,
    record_event,
    store_message,
)
from store.metrics import MARKETPLACE_MESSAGES, MESSAGES, PROCESSING_SECONDS, stage
from store.models import InboundEvent, ProcessingAttempt
from store.settings import DEFAULT_MARKETPLACE, Settings, get_settings
from store.threads import (
    clear_attention,
    lock_key,
    needs_attention,
    thread_of_message,
    try_lock_key,
)

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "csagent_inbound_events"
OUTCOME_STATUSES = (
    "stored", "auto_replied", "awaiting_approval", "escalated", "ignored", "unverified", "failed",
)  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    """What processing did with one message."""

    status: str
    intent: str | None = None
    confidence: float | None = None
    reply: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def as_result(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "intent": self.intent,
            "confidence": self.confidence,
            "reply": self.reply,
            **self.detail,
        }


# The step after storage: the agent graph, injected by the composition root, or `store_only`
# (messages are stored and their thread stays open for a human).
Processor = Callable[[Session, IncomingMessage, int], Outcome]


def store_only(session: Session, message: IncomingMessage, thread_pk: int) -> Outcome:
    return Outcome("stored")


@dataclass(frozen=True)
class EventView:
    event_id: int
    thread_id: str | None
    message_id: str
    marketplace: str
    state: str  # received | processed | failed
    attempts: int
    error: str | None
    result: dict[str, Any]
    received_at: datetime
    processed_at: datetime | None

    next_attempt_at: datetime | None = None

    @property
    def intent(self) -> str | None:
        return self.result.get("intent")

    @property
    def confidence(self) -> float | None:
        return self.result.get("confidence")

    @property
    def reply(self) -> str | None:
        return self.result.get("reply")

    @property
    def confirmation(self) -> str | None:
        """`asked` (the reply asks the customer to confirm), or how the customer answered."""
        return self.result.get("confirmation")

    @property
    def classifier(self) -> str | None:
        """Who classified it: `local`, or `llm` (the cascade's model)."""
        return self.result.get("classifier")

    @property
    def reason(self) -> str | None:
        """Why a person is needed, or why the message was not verified."""
        return self.result.get("reason")

    @property
    def status(self) -> str:
        """The outcome a caller sees: `queued` until an attempt finished, `failed` after a failed
        attempt (a retry may still be scheduled: see `next_attempt_at`)."""
        if self.state == "processed":
            return str(self.result.get("status", "stored"))
        return "failed" if self.state == "failed" or self.error else "queued"

    @property
    def final(self) -> bool:
        """An attempt has finished, so its answer can be given."""
        return self.state in ("processed", "failed") or self.error is not None


@dataclass(frozen=True)
class Accepted:
    event_id: int
    is_new: bool


class Pipeline:
    def __init__(
        self,
        engine: Engine,
        *,
        sla_hours: float,
        processor: Processor = store_only,
        max_attempts: int = 3,
        retry_delay_s: float = 5.0,
        settings: Settings | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.sessions = sessionmaker(bind=engine, expire_on_commit=False)
        self.sla_hours = sla_hours
        self.processor = processor
        self.max_attempts = max_attempts
        self.retry_delay_s = retry_delay_s
        # A run holds its transaction and, at times, a second connection (audit log, retrieval):
        # synchronous runs beyond this many wait their turn instead of draining the pool.
        self._runs = threading.BoundedSemaphore(8)

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        *,
        engine: Engine | None = None,
        processor: Processor | None = None,
    ) -> Pipeline:
        settings = settings or get_settings()
        engine = engine or get_engine(settings)
        return cls(
            engine,
            sla_hours=settings.sla_hours,
            processor=processor or store_only,
            max_attempts=settings.queue_max_attempts,
            retry_delay_s=settings.queue_retry_delay_s,
            settings=settings,
        )

    def marketplace_of(self, message: IncomingMessage) -> str:
        """The stored name of the marketplace a message was written on."""
        if self.settings is None:
            return DEFAULT_MARKETPLACE
        return self.settings.stored_name(message.marketplace)

    def sla_of(self, marketplace: str) -> float:
        """The reply deadline on that marketplace."""
        if self.settings is None:
            return self.sla_hours
        return self.settings.for_marketplace(marketplace).sla_hours

    # -- accepting ---------------------------------------------------------------------------

    def accept(
        self,
        message: IncomingMessage,
        *,
        source: str,
        raw: dict[str, Any] | None = None,
        notify: bool = True,
    ) -> Accepted:
        """Durably record the event (committed before any processing); duplicates are detected.
        `notify` wakes the queue workers (not needed when the caller processes it at once)."""
        marketplace = self.marketplace_of(message)
        with stage("queue.accept"), self.sessions.begin() as session:
            event_id, is_new = record_event(
                session, message, source=source, raw=raw, marketplace=marketplace
            )
            if is_new:
                # Stored with the event: the message is visible whatever processing does.
                with stage("queue.store"):
                    store_message(
                        session, message, sla_hours=self.sla_of(marketplace),
                        marketplace=marketplace,
                    )  # fmt: skip
                if notify:
                    session.execute(select(func.pg_notify(NOTIFY_CHANNEL, str(event_id))))
        return Accepted(event_id, is_new)

    def enqueue(self, message: IncomingMessage, *, source: str = "poll") -> str:
        """Record a message for the queue workers (the webhook's path without waiting for the
        outcome): "accepted", or "duplicate" when it was already there. What the poller uses."""
        return "accepted" if self.accept(message, source=source).is_new else "duplicate"

    def ingest(
        self, message: IncomingMessage, *, source: str, raw: dict[str, Any] | None = None
    ) -> tuple[EventView, bool]:
        """Accept and process now (the synchronous webhook path); (outcome, duplicate)."""
        accepted = self.accept(message, source=source, raw=raw, notify=False)
        if not accepted.is_new:
            return self.wait_for_outcome(accepted.event_id), True
        with self._runs:  # waiting here holds no database connection
            return self.run_now(accepted.event_id), False

    def run_now(self, event_id: int) -> EventView:
        """Process a queued event now and answer its outcome (or, when another process got to
        it first, wait for that one's)."""
        return self.process_event(event_id) or self.wait_for_outcome(event_id)

    # -- reading -------------------------------------------------------------------------------

    def event_view(self, event_id: int) -> EventView | None:
        with self.sessions() as session:
            event = session.get(InboundEvent, event_id)
            return _view(event) if event is not None else None

    def wait_for_outcome(self, event_id: int, timeout_s: float = 30.0) -> EventView:
        """The event's outcome once processing finished (a duplicate gets the first answer)."""
        deadline = datetime.now(UTC) + timedelta(seconds=timeout_s)
        stop = threading.Event()
        while True:
            view = self.event_view(event_id)
            assert view is not None
            if view.final or datetime.now(UTC) >= deadline:
                return view
            stop.wait(0.05)

    # -- processing ----------------------------------------------------------------------------

    def process_event(self, event_id: int) -> EventView | None:
        """Process this event, after any older pending event of the same thread; its view once
        committed (None when someone else has processed it)."""
        with self.sessions.begin() as session:
            event = session.get(InboundEvent, event_id)
            if event is None or event.status != "received":
                return None
            thread_key = event.thread_key or event.dedupe_key
            lock_key(session, thread_key)
            session.refresh(event)  # someone else may have processed it while we waited
            if event.status != "received":
                return None
            self._process_backlog(session, thread_key, event)
        return _view(event)

    def work_once(self, busy: set[str] | None = None) -> bool:
        """Claim the oldest available event and process it; False when the queue is empty.
        Threads another process is working on are added to `busy` and skipped."""
        busy = set() if busy is None else busy
        with self.sessions.begin() as session:
            event = session.scalars(
                select(InboundEvent)
                .where(
                    InboundEvent.status == "received",
                    (InboundEvent.next_attempt_at.is_(None))
                    | (InboundEvent.next_attempt_at <= func.now()),
                    func.coalesce(InboundEvent.thread_key, InboundEvent.dedupe_key).not_in(busy)
                    if busy
                    else true(),
                )
                .order_by(InboundEvent.message_created_at, InboundEvent.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if event is None:
                return False
            thread_key = event.thread_key or event.dedupe_key
            # Never wait for a thread another process is working on: that process (or a later
            # pass of this loop) handles it, and not waiting here rules out lock cycles.
            if not try_lock_key(session, thread_key):
                busy.add(thread_key)
                return True
            self._process_backlog(session, thread_key, event)
            return True

    def _process_backlog(self, session: Session, thread_key: str, upto: InboundEvent) -> None:
        pending = session.scalars(
            select(InboundEvent)
            .where(
                InboundEvent.thread_key == thread_key,
                InboundEvent.status == "received",
                tuple_(InboundEvent.message_created_at, InboundEvent.id)
                <= tuple_(upto.message_created_at, upto.id),
            )
            .order_by(InboundEvent.message_created_at, InboundEvent.id)
            .with_for_update()
        ).all()
        for event in pending:
            self._process_one(session, event)

    def _start_attempt(self, event_id: int) -> int:
        """Count this attempt in a transaction of its own, committed before the work: a crash
        that loses the processing transaction still leaves the attempt counted. The count."""
        with self.sessions.begin() as own:
            own.add(ProcessingAttempt(event_id=event_id, pid=os.getpid()))
            own.flush()
            return int(
                own.scalar(select(func.count()).where(ProcessingAttempt.event_id == event_id)) or 0
            )

    def _process_one(self, session: Session, event: InboundEvent) -> None:
        event.attempts = max(event.attempts + 1, self._start_attempt(event.id))
        started = time.perf_counter()
        if event.attempts > self.max_attempts:
            # Earlier attempts never finished (their process died): do not try again forever.
            event.error = (
                f"processing started {event.attempts - 1} times and never finished "
                "(the process died each time)"
            )
            self._needs_attention(session, event)
            MESSAGES.labels("failed", "").inc()
            MARKETPLACE_MESSAGES.labels(self._label(event.marketplace), "failed").inc()
            event.status = "failed"
            event.result = {"status": "failed", "error": event.error}
            event.processed_at = datetime.now(UTC)
            return
        try:
            message = IncomingMessage.model_validate(event.payload)
            marketplace = event.marketplace
            sla_hours = self.sla_of(marketplace)
            with session.begin_nested():
                thread_pk = thread_of_message(session, message.message_id, marketplace=marketplace)
                if thread_pk is None:  # accepted by a version that stored at processing time
                    thread_pk, _ = store_message(
                        session, message, sla_hours=sla_hours, marketplace=marketplace
                    )
                clear_attention(session, thread_pk, sla_hours)
                with stage("agent"):
                    outcome = self.processor(session, message, thread_pk)
        except Exception as exc:  # any failure of one message must not stop the queue
            log.exception("processing inbound event %s failed", event.id)
            event.error = f"{type(exc).__name__}: {exc}"[:2000]
            self._needs_attention(session, event)
            PROCESSING_SECONDS.observe(time.perf_counter() - started)
            if event.attempts >= self.max_attempts:
                MESSAGES.labels("failed", "").inc()
                MARKETPLACE_MESSAGES.labels(self._label(event.marketplace), "failed").inc()
                event.status = "failed"
                event.result = {"status": "failed", "error": event.error}
                event.processed_at = datetime.now(UTC)
            else:
                delay = self.retry_delay_s * 2 ** (event.attempts - 1)
                event.next_attempt_at = datetime.now(UTC) + timedelta(seconds=delay)
            return
        PROCESSING_SECONDS.observe(time.perf_counter() - started)
        MESSAGES.labels(outcome.status, outcome.intent or "").inc()
        MARKETPLACE_MESSAGES.labels(self._label(event.marketplace), outcome.status).inc()
        event.status = "processed"
        event.result = outcome.as_result()
        event.error = None
        event.processed_at = datetime.now(UTC)

    def _label(self, marketplace: str) -> str:
        return self.settings.display_name(marketplace) if self.settings else marketplace

    def _needs_attention(self, session: Session, event: InboundEvent) -> None:
        thread_id = (event.payload or {}).get("thread_id")
        if thread_id and event.error:
            needs_attention(session, thread_id, event.error, marketplace=event.marketplace)

    # -- failed events ---------------------------------------------------------------------------

    def events(
        self, *, status: str | None = None, limit: int = 50, before_id: int | None = None
    ) -> list[EventView]:
        """Events, newest first (`before_id` pages on)."""
        with self.sessions() as session:
            query = select(InboundEvent).order_by(InboundEvent.id.desc()).limit(limit)
            if status is not None:
                query = query.where(InboundEvent.status == status)
            if before_id is not None:
                query = query.where(InboundEvent.id < before_id)
            return [_view(e) for e in session.scalars(query)]

    def requeue_failed(self, event_ids: list[int] | None = None) -> list[int]:
        """Put failed events back in the queue with a fresh set of attempts (all failed events
        when `event_ids` is None); the ids that were requeued."""
        with self.sessions.begin() as session:
            statement = (
                update(InboundEvent)
                .where(InboundEvent.status == "failed")
                .values(
                    status="received",
                    attempts=0,
                    error=None,
                    next_attempt_at=None,
                    processed_at=None,
                )
                .returning(InboundEvent.id)
            )
            if event_ids is not None:
                statement = statement.where(InboundEvent.id.in_(event_ids))
            requeued = sorted(session.scalars(statement))
            if requeued:
                session.execute(
                    delete(ProcessingAttempt).where(ProcessingAttempt.event_id.in_(requeued))
                )
                session.execute(select(func.pg_notify(NOTIFY_CHANNEL, "retry")))
        return requeued

    def retry(self, event_id: int) -> EventView:
        """Run one failed event again now, or check an unverified one with Mirakl again (it may
        have lagged behind its webhook); LookupError if unknown, ValueError otherwise."""
        view = self.event_view(event_id)
        if view is None:
            raise LookupError(f"no event {event_id}")
        if view.state == "processed" and view.status == "unverified":
            with self.sessions.begin() as session:
                session.execute(
                    update(InboundEvent)
                    .where(InboundEvent.id == event_id)
                    .values(status="received", attempts=0, error=None, result=None,
                            next_attempt_at=None, processed_at=None)
                )  # fmt: skip
                session.execute(
                    delete(ProcessingAttempt).where(ProcessingAttempt.event_id == event_id)
                )
            return self.run_now(event_id)
        if view.state != "failed":
            raise ValueError(f"event {event_id} is {view.status}, neither failed nor unverified")
        self.requeue_failed([event_id])
        return self.run_now(event_id)

    # -- workers -------------------------------------------------------------------------------

    def drain(self) -> int:
        """Process everything available now; the number of passes that found work."""
        done, busy = 0, set[str]()
        while self.work_once(busy):
            done += 1
        return done

    def run_worker(self, stop: threading.Event, poll_s: float = 1.0) -> None:
        """Process the queue until `stop` is set, waking on NOTIFY or every `poll_s` seconds."""
        url = libpq_url(self.engine.url.render_as_string(hide_password=False))
        while not stop.is_set():
            try:
                with psycopg.connect(url, autocommit=True) as listener:
                    listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    while not stop.is_set():
                        self.drain()
                        for _ in listener.notifies(timeout=poll_s, stop_after=1):
                            pass
            except Exception:  # database restarting, etc.: keep the worker alive
                log.exception("queue worker error; retrying")
                stop.wait(poll_s)


def _view(event: InboundEvent) -> EventView:
    payload = event.payload or {}
    return EventView(
        event_id=event.id,
        thread_id=payload.get("thread_id") or event.thread_key,
        message_id=payload.get("message_id") or event.dedupe_key,
        marketplace=event.marketplace,
        state=event.status,
        attempts=event.attempts,
        error=event.error,
        result=event.result or {},
        received_at=event.received_at,
        processed_at=event.processed_at,
        next_attempt_at=event.next_attempt_at if event.status == "received" else None,
    )


@dataclass(frozen=True)
class QueueHealth:
    queued: int
    failed: int
    oldest_queued_s: float | None  # age of the oldest event still waiting to be processed


@dataclass(frozen=True)
class MarketplaceHealth:
    queued: int
    failed: int
    unverified: int  # messages stored but not confirmed by that marketplace's Mirakl
    inbox_synced_to: datetime | None  # the inbox cursor (largest `date_updated` read)
    inbox_checked_at: datetime | None = None  # start of the last complete pass over the inbox
    replies_owed: int = 0  # open threads with a reply deadline
    next_due_at: datetime | None = None  # the most urgent reply deadline

    @property
    def lag_s(self) -> float | None:
        """Seconds since the last complete pass began: how old csagent's view of the inbox is."""
        if self.inbox_checked_at is None:
            return None
        return max(0.0, (datetime.now(UTC) - self.inbox_checked_at).total_seconds())


def marketplace_health(session: Session, marketplace: str) -> MarketplaceHealth:
    from store.models import Message, SyncCursor, Thread

    queued, failed = session.execute(
        select(
            func.count().filter(InboundEvent.status == "received"),
            func.count().filter(InboundEvent.status == "failed"),
        ).where(InboundEvent.marketplace == marketplace)
    ).one()
    unverified = session.scalar(
        select(func.count()).where(
            Message.marketplace == marketplace, Message.verification == "unverified"
        )
    )
    cursor = cursor_name(INBOX_CURSOR, marketplace)
    synced = session.execute(
        select(SyncCursor.position, SyncCursor.checked_at).where(SyncCursor.name == cursor)
    ).first()
    owed, next_due = session.execute(
        select(func.count(), func.min(Thread.sla_due_at)).where(
            Thread.marketplace == marketplace,
            Thread.status.in_(("open", "awaiting_approval", "needs_attention", "escalated")),
            Thread.sla_due_at.is_not(None),
        )
    ).one()
    return MarketplaceHealth(
        int(queued), int(failed), int(unverified or 0),
        synced[0] if synced else None, synced[1] if synced else None, int(owed), next_due,
    )  # fmt: skip


def queue_health(session: Session) -> QueueHealth:
    row = session.execute(
        text(
            "SELECT count(*) FILTER (WHERE status = 'received'), "
            "count(*) FILTER (WHERE status = 'failed'), "
            "extract(epoch FROM now() - min(received_at) FILTER (WHERE status = 'received')) "
            "FROM inbound_events"
        )
    ).one()
    return QueueHealth(int(row[0]), int(row[1]), float(row[2]) if row[2] is not None else None)
