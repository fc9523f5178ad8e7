"""What the agent graph carries from node to node (checkpointed in PostgreSQL)."""

from __future__ import annotations

from typing import Any, TypedDict


class AgentState(TypedDict, total=False):
    # the message being handled
    thread_id: str
    message_id: str
    text: str
    # context
    language: str
    customer_name: str | None
    order_id: str | None
    order: dict[str, Any] | None  # facts: state, created, shipment status, tracking, address
    # classification (the vector is reused as the retrieval query of the draft)
    intent: str
    confidence: float
    classifier: str
    vector: list[float] | None
    # decisions
    route: str
    reason: str
    would_automate: bool
    action: str | None  # send_reply, cancel_and_reply, update_address_and_reply
    address: dict[str, Any] | None
    reply: str | None
    draft: dict[str, Any] | None
    note: str | None
    outcome: str
    actions: list[str]
