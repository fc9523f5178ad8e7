"""Mirakl wire shapes (threads, messages, orders, the shop) as pydantic models.

Written against Mirakl's published seller OpenAPI (`tools/mirakl/spec/`, see
docs/mirakl-contract.md): every field declared here has the spec's name and type, and
tests/test_mirakl_spec.py holds each model against its schema. The models are tolerant readers:
- unknown fields are kept, and enum-like values (`type`, `order_state`, ...) are plain strings,
  because Mirakl adds both without notice;
- a field is required here only if the spec requires it *and* csagent cannot work without it;
  what the spec requires but csagent does not use is simply not declared.

Who wrote a message is `from.type` (`CUSTOMER_USER`, `SHOP_USER`, `OPERATOR_USER`; no id);
which customer a thread is with is its CUSTOMER participant. Files written before csagent read
the spec (the V1 import, old webhook senders) name senders CUSTOMER/SHOP/OPERATOR: `role()`
reads both.

Shared by the V1 import here and the Mirakl client in `tools/`, so both read one definition.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Role = Literal["CUSTOMER", "SHOP", "OPERATOR"]
ROLES: tuple[Role, ...] = ("CUSTOMER", "SHOP", "OPERATOR")

# `from.type` of a message, as Mirakl sends it (participants and recipients use the roles).
CUSTOMER_USER, SHOP_USER, OPERATOR_USER = "CUSTOMER_USER", "SHOP_USER", "OPERATOR_USER"


def role(party_type: str | None) -> Role | None:
    """CUSTOMER, SHOP or OPERATOR for a sender (`CUSTOMER_USER`, ...) or participant type;
    None for a type Mirakl may add later (never taken for the customer's)."""
    if not party_type:
        return None
    base = party_type.upper().removesuffix("_USER")
    return base if base in ROLES else None  # type: ignore[return-value]


class MiraklModel(BaseModel):
    # Mirakl adds fields over time; unknown ones are kept, not rejected.
    model_config = ConfigDict(extra="allow", populate_by_name=True)


# -- inbox (M10, M11, M12) ------------------------------------------------------------------------


class Participant(MiraklModel):
    """A thread participant, or a message recipient (`to`): type CUSTOMER, SHOP or OPERATOR
    (an OPERATOR has no id)."""

    type: str
    id: str | None = None
    display_name: str | None = None

    @property
    def role(self) -> Role | None:
        return role(self.type)


class Topic(MiraklModel):
    type: str  # FREE_TEXT or REASON_CODE
    value: str


class Entity(MiraklModel):
    type: str  # MMP_ORDER, MMP_OFFER, MPS_ORDER, MPS_SERVICE, SELLER_OPERATOR, ...
    id: str = Field(min_length=1)
    label: str | None = None


class OrganizationDetails(MiraklModel):
    type: str | None = None
    id: str | None = None
    display_name: str | None = None


class MessageSender(MiraklModel):
    """`from` of a message: `type` CUSTOMER_USER, SHOP_USER or OPERATOR_USER; no id."""

    type: str
    display_name: str | None = None
    organization_details: OrganizationDetails | None = None

    @property
    def role(self) -> Role | None:
        return role(self.type)


class Attachment(MiraklModel):
    id: str | None = None
    name: str | None = None
    size: int | None = None


class InboxMessage(MiraklModel):
    id: str = Field(min_length=1)
    sender: MessageSender = Field(alias="from")
    to: list[Participant] = Field(default_factory=list)
    body: str
    date_created: AwareDatetime
    attachments: list[Attachment] = Field(default_factory=list)

    @property
    def author(self) -> Role | None:
        """Who wrote it: CUSTOMER, SHOP or OPERATOR (None for a sender type Mirakl adds)."""
        return self.sender.role


class ThreadMetadata(MiraklModel):
    last_message_date: AwareDatetime | None = None
    last_sender: MessageSender | None = None
    # "Date since the latest unanswered message awaiting a shop reply. Null when the shop has
    # replied": the clock operators measure the shop's response time on.
    shop_reply_needed_since: AwareDatetime | None = None
    total_count: int | None = None


class NoStoreReplyNeeded(MiraklModel):
    """Someone (`user_type`) marked the thread as needing no reply from the shop."""

    date: AwareDatetime
    user_type: str


class CustomerOrganization(MiraklModel):
    id: str | None = None
    display_name: str | None = None


class InboxThread(MiraklModel):
    id: str = Field(min_length=1)
    topic: Topic | None = None
    entities: list[Entity] = Field(default_factory=list)
    current_participants: list[Participant] = Field(default_factory=list)
    authorized_participants: list[Participant] = Field(default_factory=list)
    customer_organization: CustomerOrganization | None = None
    date_created: AwareDatetime
    date_updated: AwareDatetime | None = None
    metadata: ThreadMetadata | None = None
    no_store_reply_needed: list[NoStoreReplyNeeded] = Field(default_factory=list)
    messages: list[InboxMessage] = Field(default_factory=list)

    @property
    def order_id(self) -> str | None:
        """The Mirakl order this thread is about, if any."""
        return next((e.id for e in self.entities if e.type == "MMP_ORDER"), None)

    @property
    def customer(self) -> Participant | None:
        """The thread's CUSTOMER participant (current first, then authorized), with its id."""
        for party in (*self.current_participants, *self.authorized_participants):
            if party.role == "CUSTOMER" and party.id:
                return party
        return None

    @property
    def reply_needed_since(self) -> datetime | None:
        """Mirakl's reply clock: since when the shop owes a reply; None when nothing is owed."""
        return self.metadata.shop_reply_needed_since if self.metadata else None

    @property
    def messages_complete(self) -> bool:
        """False when Mirakl left messages out (M11 sends only the last 100 of a thread)."""
        total = self.metadata.total_count if self.metadata else None
        return total is None or len(self.messages) >= total


class ReplyInput(MiraklModel):
    """M12's `message_input`: body 3 to 50,000 characters, at least one recipient."""

    body: str = Field(min_length=3, max_length=50_000)
    to: list[Participant] = Field(min_length=1)
    topic: Topic | None = None


# -- orders (OR11) ---------------------------------------------------------------------------------

# Whole-order cancellation (OR29) is allowed only before the customer is debited.
CANCELLABLE_STATES = frozenset(
    {"STAGING", "WAITING_ACCEPTANCE", "WAITING_DEBIT", "WAITING_DEBIT_PAYMENT"}
)


class ShippingAddress(MiraklModel):
    firstname: str | None = None
    lastname: str | None = None
    company: str | None = None
    street_1: str | None = None
    street_2: str | None = None
    zip_code: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    country_iso_code: str | None = None
    phone: str | None = None
    additional_info: str | None = None


class OrderCustomer(MiraklModel):
    customer_id: str
    firstname: str | None = None
    lastname: str | None = None
    locale: str | None = None
    shipping_address: ShippingAddress | None = None


class OrderLine(MiraklModel):
    order_line_id: str
    order_line_index: int | None = None
    offer_sku: str
    product_title: str | None = None
    quantity: int
    price: Decimal  # the line's price (price_unit x quantity, after discounts)
    price_unit: Decimal | None = None
    shipping_price: Decimal | None = None
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
    price: Decimal | None = None  # the products, without shipping
    total_price: Decimal
    shipping_price: Decimal | None = None
    customer: OrderCustomer | None = None
    order_lines: list[OrderLine] = Field(default_factory=list)
    shipping_carrier_code: str | None = None
    shipping_company: str | None = None
    shipping_tracking: str | None = None
    shipping_tracking_url: str | None = None


# -- the shop (A01) --------------------------------------------------------------------------------


class Shop(MiraklModel):
    shop_id: int
    shop_name: str
    shop_state: str | None = None
    currency_iso_code: str | None = None
    is_professional: bool | None = None
