"""Pure decisions the graph acts on: the LLM proposes, these dispose. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from graph.state import Action, Route
from store.ids import ORDER_ID_IN_TEXT
from store.mirakl_models import CANCELLABLE_STATES

SHIPPED_STATES = frozenset(
    {"SHIPPED", "TO_COLLECT", "RECEIVED", "CLOSED", "INCIDENT_OPEN", "INCIDENT_CLOSED",
     "WAITING_REFUND", "WAITING_REFUND_PAYMENT", "REFUNDED"}
)  # fmt: skip
SHIPMENT_LEFT = frozenset({"shipped", "in_transit", "delivered", "returned", "lost"})
Mode = Literal["on", "shadow", "off"]


@dataclass(frozen=True)
class PolicyDecision:
    allowed: bool
    reason: str
    action: Action | None = None  # what to do when allowed


def cancellation_policy(
    state: str | None,
    created: datetime | None,
    shipment_status: str | None,
    now: datetime,
    window_hours: float = 24.0,
) -> PolicyDecision:
    """May csagent cancel this order by itself? Only young, unshipped orders Mirakl lets go."""
    if state is None:
        return PolicyDecision(False, "the order's state is unknown")
    if state in ("CANCELED", "REFUSED"):
        return PolicyDecision(False, f"the order is already {state.lower()}")
    if state in SHIPPED_STATES or shipment_status in SHIPMENT_LEFT:
        return PolicyDecision(False, "the order has already shipped")
    if created is None:
        return PolicyDecision(False, "the order date is unknown")
    if now - created > timedelta(hours=window_hours):
        return PolicyDecision(
            False, f"the order was placed more than {window_hours:g} h ago (automatic window)"
        )
    if state in CANCELLABLE_STATES:
        return PolicyDecision(
            True, "not yet debited: the whole order can be cancelled", "cancel_order"
        )
    if state == "SHIPPING":
        return PolicyDecision(
            True, "debited but not shipped: its lines can be cancelled", "cancel_lines"
        )
    return PolicyDecision(False, f"orders in state {state} cannot be cancelled")


def address_policy(shipment_status: str | None, address: dict[str, Any] | None) -> PolicyDecision:
    """May csagent redirect this parcel by itself? Only before it leaves, to a complete address."""
    if shipment_status is None:
        return PolicyDecision(False, "no shipment is known for this order")
    if shipment_status not in ("pending", "preparing"):
        return PolicyDecision(False, "the parcel has already left the warehouse")
    required = ("street_1", "zip_code", "city")
    if not address or any(not address.get(k) for k in required):
        return PolicyDecision(False, "the new address could not be read completely")
    return PolicyDecision(True, "not shipped yet and a complete new address", "update_address")


def automation_route(
    intent: str,
    confidence: float,
    thresholds: dict[str, float],
    mode: Mode,
    order_found: bool,
    problem: str | None = None,
) -> tuple[Route, str]:
    """(next node, why): an automated branch, `draft` for a human, or `review` without draft.
    `problem` is what could not be verified for this message: nothing is automated then."""
    if mode == "off":
        return "human_review", "automation is off"
    threshold = thresholds.get(intent)
    if threshold is None:
        return "draft", f"{intent} is always reviewed by a human"
    if confidence < threshold:
        return "draft", f"confidence {confidence:.2f} is below the {threshold:.2f} threshold"
    if problem:
        return "draft", f"not verified, nothing automated: {problem}"
    if not order_found:
        return "draft", "no order of this customer could be identified"
    return cast(Route, intent), "confident automatable request"


def extract_order_ids(text: str) -> list[str]:
    return ORDER_ID_IN_TEXT.findall(text)
