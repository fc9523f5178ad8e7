"""Typed Mirakl Seller API payloads (orders, pages, tracking, webhook), per the contract.

Money is Decimal; unknown fields are kept so that a newer Mirakl does not break parsing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from store.mirakl_models import (
    Entity,
    InboxMessage,
    InboxThread,
    MessageParty,
    MiraklModel,
    Participant,
    Topic,
)

__all__ = [
    "Entity", "InboxMessage", "InboxThread", "MessageParty", "Participant", "Topic",
    "ShippingAddress", "OrderCustomer", "OrderLine", "Order", "OrderPage", "ThreadPage",
    "ReplyResult", "TrackingUpdate", "LineAmount", "WebhookEvent", "CANCELLABLE_STATES",
]  # fmt: skip

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


class OrderPage(MiraklModel):
    orders: list[Order]
    total_count: int


class ThreadPage(MiraklModel):
    data: list[InboxThread]
    next_page_token: str | None = None
    previous_page_token: str | None = None


class ReplyResult(MiraklModel):
    message_id: str
    thread_id: str


class TrackingUpdate(BaseModel):
    carrier_code: str | None = None
    carrier_name: str | None = None
    carrier_url: str | None = None
    tracking_number: str


class LineAmount(BaseModel):
    """One line of a cancellation (OR30) or refund (OR28) request."""

    order_line_id: str
    quantity: int = Field(gt=0)
    amount: Decimal = Field(ge=0)
    shipping_amount: Decimal = Field(default=Decimal("0"), ge=0)
    currency_iso_code: str = "EUR"
    reason_code: str


class WebhookPayload(MiraklModel):
    thread: InboxThread
    message: InboxMessage


class WebhookEvent(MiraklModel):
    """Mirakl-style notification of a new message (shape fixed in the contract, [inferred])."""

    event_id: str
    event_type: Literal["THREAD_MESSAGE_CREATED"]
    occurred_at: AwareDatetime
    shop_id: str | None = None
    payload: WebhookPayload
