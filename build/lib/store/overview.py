"""What is in the database, in the few numbers a seller looks at first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models import Customer, Message, Order, Thread


@dataclass(frozen=True)
class OpenThread:
    mirakl_thread_id: str
    customer: str | None
    order: str | None
    topic: str | None
    last_message_at: datetime | None
    sla_due_at: datetime | None


@dataclass(frozen=True)
class Overview:
    threads_by_status: dict[str, int]
    messages_by_direction: dict[str, int]
    customers: int
    orders: int
    threads_with_order: int
    overdue: int
    oldest_waiting: list[OpenThread]

    @property
    def threads(self) -> int:
        return sum(self.threads_by_status.values())

    @property
    def messages(self) -> int:
        return sum(self.messages_by_direction.values())


def database_overview(session: Session, *, now: datetime, waiting: int = 5) -> Overview:
    by_status = dict(
        session.execute(select(Thread.status, func.count()).group_by(Thread.status)).all()
    )
    by_direction = dict(
        session.execute(select(Message.direction, func.count()).group_by(Message.direction)).all()
    )
    waiting_rows = session.execute(
        select(
            Thread.mirakl_thread_id,
            Customer.display_name,
            Order.mirakl_order_id,
            Thread.topic,
            Thread.last_message_at,
            Thread.sla_due_at,
        )
        .outerjoin(Customer, Thread.customer_id == Customer.id)
        .outerjoin(Order, Thread.order_id == Order.id)
        .where(Thread.status == "open")
        .order_by(Thread.sla_due_at.asc().nulls_last())
        .limit(waiting)
    ).all()
    return Overview(
        threads_by_status=by_status,
        messages_by_direction=by_direction,
        customers=session.scalar(select(func.count()).select_from(Customer)) or 0,
        orders=session.scalar(select(func.count()).select_from(Order)) or 0,
        threads_with_order=session.scalar(
            select(func.count()).select_from(Thread).where(Thread.order_id.is_not(None))
        )
        or 0,
        overdue=session.scalar(
            select(func.count())
            .select_from(Thread)
            .where(Thread.status == "open", Thread.sla_due_at < now)
        )
        or 0,
        oldest_waiting=[OpenThread(*row) for row in waiting_rows],
    )
