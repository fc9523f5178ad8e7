"""Side effects of the graph (reply, cancel, address change, close), each recorded in audit_log
before and after it happens, and idempotent: a node that re-runs after a crash or a resume finds
its audit row and does not act twice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from store.models import AuditEntry


def perform_once(
    services: Any,
    *,
    key: str,
    action: str,
    actor_type: str,
    actor: str,
    payload: dict[str, Any],
    act: Callable[[], dict[str, Any]],
    already_done: Callable[[], dict[str, Any] | None] | None = None,
) -> dict[str, Any]:
    """Run `act` unless the audit log says this `key` already happened; return its result."""
    with services.own_transaction() as session:
        session.execute(
            insert(AuditEntry)
            .values(
                idempotency_key=key, action=action, actor_type=actor_type, actor=actor,
                payload=payload, outcome="started",
            )
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
        )  # fmt: skip
        row = session.execute(
            select(AuditEntry.outcome, AuditEntry.payload).where(AuditEntry.idempotency_key == key)
        ).one()
    if row.outcome == "succeeded":
        return dict(row.payload.get("result") or {})
    # A started (or failed) attempt may have reached the world before dying: look first.
    result = already_done() if already_done is not None and row.outcome == "started" else None
    if result is None:
        try:
            result = act()
        except Exception as exc:
            _finish(services, key, "failed", {**payload, "error": f"{type(exc).__name__}: {exc}"})
            raise
    _finish(services, key, "succeeded", {**payload, "result": result})
    return result


def _finish(services: Any, key: str, outcome: str, payload: dict[str, Any]) -> None:
    with services.own_transaction() as session:
        session.execute(
            update(AuditEntry)
            .where(AuditEntry.idempotency_key == key)
            .values(outcome=outcome, payload=payload, finished_at=datetime.now(UTC))
        )
