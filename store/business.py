"""Orders, shipments, stock and costs: the seller's business data csagent reads and acts on.

`upsert_mirakl_order` is how a Mirakl order (from the API or the simulator) lands in the
database; the repository functions below back the internal business API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from examples import ROOT as EXAMPLES_ROOT
from store.facts import SHIPMENT_OF_STATE
from store.mirakl_models import Order as MiraklOrder
from store.models import Customer, InventoryItem, Order, OrderCost, OrderLine, Shipment
from store.settings import DEFAULT_MARKETPLACE
from store.upserts import get_or_create, upsert

# A shipment can still be redirected while it is in the warehouse.
ADDRESS_CHANGEABLE = frozenset({"pending", "preparing"})


class NotFound(LookupError):
    pass


class Conflict(ValueError):
    """The request is valid but the current state does not allow it."""


def upsert_mirakl_order(
    session: Session,
    raw: dict[str, Any] | MiraklOrder,
    *,
    source: str = "seed",
    fetched_at: datetime | None = None,
    marketplace: str,
) -> int:
    """Insert or refresh an order (with its lines and customer) from Mirakl's JSON; its id.
    `source` says where the facts come from ('mirakl' when read from its API at `fetched_at`)."""
    order = raw if isinstance(raw, MiraklOrder) else MiraklOrder.model_validate(raw)
    extra = order.model_extra or {}
    customer_pk = None
    if order.customer is not None:
        c = order.customer
        initial = f"{c.lastname[:1]}." if c.lastname else None
        customer_pk = upsert(
            session,
            Customer,
            ("marketplace", "mirakl_customer_id"),
            {
                "marketplace": marketplace,
                "mirakl_customer_id": c.customer_id,
                "firstname": c.firstname,
                "lastname": c.lastname,
                "locale": c.locale,
                "display_name": " ".join(p for p in (c.firstname, initial) if p) or None,
            },
        )
    address = order.customer.shipping_address if order.customer else None
    order_pk: int = upsert(
        session,
        Order,
        ("marketplace", "mirakl_order_id"),
        {
            "marketplace": marketplace,
            "mirakl_order_id": order.order_id,
            "commercial_id": order.commercial_id,
            "customer_id": customer_pk,
            "channel": (extra.get("channel") or {}).get("code"),
            "state": order.order_state,
            "can_cancel": order.can_cancel,
            "currency": order.currency_iso_code,
            "total_price": order.total_price,
            "shipping_price": order.shipping_price,
            "shipping_address": address.model_dump(mode="json") if address else None,
            "created_date": order.created_date,
            "last_updated_date": order.last_updated_date,
            "shipping_deadline": order.shipping_deadline,
            "customer_debited_date": order.customer_debited_date,
            "source": source,
            "fetched_at": fetched_at or datetime.now(UTC),
        },
    )
    for line in order.order_lines:
        upsert(
            session,
            OrderLine,
            ("order_id", "mirakl_order_line_id"),
            {
                "order_id": order_pk,
                "mirakl_order_line_id": line.order_line_id,
                "offer_sku": line.offer_sku,
                "product_title": line.product_title,
                "quantity": line.quantity,
                "price": line.price,
                "total_price": line.total_price,
                "state": line.order_line_state,
            },
        )
    return order_pk


# How far a parcel has gone, to keep a shipment's status from going back when Mirakl's coarser
# order state is recorded over the warehouse's finer one.
SHIPMENT_PROGRESS = {"pending": 0, "preparing": 1, "shipped": 2, "in_transit": 3, "delivered": 4}


def record_mirakl_order(
    session: Session,
    order: MiraklOrder,
    fetched_at: datetime,
    *,
    marketplace: str,
) -> int:
    """Record an order just read from Mirakl: the order, its lines and customer, and what Mirakl
    says of its shipment (carrier, tracking, how far it went, never backwards)."""
    order_pk = upsert_mirakl_order(
        session, order, source="mirakl", fetched_at=fetched_at, marketplace=marketplace
    )
    status = SHIPMENT_OF_STATE.get(order.order_state)
    shipment = session.scalar(select(Shipment).where(Shipment.order_id == order_pk))
    if shipment is None:
        if status is None and not order.shipping_tracking:
            return order_pk
        shipment = Shipment(order_id=order_pk, status=status or "pending")
        session.add(shipment)
    elif status is not None and SHIPMENT_PROGRESS.get(status, -1) > SHIPMENT_PROGRESS.get(
        shipment.status, 99
    ):
        shipment.status = status
    if order.shipping_tracking:
        shipment.carrier_code = order.shipping_carrier_code or shipment.carrier_code
        shipment.carrier_name = order.shipping_company or shipment.carrier_name
        shipment.tracking_number = order.shipping_tracking
        shipment.tracking_url = order.shipping_tracking_url or shipment.tracking_url
    if shipment.address is None and order.customer and order.customer.shipping_address:
        shipment.address = order.customer.shipping_address.model_dump(mode="json")
    session.flush()
    return order_pk


def find_order(session: Session, mirakl_order_id: str, *, marketplace: str) -> Order | None:
    """An order by its Mirakl id on a marketplace (the same id elsewhere is another order)."""
    return session.scalar(
        select(Order).where(
            Order.marketplace == marketplace, Order.mirakl_order_id == mirakl_order_id
        )
    )


def order_by_mirakl_id(session: Session, mirakl_order_id: str, *, marketplace: str) -> Order:
    order = find_order(session, mirakl_order_id, marketplace=marketplace)
    if order is None:
        raise NotFound(f"order {mirakl_order_id} not found")
    return order


def mark_order_cancelled(session: Session, mirakl_order_id: str, *, marketplace: str) -> None:
    """Mirakl cancelled it: the stored copy says so until the next reading."""
    order = find_order(session, mirakl_order_id, marketplace=marketplace)
    if order is not None:
        order.state = "CANCELED"
        order.can_cancel = False


# -- inventory -------------------------------------------------------------------------------------


def get_inventory(session: Session, sku: str) -> InventoryItem:
    item = session.get(InventoryItem, sku)
    if item is None:
        raise NotFound(f"unknown SKU {sku}")
    return item


# -- order cost ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostLine:
    sku: str
    qty: int
    unit_price: Decimal
    unit_cost: Decimal | None


@dataclass(frozen=True)
class OrderCostView:
    order_id: str
    currency: str
    items: list[CostLine]
    shipping_price: Decimal
    shipping_cost: Decimal
    marketplace_fee: Decimal

    @property
    def margin(self) -> Decimal:
        revenue = (
            sum((i.unit_price * i.qty for i in self.items), Decimal("0")) + self.shipping_price
        )
        item_cost = sum((i.unit_cost or Decimal("0")) * i.qty for i in self.items)
        return revenue - item_cost - self.shipping_cost - self.marketplace_fee


def get_order_cost(session: Session, mirakl_order_id: str, *, marketplace: str) -> OrderCostView:
    order = order_by_mirakl_id(session, mirakl_order_id, marketplace=marketplace)
    cost = session.scalar(select(OrderCost).where(OrderCost.order_id == order.id))
    if cost is None:
        raise NotFound(f"no cost data for order {mirakl_order_id}")
    unit_costs = dict(
        session.execute(
            select(InventoryItem.sku, InventoryItem.unit_cost).where(
                InventoryItem.sku.in_([line.offer_sku for line in order.lines])
            )
        ).all()
    )
    return OrderCostView(
        order_id=mirakl_order_id,
        currency=cost.currency,
        items=[
            CostLine(line.offer_sku, line.quantity, line.price, unit_costs.get(line.offer_sku))
            for line in sorted(order.lines, key=lambda ln: ln.mirakl_order_line_id)
        ],
        shipping_price=order.shipping_price or Decimal("0"),
        shipping_cost=cost.shipping_cost,
        marketplace_fee=cost.marketplace_fee,
    )


# -- shipments -------------------------------------------------------------------------------------


def get_shipment(session: Session, mirakl_order_id: str, *, marketplace: str) -> Shipment:
    order = order_by_mirakl_id(session, mirakl_order_id, marketplace=marketplace)
    shipment = session.scalar(select(Shipment).where(Shipment.order_id == order.id))
    if shipment is None:
        raise NotFound(f"no shipment for order {mirakl_order_id}")
    return shipment


def update_shipment_address(
    session: Session,
    mirakl_order_id: str,
    address: dict[str, Any],
    *,
    marketplace: str,
) -> Shipment:
    """Redirect a shipment that has not left the warehouse; Conflict once it has."""
    order = order_by_mirakl_id(session, mirakl_order_id, marketplace=marketplace)
    shipment = session.scalar(
        select(Shipment).where(Shipment.order_id == order.id).with_for_update()
    )
    if shipment is None:
        raise NotFound(f"no shipment for order {mirakl_order_id}")
    if shipment.status not in ADDRESS_CHANGEABLE:
        raise Conflict(
            f"the parcel has already left the warehouse (status {shipment.status}); "
            "the address can no longer be changed"
        )
    shipment.address = address
    order.shipping_address = address
    return shipment


# -- demo data -------------------------------------------------------------------------------------


def register_shipment(
    session: Session,
    mirakl_order_id: str,
    status: str,
    address: dict[str, Any] | None,
    *,
    marketplace: str,
) -> None:
    """The warehouse learns of an order it will ship (the demo's stand-in for the seller's WMS,
    which knows every order it prepares); the order itself is known here by reference only."""
    order_pk, _ = get_or_create(
        session,
        Order,
        ("marketplace", "mirakl_order_id"),
        {"marketplace": marketplace, "mirakl_order_id": mirakl_order_id},
    )
    upsert(
        session, Shipment, "order_id", {"order_id": order_pk, "status": status, "address": address}
    )


def _iso_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def seed_business_data(session: Session, examples: Path = EXAMPLES_ROOT) -> dict[str, int]:
    """Load the example orders (as Mirakl has them) and the ERP's stock, costs and shipments."""
    orders = json.loads((examples / "mirakl" / "orders.json").read_text(encoding="utf-8"))["orders"]
    for raw in orders:
        upsert_mirakl_order(session, raw, marketplace=DEFAULT_MARKETPLACE)
    erp = examples / "erp"
    inventory = json.loads((erp / "inventory.json").read_text(encoding="utf-8"))
    for item in inventory:
        upsert(
            session, InventoryItem, "sku", {**item, "restock_date": _iso_date(item["restock_date"])}
        )
    ids = dict(
        session.execute(
            select(Order.mirakl_order_id, Order.id).where(Order.marketplace == DEFAULT_MARKETPLACE)
        ).all()
    )
    costs = json.loads((erp / "order_costs.json").read_text(encoding="utf-8"))
    shipments = json.loads((erp / "shipments.json").read_text(encoding="utf-8"))
    for model, rows in ((OrderCost, costs), (Shipment, shipments)):
        for row in rows:
            upsert(session, model, "order_id", {**row, "order_id": ids[row["order_id"]]})
    return {
        "orders": len(orders),
        "inventory": len(inventory),
        "order_costs": len(costs),
        "shipments": len(shipments),
    }
