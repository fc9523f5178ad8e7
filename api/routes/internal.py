"""The internal business API (/internal/v1): stock, order cost, shipments, address changes.

It stands in for the seller's ERP/WMS and is also the contract a seller implements to plug in
their own systems; the agent's tools (tools/business.py) only ever talk to it over HTTP.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Header, Path, Query
from pydantic import BaseModel, ConfigDict

from api.deps import SessionDep, require_internal_key
from api.errors import error_responses
from store import business
from store.audit import record_done
from store.facts import Address
from store.ids import ORDER_ID
from store.settings import DEFAULT_MARKETPLACE

SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
ORDER_ID_PATTERN = rf"^{ORDER_ID}$"


router = APIRouter(
    prefix="/internal/v1",
    tags=["internal business API"],
    dependencies=[Depends(require_internal_key)],
    responses=error_responses(401, 404, 422, 500),
)
Sku = Annotated[str, Path(pattern=SKU_PATTERN, description="Seller SKU, e.g. KET-BLU-17")]
Marketplace = Annotated[
    str,
    Query(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$",
        description="The order's marketplace, as csagent stores it (`default`: the default one).",
    ),
]
DEFAULT = DEFAULT_MARKETPLACE
OrderId = Annotated[
    str, Path(pattern=ORDER_ID_PATTERN, description="Mirakl order id, e.g. 20567843-A")
]


class FromRecord(BaseModel):
    """Answers read straight off the repository's records (ORM rows, dataclasses)."""

    model_config = ConfigDict(from_attributes=True)


class Inventory(FromRecord):
    sku: str
    available: int
    reserved: int
    restock_date: date | None


class CostItem(FromRecord):
    sku: str
    qty: int
    unit_price: Decimal
    unit_cost: Decimal | None


class OrderCost(FromRecord):
    order_id: str
    currency: str
    items: list[CostItem]
    shipping_price: Decimal
    shipping_cost: Decimal
    marketplace_fee: Decimal
    margin: Decimal


class ShipmentEvent(BaseModel):
    at: datetime
    status: str
    description: str | None = None


class Shipment(BaseModel):
    order_id: str
    carrier_code: str | None
    carrier_name: str | None
    tracking_number: str | None
    tracking_url: str | None
    status: str
    events: list[ShipmentEvent]
    address: Address | None


def _shipment_out(order_id: str, s: Any) -> Shipment:
    return Shipment(
        order_id=order_id,
        carrier_code=s.carrier_code,
        carrier_name=s.carrier_name,
        tracking_number=s.tracking_number,
        tracking_url=s.tracking_url,
        status=s.status,
        events=[ShipmentEvent.model_validate(e) for e in s.events or []],
        address=_address_out(s.address),
    )


ADDRESS_FIELDS = frozenset(Address.__annotations__)


def _address_out(stored: dict[str, Any] | None) -> Address | None:
    """A shipment's address in this API's shape. Addresses copied from Mirakl orders carry the
    spec's other fields (`company`, `state`, `additional_info`, `country_iso_code`): they are
    left out, and the country is the ISO alpha-3 code, whichever field holds it."""
    if not stored:
        return None
    kept = {k: v for k, v in stored.items() if k in ADDRESS_FIELDS and v is not None}
    country = kept.get("country")
    iso3 = isinstance(country, str) and len(country) == 3 and country.isupper()
    if not iso3 and stored.get("country_iso_code"):
        kept["country"] = stored["country_iso_code"]
    return cast(Address, kept)


@router.get("/inventory/{sku}", response_model=Inventory)
def inventory(sku: Sku, session: SessionDep) -> Inventory:
    return Inventory.model_validate(business.get_inventory(session, sku))


@router.get("/orders/{order_id}/cost", response_model=OrderCost)
def order_cost(
    order_id: OrderId, session: SessionDep, marketplace: Marketplace = DEFAULT
) -> OrderCost:
    return OrderCost.model_validate(
        business.get_order_cost(session, order_id, marketplace=marketplace)
    )


@router.get("/shipments/{order_id}", response_model=Shipment)
def shipment(
    order_id: OrderId, session: SessionDep, marketplace: Marketplace = DEFAULT
) -> Shipment:
    return _shipment_out(
        order_id, business.get_shipment(session, order_id, marketplace=marketplace)
    )


@router.put(
    "/shipments/{order_id}/address",
    response_model=Shipment,
    responses=error_responses(409),
)
def update_address(
    order_id: OrderId,
    address: Address,
    session: SessionDep,
    x_actor: Annotated[str | None, Header(max_length=128)] = None,
    marketplace: Marketplace = DEFAULT,
) -> Shipment:
    """Redirect a shipment that has not left the warehouse (409 with the reason otherwise)."""
    new = dict(address)
    previous = business.get_shipment(session, order_id, marketplace=marketplace).address
    updated = business.update_shipment_address(session, order_id, new, marketplace=marketplace)
    record_done(
        session, actor_type="system", actor=x_actor or "internal-api",
        action="shipment.address_updated", marketplace=marketplace, order_id=updated.order_id,
        payload={"order_id": order_id, "from": previous, "to": new},
    )  # fmt: skip
    answer = _shipment_out(order_id, updated)
    session.commit()
    return answer
