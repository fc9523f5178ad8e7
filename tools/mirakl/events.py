"""The one mapping from a Mirakl thread message to csagent's ingestion body.

Used by the reconciliation sync, by the simulator's test controls and (as JavaScript) by the n8n
workflow in integrations/n8n; keep the three in step when the contract changes.
"""

from __future__ import annotations

from store.ingest import CustomerRef, IncomingMessage
from tools.mirakl.models import InboxMessage, InboxThread, WebhookEvent


def incoming_from_mirakl(
    thread: InboxThread,
    message: InboxMessage,
    *,
    locale: str | None = None,
    marketplace: str | None = None,
) -> IncomingMessage:
    """The ingestion body for one customer message of a Mirakl thread."""
    customer = thread.customer
    return IncomingMessage(
        thread_id=thread.id,
        message_id=message.id,
        body=message.body,
        created_at=message.date_created,
        order_id=thread.order_id,
        customer=CustomerRef(
            id=customer.id if customer and customer.id else f"unknown:{thread.id}",
            name=(customer.display_name if customer else None) or message.sender.display_name,
        ),
        topic=thread.topic.value if thread.topic else None,
        locale=locale,
        marketplace=marketplace,
    )


def incoming_from_webhook(event: WebhookEvent, marketplace: str | None = None) -> IncomingMessage:
    """`marketplace`: the marketplace whose Mirakl sent it (the n8n workflow reads it from the
    `?marketplace=` its webhook URL was registered with on that marketplace)."""
    return incoming_from_mirakl(
        event.payload.thread, event.payload.message, marketplace=marketplace
    )
