"""The one shape of an order's facts and the one shape of a postal address, used from the database
to the reply: the graph's state, the drafts, the internal API and the agent's tools all share them.

They are TypedDicts so that they travel as plain JSON in LangGraph checkpoints and API bodies,
while pydantic (and FastAPI) still validate them where they enter from outside.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, NotRequired

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

from store.mirakl_models import Order as MiraklOrder
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
    phone: NotRequired[Annotated[str | None, Field(pattern=r"^\+?[0-9(][0-9 ()./-]{4,18}[0-9)]$")]]


def one_line(address: Address | dict[str, Any]) -> str:
    """ "street, postcode city": how replies and reviews name an address."""
    return f"{address['street_1']}, {address['zip_code']} {address['city']}"


# How a country is written on an envelope there.
COUNTRY_NAMES = {
    "FRA": "France", "DEU": "Deutschland", "ESP": "España", "ITA": "Italia", "BEL": "Belgique",
    "CHE": "Schweiz", "AUT": "Österreich", "NLD": "Nederland", "PRT": "Portugal",
    "GBR": "United Kingdom", "IRL": "Ireland", "LUX": "Luxembourg",
}  # fmt: skip


def whole_address(address: Address | dict[str, Any]) -> str:
    """Everything that is written when the customer says yes: the street, its second line, the
    postcode and city, the country."""
    second = f", {address['street_2']}" if address.get("street_2") else ""
    country = address.get("country")
    where = f", {COUNTRY_NAMES.get(country, country)}" if country else ""
    return f"{address['street_1']}{second}, {address['zip_code']} {address['city']}{where}"


# What Mirakl's order state says of the parcel (None: nothing, or not a delivery any more).
SHIPMENT_OF_STATE = {
    "STAGING": "pending", "WAITING_ACCEPTANCE": "pending", "WAITING_DEBIT": "pending",
    "WAITING_DEBIT_PAYMENT": "pending", "SHIPPING": "preparing", "SHIPPED": "shipped",
    "TO_COLLECT": "shipped", "RECEIVED": "delivered", "CLOSED": "delivered",
}  # fmt: skip


class OrderLineFacts(TypedDict):
    id: str
    product: str
    qty: int
    price: str  # decimal as text: exact, and JSON-safe in checkpoints
    state: str | None
    sku: NotRequired[str | None]  # the seller's offer SKU (absent in older checkpoints)


class OrderFacts(TypedDict):
    """What csagent knows of one order and its shipment when it decides: read from Mirakl in
    the same run (`source`, `fetched_at`), never taken from an older copy."""

    order_id: str
    customer_id: str | None  # the order's customer on Mirakl
    state: str  # Mirakl order state
    created: str | None  # ISO-8601
    currency: str
    lines: list[OrderLineFacts]
    shipment_status: str | None  # what the state says of the parcel: pending, preparing, ...
    carrier: str | None
    tracking_number: str | None
    tracking_url: str | None
    address: Address | None
    source: str  # where these facts were read: "mirakl"
    fetched_at: str  # ISO-8601, when they were read
    # Read with `.get`: checkpoints written before these existed lack them.
    shipping_price: NotRequired[str | None]  # decimal as text
    shipped: NotRequired[str | None]  # ISO-8601: when the first line left the shop
    delivered: NotRequired[str | None]  # ISO-8601: when the customer received the last line


def facts_from_mirakl(order: MiraklOrder, fetched_at: datetime) -> OrderFacts:
    """The facts of an order exactly as Mirakl answered them."""
    address = order.customer.shipping_address if order.customer else None
    return OrderFacts(
        order_id=order.order_id,
        customer_id=order.customer.customer_id if order.customer else None,
        state=order.order_state,
        created=order.created_date.isoformat(),
        currency=order.currency_iso_code,
        lines=[
            OrderLineFacts(
                id=line.order_line_id,
                product=line.product_title or line.offer_sku,
                qty=line.quantity,
                price=str(line.price),
                state=line.order_line_state,
                sku=line.offer_sku,
            )
            for line in order.order_lines
        ],
        shipment_status=SHIPMENT_OF_STATE.get(order.order_state),
        carrier=order.shipping_company or order.shipping_carrier_code,
        tracking_number=order.shipping_tracking,
        tracking_url=order.shipping_tracking_url,
        address=address.model_dump(mode="json") if address else None,  # type: ignore[typeddict-item]
        source="mirakl",
        fetched_at=fetched_at.isoformat(),
        shipping_price=None if order.shipping_price is None else str(order.shipping_price),
        shipped=_iso(min((ln.shipped_date for ln in order.order_lines if ln.shipped_date),
                         default=None)),
        delivered=_iso(max((ln.received_date for ln in order.order_lines if ln.received_date),
                           default=None)),
    )  # fmt: skip


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
