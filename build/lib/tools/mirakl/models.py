"""Typed Mirakl Seller API payloads (orders, pages, tracking, webhook), per the contract.

Money is Decimal; unknown fields are kept so that a newer Mirakl does not break parsing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from store.mirakl_models import (
    CANCELLABLE_STATES,
    Entity,
    InboxMessage,
    InboxThread,
    MessageParty,
    MiraklModel,
    Order,
    OrderCustomer,
    OrderLine,
    Participant,
    ShippingAddress,
    Topic,
)

__all__ = [
    "Entity", "InboxMessage", "InboxThread", "MessageParty", "Participant", "Topic",
    "ShippingAddress", "OrderCustomer", "OrderLine", "Order", "OrderPage", "ThreadPage",
    "ReplyResult", "TrackingUpdate", "LineAmount", "WebhookEvent", "CANCELLABLE_STATES",
]  # fmt: skip


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
