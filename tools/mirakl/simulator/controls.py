"""Test controls under /_sim that real Mirakl does not have: create orders, make a customer or
the operator write, mark a thread as needing no reply, inject faults, reset, and read what was
delivered or refunded. Delivering a webhook (`webhook_url`) is csagent's own notification shape
for operators and other senders: Mirakl sends sellers none."""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any, Literal

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from tools.mirakl.events import incoming_from_mirakl
from tools.mirakl.models import InboxMessage, InboxThread, Order
from tools.mirakl.simulator.state import (
    Fault,
    SimError,
    SimState,
    SimulatorState,
    now_iso,
    read_json,
    without_messages,
)

router = APIRouter(prefix="/_sim", tags=["simulator controls (not Mirakl)"])


class FaultRequest(BaseModel):
    status: int | None = Field(
        default=None, description="429, 500, 502, 503 or 504; none = delay only"
    )
    count: int = Field(default=1, ge=1, le=10_000)
    latency_ms: int = Field(default=0, ge=0, le=120_000)
    path_prefix: str | None = Field(default=None, description="Under /api, e.g. /inbox or /orders")
    retry_after: float = Field(default=1, ge=0, description="Retry-After seconds sent with a 429")
    after: int = Field(default=0, ge=0, description="Matching requests let through first")


