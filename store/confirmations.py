"""Confirmations asked of customers before what cannot be undone, and their answers.

A cancellation or an address change is first proposed to the customer ("reply YES to confirm");
the question is a row here, so a restart or a crash forgets nothing, and the thread and the
inbox can show that csagent waits for the customer's yes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from store.business import NotFound
from store.models import Confirmation, Thread
from store.threads import thread_pk_of


@dataclass(frozen=True)
class ConfirmationView:
    id: int
    order_id: str
    action: str  # cancel_order | cancel_lines | update_address
    details: dict[str, Any]
    language: str
    requested_by: str
    requested_at: datetime
    asked_at: datetime
    expires_at: datetime
    status: str
    answered_by: str | None
    answered_at: datetime | None
    outcome: str | None

    def expired(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(UTC)) >= self.expires_at

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for the graph's checkpointed state and the API."""
        return {
            "id": self.id, "order_id": self.order_id, "action": self.action,
            "details": self.details, "language": self.language,
            "requested_by": self.requested_by, "requested_at": self.requested_at.isoformat(),
            "asked_at": self.asked_at.isoformat(), "expires_at": self.expires_at.isoformat(),
            "status": self.status, "answered_by": self.answered_by,
            "answered_at": self.answered_at.isoformat() if self.answered_at else None,
            "outcome": self.outcome, "expired": self.status == "pending" and self.expired(),
        }  # fmt: skip


WHAT = {
    "cancel_order": "cancel order {order}",
    "cancel_lines": "cancel the items of order {order}",
    "update_address": "deliver order {order} to a new address",
}


def describe(action: str, order_id: str) -> str:
    """ "cancel order 123-A": what a question asks the customer to confirm."""
    return WHAT.get(action, action.replace("_", " ") + " of order {order}").format(order=order_id)


def _view(row: Confirmation) -> ConfirmationView:
    return ConfirmationView(
        id=row.id, order_id=row.order_id, action=row.action, details=dict(row.details or {}),
        language=row.language, requested_by=row.requested_by, requested_at=row.requested_at,
        asked_at=row.asked_at, expires_at=row.expires_at, status=row.status,
        answered_by=row.answered_by, answered_at=row.answered_at, outcome=row.outcome,
    )  # fmt: skip


def _of_thread(mirakl_thread_id: str, marketplace: str) -> Any:
    """The thread's questions, to be narrowed and ordered."""
    return (
        select(Confirmation)
        .join(Thread, Thread.id == Confirmation.thread_id)
        .where(Thread.marketplace == marketplace, Thread.mirakl_thread_id == mirakl_thread_id)
    )


def ask(
    session: Session,
    mirakl_thread_id: str,
    *,
    marketplace: str,
    order_id: str,
    action: str,
    details: dict[str, Any],
    language: str,
    requested_by: str,
    requested_at: datetime,
    expires_at: datetime,
) -> None:
    """Record the question (once per customer request: a retried run adds nothing). An earlier
    question of the thread still pending is superseded: only the newest can be answered."""
    thread_pk = thread_pk_of(session, mirakl_thread_id, marketplace)
    session.execute(
        update(Confirmation)
        .where(
            Confirmation.thread_id == thread_pk,
            Confirmation.status == "pending",
            Confirmation.requested_by != requested_by,
        )
        .values(status="superseded", answered_at=datetime.now(UTC))
    )
    session.execute(
        insert(Confirmation)
        .values(
            thread_id=thread_pk, order_id=order_id, action=action, details=details,
            language=language, requested_by=requested_by, requested_at=requested_at,
            expires_at=expires_at,
        )
        .on_conflict_do_nothing(constraint="uq_confirmations_thread_request")
    )  # fmt: skip


def latest(
    session: Session, mirakl_thread_id: str, *, marketplace: str, status: str | None = None
) -> ConfirmationView | None:
    """The thread's newest confirmation (with `status`, only one in that status)."""
    query = (
        _of_thread(mirakl_thread_id, marketplace)
        .order_by(Confirmation.asked_at.desc(), Confirmation.id.desc())
        .limit(1)
    )
    if status is not None:
        query = query.where(Confirmation.status == status)
    row = session.scalar(query)
    return _view(row) if row is not None else None


def pending(
    session: Session, mirakl_thread_id: str, *, marketplace: str
) -> ConfirmationView | None:
    """The question the thread's customer may be answering (expired or not: the caller says)."""
    return latest(session, mirakl_thread_id, marketplace=marketplace, status="pending")


def answered_by(
    session: Session, mirakl_thread_id: str, *, marketplace: str, message_id: str
) -> ConfirmationView | None:
    """The question this message already answered (a retried run reads it the same way)."""
    row = session.scalar(
        _of_thread(mirakl_thread_id, marketplace)
        .where(Confirmation.answered_by == message_id)
        .order_by(Confirmation.id.desc())
        .limit(1)
    )
    return _view(row) if row is not None else None


def supersede(session: Session, mirakl_thread_id: str, *, marketplace: str, outcome: str) -> None:
    """A person took the thread over (a reply by hand, a review answered): the customer's next
    message is no longer an answer to csagent's question."""
    try:
        thread_pk = thread_pk_of(session, mirakl_thread_id, marketplace)
    except NotFound:
        return
    session.execute(
        update(Confirmation)
        .where(Confirmation.thread_id == thread_pk, Confirmation.status == "pending")
        .values(status="superseded", answered_at=datetime.now(UTC), outcome=outcome)
    )


def settle(
    session: Session,
    confirmation_id: int,
    status: str,
    *,
    answered_by: str | None,
    outcome: str,
) -> bool:
    """Close a pending question with what became of it; False if it was no longer pending
    (settled already: a retried run changes nothing)."""
    result = session.execute(
        update(Confirmation)
        .where(Confirmation.id == confirmation_id, Confirmation.status == "pending")
        .values(
            status=status, answered_by=answered_by, answered_at=datetime.now(UTC), outcome=outcome
        )
    )
    return bool(getattr(result, "rowcount", 0))


def pending_by_thread(session: Session, thread_pks: list[int]) -> dict[int, ConfirmationView]:
    """Pending questions of these threads (by thread primary key), for the inbox."""
    if not thread_pks:
        return {}
    rows = session.scalars(
        select(Confirmation)
        .where(Confirmation.thread_id.in_(thread_pks), Confirmation.status == "pending")
        .order_by(Confirmation.asked_at)
    )
    return {row.thread_id: _view(row) for row in rows}
