"""The one shape of an order's facts and the one shape of a postal address, used from the database
to the reply: the graph's state, the drafts, the internal API and the agent's tools all share them.

They are TypedDicts so that they travel as plain JSON in LangGraph checkpoints and API bodies,
while pydantic (and FastAPI) still validate them where they enter from outside.
"""

from __future__ import annotations

from typing import Annotated, NotRequired

from pydantic import ConfigDict, Field, with_config
from sqlalchemy import select
from sqlalchemy.orm import Session
from typing_extensions import TypedDict

from store.models import Order, Shipment
from store.text import StorableStr


@with_config(ConfigDict(extra="forbid", str_strip_whitespace=True))
class Address(TypedDict):
    """A delivery address, as the internal API takes it and shipments keep it."""

    firstname: NotRequired[Annotated[StorableStr | None, Field(max_length=100)]]
    lastname: Annotated[StorableStr, Field(min_length=1, max_length=100)]
    street_1: Annotated[StorableStr, Field(min_length=3, max_length=200)]
    street_2: NotRequired[Annotated[StorableStr | None, Field(max_length=200)]]
    zip_code: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 -]{1,9}$")]
    city: Annotated[StorableStr, Field(min_length=1, max_length=100)]
    country: Annotated[
        str, Field(pattern=r"^[A-Z]{3}$", description="ISO 3166-1 alpha-3, e.g. FRA, DEU, ITA")
    ]
    phone: NotRequired[Annotated[str | None, Field(pattern=r"^\+?[0-9 ()./-]{6,20}$")]]


class OrderLineFacts(TypedDict):
    id: str
    product: str
    qty: int
    price: str  # decimal as text: exact, and JSON-safe in checkpoints
    state: str | None


class OrderFacts(TypedDict):
    """What csagent knows of one order and its shipment when it decides."""

    order_id: str
    state: str | None  # Mirakl order state; None while the order is known only by reference
    created: str | None  # ISO-8601
    currency: str
    lines: list[OrderLineFacts]
    shipment_status: str | None  # pending, preparing, shipped, in_transit, delivered, ...
    carrier: str | None
    tracking_number: str | None
    tracking_url: str | None
    last_event: str | None  # date (YYYY-MM-DD) of the latest shipment event
    address: Address | None


def order_facts(session: Session, order: Order) -> OrderFacts:
    shipment = session.scalar(select(Shipment).where(Shipment.order_id == order.id))
    events = (shipment.events or []) if shipment else []
    address = (shipment.address if shipment else None) or order.shipping_address
    return OrderFacts(
        order_id=order.mirakl_order_id,
        state=order.state,
        created=order.created_date.isoformat() if order.created_date else None,
        currency=order.currency or "EUR",
        lines=[
            OrderLineFacts(
                id=line.mirakl_order_line_id,
                product=line.product_title or line.offer_sku,
                qty=line.quantity,
                price=str(line.price),
                state=line.state,
            )
            for line in order.lines
        ],
        shipment_status=shipment.status if shipment else None,
        carrier=(shipment.carrier_name or shipment.carrier_code) if shipment else None,
        tracking_number=shipment.tracking_number if shipment else None,
        tracking_url=shipment.tracking_url if shipment else None,
        last_event=str(events[-1].get("at", ""))[:10] or None if events else None,
        address=address,  # type: ignore[typeddict-item]
    )


def customer_order(
    session: Session, linked_order_pk: int | None, customer_pk: int | None, named: list[str]
) -> Order | None:
    """The order a message is about: the thread's own order, else the first order named in the
    text that belongs to this same customer (never someone else's)."""
    if linked_order_pk is not None:
        return session.get(Order, linked_order_pk)
    if customer_pk is None or not named:
        return None
    found = session.scalars(
        select(Order).where(Order.mirakl_order_id.in_(named), Order.customer_id == customer_pk)
    ).all()
    by_id = {o.mirakl_order_id: o for o in found}
    return next((by_id[i] for i in named if i in by_id), None)


def mark_order_cancelled(session: Session, mirakl_order_id: str) -> None:
    order = session.scalar(select(Order).where(Order.mirakl_order_id == mirakl_order_id))
    if order is not None:
        order.state = "CANCELED"
        order.can_cancel = False
