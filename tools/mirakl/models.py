"""Typed Mirakl Seller API payloads (orders, pages, tracking, webhook), per the published spec.

Money is Decimal; unknown fields are kept so that a newer Mirakl does not break parsing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from store.mirakl_models import (
    CANCELLABLE_STATES,
    CUSTOMER_USER,
    OPERATOR_USER,
    SHOP_USER,
    Attachment,
    Entity,
    InboxMessage,
    InboxThread,
    MessageSender,
    MiraklModel,
    NoStoreReplyNeeded,
    Order,
    OrderCustomer,
    OrderLine,
    Participant,
    ReplyInput,
    Role,
    ShippingAddress,
    Shop,
    ThreadMetadata,
    Topic,
    role,
)

__all__ = [
    "Entity", "InboxMessage", "InboxThread", "MessageSender", "Participant", "Topic",
    "Attachment", "NoStoreReplyNeeded", "ThreadMetadata", "ReplyInput", "Shop", "Role", "role",
    "CUSTOMER_USER", "SHOP_USER", "OPERATOR_USER",
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
    """csagent's own notification of a new message, for operators and other senders that can
    push. Mirakl sends sellers no webhooks (docs/mirakl-contract.md): a seller polls M11."""

    event_id: str
    event_type: Literal["THREAD_MESSAGE_CREATED"]
    occurred_at: AwareDatetime
    shop_id: str | None = None
    payload: WebhookPayload
