"""Thread bookkeeping shared by every way a message enters csagent (V1 import, webhook, sync)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from store.models import Message, Thread


@dataclass(frozen=True)
class ThreadSummary:
    status: str
    last_message_at: datetime | None
    sla_due_at: datetime | None


def summarize_thread(messages: list[tuple[str, datetime]], sla_hours: float) -> ThreadSummary:
    """Status and reply deadline of a thread from its (direction, created_at) messages.

    A thread whose latest message is the customer's waits for us ("open") and is due
    `sla_hours` after the first customer message that has had no answer yet.
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
    return ThreadSummary("open", last_at, first_unanswered + timedelta(hours=sla_hours))


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
    history = session.execute(
        select(Message.direction, Message.created_at).where(Message.thread_id == thread_pk)
    ).all()
    summary = summarize_thread([(d, c) for d, c in history], sla_hours)
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
