"""Side effects recorded in audit_log before and after they happen, each at most once.

A node that re-runs after a crash or a resume finds its audit row and does not act twice: a
`succeeded` row returns its recorded result, and a `started` row left by a dead attempt makes the
caller look in the world (`already_done`) before acting again, as does a `failed` one (its
outcome may have been unclear).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from store.models import AuditEntry
from store.threads import scoped


def perform_once(
    sessions: sessionmaker[Session],
    *,
    key: str,
    action: str,
    actor_type: str,
    actor: str,
    payload: dict[str, Any],
    act: Callable[[], dict[str, Any]],
    already_done: Callable[[datetime], dict[str, Any] | None] | None = None,
    marketplace: str,
) -> dict[str, Any]:
    """Run `act` unless the audit log says this `key` already happened; return its result.

    `already_done(since)` looks in the world for an effect made since the first attempt began
    (the audit row's time): called before any new attempt after one that died or failed.
    The audit rows are written in transactions of their own, committed at once, so they survive
    whatever happens to the caller's transaction. Two calls with one key at the same moment
    would both act: callers hold the thread's lock (`lock_thread`) around it, as every caller
    does. The key is scoped to the marketplace (the same
    order id on two marketplaces is two orders)."""
    key = scoped(marketplace, key)
    with sessions.begin() as session:
        first_attempt = session.execute(
            insert(AuditEntry)
            .values(
                idempotency_key=key, action=action, actor_type=actor_type, actor=actor,
                payload=payload, outcome="started", marketplace=marketplace,
            )
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(AuditEntry.id)
        ).scalar_one_or_none() is not None  # fmt: skip
        row = (
            None
            if first_attempt
            else session.execute(
                select(AuditEntry.outcome, AuditEntry.payload, AuditEntry.at).where(
                    AuditEntry.idempotency_key == key
                )
            ).one()
        )
    if row is not None and row.outcome == "succeeded":
        return dict(row.payload.get("result") or {})
    # An attempt that died, or failed with an unclear outcome (a timeout), may have reached the
    # world: look first.
    result = None
    if row is not None and row.outcome in ("started", "failed") and already_done is not None:
        result = already_done(row.at)
    if result is None:
        try:
            result = act()
        except Exception as exc:
            _finish(sessions, key, "failed", {**payload, "error": f"{type(exc).__name__}: {exc}"})
            raise
    _finish(sessions, key, "succeeded", {**payload, "result": result})
    return result


def _finish(
    sessions: sessionmaker[Session], key: str, outcome: str, payload: dict[str, Any]
) -> None:
    with sessions.begin() as session:
        session.execute(
            update(AuditEntry)
            .where(AuditEntry.idempotency_key == key)
            .values(outcome=outcome, payload=payload, finished_at=datetime.now(UTC))
        )


def reply_already_sent(
    session: Session,
    thread_id: str,
    reply_sha256: str,
    since: datetime | None,
    *,
    marketplace: str,
) -> str | None:
    """Mirakl's id of a reply with this text already sent to the thread (by the agent or by hand)
    since `since` (the customer's latest message), if there is one."""
    query = (
        select(AuditEntry.payload["result"]["message_id"].astext)
        .where(
            AuditEntry.action.in_(("reply.send", "reply.manual")),
            AuditEntry.outcome == "succeeded",
            AuditEntry.marketplace == marketplace,
            AuditEntry.payload["thread"].astext == thread_id,
            AuditEntry.payload["reply_sha256"].astext == reply_sha256,
        )
        .order_by(AuditEntry.at.desc())
        .limit(1)
    )
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    return session.scalar(query)


def record_human(
    session: Session,
    *,
    action: str,
    actor: str,
    thread_pk: int,
    payload: dict[str, Any],
    marketplace: str,
) -> None:
    """An agent's bookkeeping on a thread (assign, reopen): done once it is written."""
    session.add(
        AuditEntry(
            actor_type="human", actor=actor, action=action, marketplace=marketplace,
            thread_id=thread_pk, payload=payload, outcome="succeeded",
            finished_at=datetime.now(UTC),
        )
    )  # fmt: skip


def record_done(
    session: Session,
    *,
    actor_type: str,
    actor: str,
    action: str,
    payload: dict[str, Any],
    marketplace: str,
    order_id: int | None = None,  # the order's row
) -> None:
    """Something done, in the audit log as succeeded (a reviewer's answer, an address changed
    through the internal API)."""
    session.add(
        AuditEntry(
            actor_type=actor_type, actor=actor, action=action, marketplace=marketplace,
            order_id=order_id, payload=payload, outcome="succeeded",
            finished_at=datetime.now(UTC),
        )
    )  # fmt: skip


def succeeded_actions(session: Session, order_id: str) -> set[str]:
    """The actions done on an order (its id in the entry's payload)."""
    found = session.scalars(
        select(AuditEntry.action).where(
            AuditEntry.payload["order"].astext == order_id, AuditEntry.outcome == "succeeded"
        )
    )
    return set(found)