class SimAttachment(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    type: str = Field(default="application/octet-stream", max_length=100)
    size: int = Field(default=0, ge=0)
    content_base64: str | None = Field(
        default=None, max_length=14_000_000, description="The file itself (M13 serves it)"
    )


class CustomerMessageRequest(BaseModel):
    body: str = Field(min_length=1, max_length=20_000)
    order_id: str | None = None
    customer_id: str | None = None
    customer_name: str | None = None
    locale: str | None = None
    attachments: list[SimAttachment] = Field(
        default_factory=list, description="Files the customer attached (names and types only)"
    )


class ResetRequest(BaseModel):
    seed: bool | None = None


sim = APIRouter(prefix="/_sim", tags=["simulator controls (not Mirakl)"])


@router.post("/orders", status_code=201)
async def put_order(state: SimState, request: Request) -> dict[str, Any]:
    raw = await read_json(request)
    try:
        Order.model_validate(raw)
    except ValidationError as exc:
        return JSONResponse({"status": 422, "message": str(exc)}, status_code=422)  # type: ignore[return-value]
    state.orders[raw["order_id"]] = raw
    return {"order_id": raw["order_id"]}


@router.post("/threads/{thread_id}/customer-message", status_code=201)
async def customer_message(
    state: SimState, thread_id: str, request_body: CustomerMessageRequest
) -> dict[str, Any]:
    thread = state.threads.get(thread_id)
    if thread is None:
        thread = _open_customer_thread(state, thread_id, request_body)
    customer_party: dict[str, Any] = next(
        (p for p in thread["current_participants"] if p["type"] == "CUSTOMER"), {}
    )
    message = {
        "id": str(uuid.uuid4()),
        "from": state.sender("CUSTOMER", customer_party.get("display_name")),
        "to": [state.shop_party],
        "body": request_body.body,
        "date_created": now_iso(),
        "attachments": _stored_attachments(state, request_body.attachments),
    }
    state.append_message(thread, message)
    thread_model = InboxThread.model_validate(without_messages(thread))
    event = incoming_from_mirakl(
        thread_model,
        InboxMessage.model_validate(message),
        locale=request_body.locale,
        marketplace=_marketplace_of(state, thread),
    ).model_dump(mode="json")
    result: dict[str, Any] = {
        "thread_id": thread_id,
        "message_id": message["id"],
        "event": event,
    }
    if state.webhook_url:
        result["webhook"] = await deliver_webhook(state, without_messages(thread), message)
    return result


def _open_customer_thread(
    state: SimulatorState, thread_id: str, request_body: CustomerMessageRequest
) -> dict[str, Any]:
    """The customer's first message opens the thread, about the order it names if any."""
    order = state.orders.get(request_body.order_id) if request_body.order_id else None
    customer = (order or {}).get("customer") or {}
    customer_id = request_body.customer_id or customer.get("customer_id")
    if not customer_id:
        customer_id = "cust-sim-" + hashlib.sha1(thread_id.encode()).hexdigest()[:8]
    name = request_body.customer_name or _short_name(customer)
    created = now_iso()
    customer_party = {"type": "CUSTOMER", "id": customer_id, "display_name": name or "Customer"}
    return state.add_thread(
        {
            "id": thread_id,
            "topic": {"type": "FREE_TEXT", "value": request_body.body.splitlines()[0][:80]},
            "entities": [
                {
                    "type": "MMP_ORDER",
                    "id": request_body.order_id,
                    "label": request_body.order_id,
                }
            ]
            if request_body.order_id
            else [],
            "current_participants": [customer_party, state.shop_party],
            "authorized_participants": [customer_party, state.shop_party],
            "date_created": created,
            "date_updated": created,
            "messages": [],
        }
    )


def _short_name(customer: dict[str, Any]) -> str | None:
    """ "Laura F.", as Mirakl shows a customer to the shop (None: the order names nobody)."""
    return (
        " ".join(
            p
            for p in (customer.get("firstname"), (customer.get("lastname") or "")[:1] + ".")
            if p and p != "."
        )
        or None
    )


def _stored_attachments(
    state: SimulatorState, attachments: list[SimAttachment]
) -> list[dict[str, Any]]:
    """The attachments as a message lists them; the files sent with their content are kept for
    M13 to serve."""
    listed: list[dict[str, Any]] = []
    for attachment in attachments:
        attachment_id = str(uuid.uuid4())
        content = b""
        if attachment.content_base64 is not None:
            try:
                content = base64.b64decode(attachment.content_base64, validate=True)
            except ValueError:
                raise SimError(
                    400, f"attachment {attachment.name!r}: content_base64 is not base64"
                ) from None
            state.files[attachment_id] = content
        listed.append(
            {"id": attachment_id, "name": attachment.name, "size": len(content) or attachment.size}
        )
    return listed


def _marketplace_of(state: SimulatorState, thread: dict[str, Any]) -> str | None:
    """The simulator's own marketplace, or else the channel of the order the thread is about."""
    linked = next((e["id"] for e in thread.get("entities", []) if e["type"] == "MMP_ORDER"), None)
    return state.marketplace or (
        ((state.orders.get(linked) or {}).get("channel") or {}).get("code") if linked else None
    )


class OperatorMessageRequest(BaseModel):
    body: str = Field(min_length=1, max_length=20_000)
    to: list[Literal["SHOP", "CUSTOMER"]] = Field(default=["SHOP"], min_length=1)


@router.post("/threads/{thread_id}/operator-message", status_code=201)
def operator_message(
    state: SimState, thread_id: str, request_body: OperatorMessageRequest
) -> dict[str, Any]:
    """The marketplace's operator writes in a thread (to the shop, the customer or both)."""
    thread = state.thread(thread_id)
    parties = {p["type"]: p for p in thread["current_participants"]}
    message = {
        "id": str(uuid.uuid4()),
        "from": state.sender("OPERATOR", None),
        "to": [
            {
                k: v
                for k, v in parties.get(t, {"type": t}).items()
                if k in ("type", "id", "display_name")
            }
            for t in request_body.to
        ],
        "body": request_body.body,
        "date_created": now_iso(),
        "attachments": [],
    }
    if not any(p["type"] == "OPERATOR" for p in thread["current_participants"]):
        thread["current_participants"].append(state.operator_party)
    state.append_message(thread, message)
    return {"thread_id": thread_id, "message_id": message["id"]}


class NoReplyRequest(BaseModel):
    user_type: Literal["OPERATOR", "CUSTOMER", "SHOP"] = "OPERATOR"


@router.post("/threads/{thread_id}/no-reply-needed", status_code=201)
def no_reply_needed(
    state: SimState, thread_id: str, request_body: NoReplyRequest
) -> dict[str, Any]:
    """Someone marks the thread as needing no reply from the shop (Mirakl's clock stops)."""
    thread = state.thread(thread_id)
    state.mark_no_reply_needed(thread, request_body.user_type)
    return {"thread_id": thread_id, "metadata": thread["metadata"]}


class ThreadsRequest(BaseModel):
    threads: list[dict[str, Any]]


@router.post("/threads", status_code=201)
def put_threads(state: SimState, request_body: ThreadsRequest) -> dict[str, Any]:
    """Add whole threads (an older-shaped thread is converted to the published shape)."""
    for raw in request_body.threads:
        try:
            state.add_thread(raw)
        except (KeyError, TypeError, ValueError) as exc:
            raise SimError(422, f"thread {raw.get('id')!r} is incomplete: {exc!r}") from None
    return {"threads": len(state.threads)}


@router.post("/faults", status_code=201)
def add_fault(state: SimState, fault: FaultRequest) -> dict[str, Any]:
    if fault.status is not None and fault.status not in (429, 500, 502, 503, 504):
        raise SimError(422, "status must be 429, 500, 502, 503 or 504")
    state.faults.append(
        Fault(
            fault.status,
            fault.count,
            fault.latency_ms,
            fault.path_prefix or "",
            fault.retry_after,
            fault.after,
        )
    )
    return {"active_faults": sum(1 for f in state.faults if f.remaining > 0)}


@router.delete("/faults")
def clear_faults(state: SimState) -> dict[str, Any]:
    state.faults.clear()
    return {"active_faults": 0}


@router.post("/reset")
def reset(state: SimState, body: ResetRequest | None = None) -> dict[str, Any]:
    state.reset(body.seed if body else None)
    return {"threads": len(state.threads), "orders": len(state.orders)}


@router.get("/webhooks")
def webhooks(state: SimState) -> list[dict[str, Any]]:
    return state.webhooks


@router.get("/refunds")
def refunds(state: SimState) -> list[dict[str, Any]]:
    return state.refunds


async def deliver_webhook(
    state: SimulatorState, thread: dict[str, Any], message: dict[str, Any]
) -> dict[str, Any]:
    """POST the Mirakl-style THREAD_MESSAGE_CREATED notification to the configured URL."""
    envelope = {
        "event_id": f"evt-{uuid.uuid4()}",
        "event_type": "THREAD_MESSAGE_CREATED",
        "occurred_at": message["date_created"],
        "shop_id": state.shop_id,
        "payload": {"thread": thread, "message": message},
    }
    assert state.webhook_url is not None
    outcome: dict[str, Any] = {"url": state.webhook_url, "event_id": envelope["event_id"]}
    try:
        async with httpx.AsyncClient(timeout=60) as client:
            response = await client.post(state.webhook_url, json=envelope)
        outcome["status_code"] = response.status_code
        try:
            outcome["response"] = response.json()
        except ValueError:
            outcome["response"] = response.text[:500]
    except httpx.HTTPError as exc:
        outcome["error"] = repr(exc)
    state.webhooks.append(outcome)
    return outcome
