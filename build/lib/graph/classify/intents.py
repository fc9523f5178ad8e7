"""The fixed intent labels used everywhere (graph, evals, UI) and which ones may be automated."""

from __future__ import annotations

from typing import Literal

Intent = Literal[
    "order_status",
    "cancellation_request",
    "address_update",
    "return_request",
    "delivery_issue",
    "product_question",
    "invoice_request",
    "complaint",
    "other",
]
INTENTS: tuple[Intent, ...] = (
    "order_status", "cancellation_request", "address_update", "return_request",
    "delivery_issue", "product_question", "invoice_request", "complaint", "other",
)  # fmt: skip
AUTOMATABLE: tuple[Intent, ...] = ("order_status", "cancellation_request", "address_update")
