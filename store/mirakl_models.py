"""Mirakl wire shapes (threads, messages, orders) as pydantic models, per docs/mirakl-contract.md.

Shared by the V1 import here and the Mirakl client in `tools/`, so both read one definition.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

ParticipantType = Literal["CUSTOMER", "SHOP", "OPERATOR"]


class MiraklModel(BaseModel):
    # Mirakl adds fields over time; unknown ones are kept, not rejected.
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Participant(MiraklModel):
    type: ParticipantType
    id: str | None = None
    display_name: str | None = None


class Topic(MiraklModel):
    type: str
    value: str


class Entity(MiraklModel):
    type: str
    id: str = Field(min_length=1)
    label: str | None = None


class MessageParty(MiraklModel):
    type: ParticipantType
    id: str | None = None
    display_name: str | None = None
    organization_details: Any = None


class InboxMessage(MiraklModel):
    id: str = Field(min_length=1)
    sender: MessageParty = Field(alias="from")
    to: list[MessageParty] = Field(default_factory=list)
    body: str
    date_created: AwareDatetime
    attachments: list[dict[str, Any]] = Field(default_factory=list)


class InboxThread(MiraklModel):
    id: str = Field(min_length=1)
    topic: Topic | None = None
    entities: list[Entity] = Field(default_factory=list)
    current_participants: list[Participant] = Field(default_factory=list)
    authorized_participants: list[Participant] = Field(default_factory=list)
    date_created: AwareDatetime
    date_updated: AwareDatetime | None = None
    metadata: dict[str, Any] | None = None
    messages: list[InboxMessage] = Field(default_factory=list)

    @property
    def order_id(self) -> str | None:
        """The Mirakl order this thread is about, if any."""
        return next((e.id for e in self.entities if e.type == "MMP_ORDER"), None)

    @property
    def customer(self) -> Participant | None:
        return next((p for p in self.current_participants if p.type == "CUSTOMER" and p.id), None)


# Whole-order cancellation (OR29) is allowed only before the customer is debited.
CANCELLABLE_STATES = frozenset(
    {"STAGING", "WAITING_ACCEPTANCE", "WAITING_DEBIT", "WAITING_DEBIT_PAYMENT"}
)


class ShippingAddress(MiraklModel):
    firstname: str | None = None
    lastname: str | None = None
    street_1: str | None = None
    street_2: str | None = None
    zip_code: str | None = None
    city: str | None = None
    country: str | None = None
    phone: str | None = None


class OrderCustomer(MiraklModel):
    customer_id: str
    firstname: str | None = None
    lastname: str | None = None
    locale: str | None = None
    shipping_address: ShippingAddress | None = None


class OrderLine(MiraklModel):
    order_line_id: str
    offer_sku: str
    product_title: str | None = None
    quantity: int
    price: Decimal
    total_price: Decimal | None = None
    order_line_state: str | None = None
    shipped_date: AwareDatetime | None = None  # when the line left the shop
    received_date: AwareDatetime | None = None  # when the customer received it


class Order(MiraklModel):
    order_id: str
    commercial_id: str | None = None
    order_state: str
    created_date: AwareDatetime
    last_updated_date: AwareDatetime | None = None
    shipping_deadline: AwareDatetime | None = None
    customer_debited_date: AwareDatetime | None = None
    can_cancel: bool = False
    currency_iso_code: str = "EUR"
    total_price: Decimal
    shipping_price: Decimal | None = None
    customer: OrderCustomer | None = None
    order_lines: list[OrderLine] = Field(default_factory=list)
    shipping_carrier_code: str | None = None
    shipping_company: str | None = None
    shipping_tracking: str | None = None
    shipping_tracking_url: str | None = None
