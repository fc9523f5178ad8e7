"""A contract-faithful Mirakl Seller API simulator, in memory (shared/mirakl/CONTRACT.md).

Everything under `/api` follows the contract: the same paths, auth header, paging, status codes
and `{"status", "message"}` error bodies. Everything under `/_sim` is a test control that real
Mirakl does not have: create orders, make a customer write, inject faults, reset.
Run it with `csagent mirakl-sim --port 8081`.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tools.mirakl.events import incoming_from_mirakl
from tools.mirakl.models import CANCELLABLE_STATES, InboxMessage, InboxThread, Order

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SEED_THREADS = EXAMPLES / "v1" / "messages.json"
SEED_ORDERS = EXAMPLES / "mirakl" / "orders.json"

MAX_THREAD_PAGE = 100
MAX_ORDER_PAGE = 100
RECIPIENT_TYPES = {"CUSTOMER", "OPERATOR", "SHOP"}
TRACKABLE_STATES = {"SHIPPING", "SHIPPED", "TO_COLLECT"}
REFUNDABLE_STATES = {
    "SHIPPED",
    "TO_COLLECT",
    "RECEIVED",
    "CLOSED",
    "INCIDENT_OPEN",
    "INCIDENT_CLOSED",
}


class SimError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_date(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SimError(400, f"Invalid date for parameter '{name}': {value}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _date(value: str | None) -> datetime:
    return parse_date(value, "date") if value else datetime.min.replace(tzinfo=UTC)


@dataclass
class Fault:
    status: int | None
    remaining: int
    latency_ms: int
    path_prefix: str
    retry_after: float


@dataclass
class SimulatorState:
    shop_id: str
    shop_name: str
    seed: bool
    webhook_url: str | None = None
    threads: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    webhooks: list[dict[str, Any]] = field(default_factory=list)

    def reset(self, seed: bool | None = None) -> None:
        self.threads, self.orders, self.refunds, self.faults, self.webhooks = {}, {}, [], [], []
        if self.seed if seed is None else seed:
            for thread in json.loads(SEED_THREADS.read_text(encoding="utf-8")):
                self.threads[thread["id"]] = copy.deepcopy(thread)
            for order in json.loads(SEED_ORDERS.read_text(encoding="utf-8"))["orders"]:
                self.orders[order["order_id"]] = copy.deepcopy(order)

    @property
    def shop_party(self) -> dict[str, Any]:
        return {"type": "SHOP", "id": self.shop_id, "display_name": self.shop_name}

    def thread(self, thread_id: str) -> dict[str, Any]:
        if thread_id not in self.threads:
            raise SimError(404, f"Thread with id '{thread_id}' not found")
        return self.threads[thread_id]

    def order(self, order_id: str) -> dict[str, Any]:
        if order_id not in self.orders:
            raise SimError(404, f"Order with id '{order_id}' not found")
        return self.orders[order_id]

    def order_line(self, order_line_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        for order in self.orders.values():
            for line in order.get("order_lines", []):
                if line["order_line_id"] == order_line_id:
                    return order, line
        raise SimError(404, f"Order line with id '{order_line_id}' not found")

    def append_message(self, thread: dict[str, Any], message: dict[str, Any]) -> None:
        thread.setdefault("messages", []).append(message)
        thread["date_updated"] = message["date_created"]
        thread["metadata"] = {
            "last_message_date": message["date_created"],
            "total_count": len(thread["messages"]),
        }

    def take_fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.remaining > 0 and path.startswith(fault.path_prefix):
                fault.remaining -= 1
                return fault
        return None


# -- paging tokens (opaque to clients, as Mirakl's are) ----------------------------------------


def encode_token(direction: str, key: tuple[str, str]) -> str:
    raw = json.dumps({"d": direction, "k": list(key)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> tuple[str, tuple[str, str]]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded))
        return data["d"], (data["k"][0], data["k"][1])
    except (ValueError, KeyError, IndexError, TypeError):
        raise SimError(400, "Invalid page_token") from None


def thread_key(thread: dict[str, Any]) -> tuple[str, str]:
    return (_date(thread.get("date_updated") or thread["date_created"]).isoformat(), thread["id"])


def without_messages(thread: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in thread.items() if k != "messages"}


# -- the app -------------------------------------------------------------------------------------


class FaultRequest(BaseModel):
    status: int | None = Field(
        default=None, description="429, 500, 502, 503 or 504; none = delay only"
    )
    count: int = Field(default=1, ge=1, le=10_000)
    latency_ms: int = Field(default=0, ge=0, le=120_000)
    path_prefix: str | None = Field(default=None, description="Under /api, e.g. /inbox or /orders")
    retry_after: float = Field(default=1, ge=0, description="Retry-After seconds sent with a 429")


class CustomerMessageRequest(BaseModel):
    body: str = Field(min_length=1, max_length=20_000)
    order_id: str | None = None
    customer_id: str | None = None
    customer_name: str | None = None
    locale: str | None = None


class ResetRequest(BaseModel):
    seed: bool | None = None


def create_simulator(
    *,
    api_key: str = "sim-shop-key",
    shop_id: str = "2001",
    shop_name: str = "Maison Électro",
    seed: bool = True,
    webhook_url: str | None = None,
) -> FastAPI:
    """A fresh simulator app with its own in-memory state (seeded from examples/ by default)."""
    state = SimulatorState(shop_id=shop_id, shop_name=shop_name, seed=seed, webhook_url=webhook_url)
    state.reset()
    app = FastAPI(
        title="Mirakl Seller API simulator",
        description="Implements shared/mirakl/CONTRACT.md. `/_sim/*` routes are test controls.",
    )
    app.state.sim = state

    @app.exception_handler(SimError)
    async def sim_error(_: Request, exc: SimError) -> JSONResponse:
        return JSONResponse({"status": exc.status, "message": exc.message}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        status = 422 if request.url.path.startswith("/_sim") else 400
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        return JSONResponse({"status": status, "message": details}, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"status": exc.status_code, "message": str(exc.detail)}, status_code=exc.status_code
        )

    @app.middleware("http")
    async def inject_faults(request: Request, call_next: Any) -> Response:
        if not request.url.path.startswith("/api"):
            return await call_next(request)
        fault = state.take_fault(request.url.path.removeprefix("/api"))
        if fault is None:
            return await call_next(request)
        if fault.status is not None:
            # The request is refused before Mirakl does anything with it.
            await asyncio.sleep(fault.latency_ms / 1000)
            headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.status == 429 else {}
            message = "Too many requests" if fault.status == 429 else "Service unavailable"
            return JSONResponse(
                {"status": fault.status, "message": message},
                status_code=fault.status,
                headers=headers,
            )
        # A delay alone: the request is processed, and the answer comes late.
        response = await call_next(request)
        await asyncio.sleep(fault.latency_ms / 1000)
        return response

    def authorize(request: Request) -> None:
        if request.headers.get("Authorization") != api_key:
            raise SimError(401, "Unauthorized: invalid or missing API key")
        requested_shop = request.query_params.get("shop_id")
        if requested_shop is not None and requested_shop != shop_id:
            raise SimError(403, f"The API key has no access to shop {requested_shop}")

    api = APIRouter(prefix="/api", dependencies=[Depends(authorize)])

    # -- inbox -----------------------------------------------------------------------------------

    @api.get("/inbox/threads")
    def list_threads(
        entity_type: str | None = None,
        entity_id: Annotated[list[str] | None, Query()] = None,
        updated_since: str | None = None,
        with_messages: bool = False,
        channel_codes: str | None = None,
        limit: int = 50,
        page_token: str | None = None,
        sort: str = "DESC",
    ) -> dict[str, Any]:
        if not 1 <= limit <= MAX_THREAD_PAGE:
            raise SimError(400, f"limit must be between 1 and {MAX_THREAD_PAGE}")
        if sort not in ("ASC", "DESC"):
            raise SimError(400, "sort must be ASC or DESC")
        since = parse_date(updated_since, "updated_since") if updated_since else None
        selected = []
        for thread in state.threads.values():
            entities = thread.get("entities", [])
            if entity_type and not any(e["type"] == entity_type for e in entities):
                continue
            if entity_id and not any(e["id"] in entity_id for e in entities):
                continue
            if since and _date(thread.get("date_updated") or thread["date_created"]) < since:
                continue
            selected.append(thread)
        selected.sort(key=thread_key, reverse=sort == "DESC")
        keys = [thread_key(t) for t in selected]

        def after(key: tuple[str, str], k: tuple[str, str]) -> bool:
            return k > key if sort == "ASC" else k < key

        if page_token:
            direction, key = decode_token(page_token)
            if direction == "after":
                start = next((i for i, k in enumerate(keys) if after(key, k)), len(keys))
            else:
                end = next((i for i, k in enumerate(keys) if not after(k, key)), len(keys))
                start = max(0, end - limit)
        else:
            start = 0
        page = selected[start : start + limit]
        has_next = start + limit < len(selected)
        return {
            "data": [t if with_messages else without_messages(t) for t in page],
            "next_page_token": encode_token("after", thread_key(page[-1])) if has_next else None,
            "previous_page_token": encode_token("before", thread_key(page[0]))
            if page and start > 0
            else None,
        }

    @api.get("/inbox/threads/{thread_id}")
    def get_thread(thread_id: str) -> dict[str, Any]:
        thread = state.thread(thread_id)
        messages = sorted(thread.get("messages", []), key=lambda m: _date(m["date_created"]))
        return {**thread, "messages": messages}

    @api.post("/inbox/threads/{thread_id}/message", status_code=201)
    async def reply(
        thread_id: str,
        message_input: Annotated[str, Form()],
        files: Annotated[list[UploadFile] | None, File()] = None,
    ) -> dict[str, Any]:
        thread = state.thread(thread_id)
        try:
            data = json.loads(message_input)
        except json.JSONDecodeError:
            raise SimError(400, "message_input is not valid JSON") from None
        body = data.get("body") if isinstance(data, dict) else None
        if not isinstance(body, str) or not body.strip():
            raise SimError(400, "message_input.body is required")
        recipients = data.get("to")
        if (
            not isinstance(recipients, list)
            or not recipients
            or any(
                not isinstance(r, dict) or r.get("type") not in RECIPIENT_TYPES for r in recipients
            )
        ):
            raise SimError(
                400, "message_input.to must list recipients of type CUSTOMER, OPERATOR or SHOP"
            )
        recipient_list: list[dict[str, Any]] = recipients
        participants: dict[str, dict[str, Any]] = {
            p["type"]: p for p in thread.get("current_participants", [])
        }
        message = {
            "id": str(uuid.uuid4()),
            "from": {**state.shop_party, "organization_details": None},
            "to": [
                {
                    k: v
                    for k, v in participants.get(str(r["type"]), r).items()
                    if k in ("type", "id", "display_name")
                }
                for r in recipient_list
            ],
            "body": body,
            "date_created": now_iso(),
            "attachments": [{"name": f.filename, "size": len(await f.read())} for f in files or []],
        }
        state.append_message(thread, message)
        return {"message_id": message["id"], "thread_id": thread_id}

    # -- orders ----------------------------------------------------------------------------------

    @api.get("/orders")
    def list_orders(
        order_ids: str | None = None,
        order_state_codes: str | None = None,
        start_date: str | None = None,
        end_date: str | None = None,
        start_update_date: str | None = None,
        end_update_date: str | None = None,
        paginate: bool = True,
        max: int = 10,  # noqa: A002 - Mirakl's parameter name
        offset: int = 0,
    ) -> dict[str, Any]:
        if paginate and not 1 <= max <= MAX_ORDER_PAGE:
            raise SimError(400, f"max must be between 1 and {MAX_ORDER_PAGE}")
        if offset < 0:
            raise SimError(400, "offset must be positive")
        ids = {i for i in (order_ids or "").split(",") if i}
        states = {s for s in (order_state_codes or "").split(",") if s}
        bounds = {
            name: parse_date(value, name)
            for name, value in [
                ("start_date", start_date),
                ("end_date", end_date),
                ("start_update_date", start_update_date),
                ("end_update_date", end_update_date),
            ]
            if value
        }
        selected = []
        for order in state.orders.values():
            created = _date(order["created_date"])
            updated = _date(order.get("last_updated_date") or order["created_date"])
            if ids and order["order_id"] not in ids:
                continue
            if states and order["order_state"] not in states:
                continue
            if "start_date" in bounds and created < bounds["start_date"]:
                continue
            if "end_date" in bounds and created > bounds["end_date"]:
                continue
            if "start_update_date" in bounds and updated < bounds["start_update_date"]:
                continue
            if "end_update_date" in bounds and updated > bounds["end_update_date"]:
                continue
            selected.append(order)
        selected.sort(key=lambda o: (_date(o["created_date"]), o["order_id"]), reverse=True)
        page = selected[offset : offset + max] if paginate else selected
        return {"orders": page, "total_count": len(selected)}

    def touch(order: dict[str, Any]) -> None:
        order["last_updated_date"] = now_iso()

    @api.put("/orders/{order_id}/cancel", status_code=204)
    def cancel_order(order_id: str) -> Response:
        order = state.order(order_id)
        if order["order_state"] not in CANCELLABLE_STATES:
            raise SimError(
                400,
                f"Order '{order_id}' cannot be canceled: it is in state {order['order_state']} "
                "(only orders not yet debited can be canceled)",
            )
        order["order_state"] = "CANCELED"
        order["can_cancel"] = False
        for line in order.get("order_lines", []):
            line["order_line_state"] = "CANCELED"
        touch(order)
        return Response(status_code=204)

    def line_amounts(body: Any, key: str) -> list[dict[str, Any]]:
        items = body.get(key) if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            raise SimError(400, f"'{key}' must be a non-empty list")
        for item in items:
            if not isinstance(item, dict) or not item.get("order_line_id"):
                raise SimError(400, f"each of '{key}' needs an order_line_id")
            if not isinstance(item.get("quantity"), int) or item["quantity"] < 1:
                raise SimError(400, f"invalid quantity for line {item['order_line_id']}")
            try:
                if Decimal(str(item.get("amount", "x"))) < 0:
                    raise ValueError
            except (ArithmeticError, ValueError):
                raise SimError(400, f"invalid amount for line {item['order_line_id']}") from None
            if not item.get("reason_code"):
                raise SimError(400, f"reason_code is required for line {item['order_line_id']}")
        return items

    @api.put("/orders/cancel", status_code=204)
    async def cancel_lines(request: Request) -> Response:
        items = line_amounts(await _json(request), "cancelations")
        checked = []
        for item in items:
            order, line = state.order_line(item["order_line_id"])
            if order["order_state"] != "SHIPPING":
                raise SimError(
                    400,
                    f"Order '{order['order_id']}' is in state {order['order_state']}: lines can "
                    "only be canceled after debit and before shipment (SHIPPING)",
                )
            if line.get("order_line_state") == "CANCELED" or item["quantity"] > line["quantity"]:
                raise SimError(400, f"Line '{line['order_line_id']}' cannot cancel that quantity")
            checked.append((order, line, item))
        for order, line, item in checked:
            line["quantity"] -= item["quantity"]
            if line["quantity"] == 0:
                line["quantity"] = item["quantity"]
                line["order_line_state"] = "CANCELED"
            state.refunds.append({"kind": "cancelation", **item})
            if all(ln.get("order_line_state") == "CANCELED" for ln in order["order_lines"]):
                order["order_state"] = "CANCELED"
            touch(order)
        return Response(status_code=204)

    @api.put("/orders/{order_id}/tracking", status_code=204)
    async def update_tracking(order_id: str, request: Request) -> Response:
        order = state.order(order_id)
        body = await _json(request)
        if not isinstance(body, dict) or not body.get("tracking_number"):
            raise SimError(400, "tracking_number is required")
        if order["order_state"] not in TRACKABLE_STATES:
            raise SimError(
                400,
                f"Tracking cannot be updated for order '{order_id}' "
                f"in state {order['order_state']}",
            )
        order["shipping_carrier_code"] = body.get("carrier_code")
        order["shipping_company"] = body.get("carrier_name")
        order["shipping_tracking"] = body["tracking_number"]
        order["shipping_tracking_url"] = body.get("carrier_url")
        touch(order)
        return Response(status_code=204)

    @api.put("/orders/refund")
    async def refund(request: Request) -> dict[str, Any]:
        items = line_amounts(await _json(request), "refunds")
        for item in items:
            order, line = state.order_line(item["order_line_id"])
            if order["order_state"] not in REFUNDABLE_STATES:
                raise SimError(
                    400,
                    f"Order '{order['order_id']}' in state {order['order_state']} "
                    "cannot be refunded",
                )
            already = sum(
                Decimal(str(r["amount"]))
                for r in state.refunds
                if r["order_line_id"] == line["order_line_id"]
            )
            limit = Decimal(str(line.get("total_price", line["price"])))
            if already + Decimal(str(item["amount"])) > limit:
                raise SimError(
                    400,
                    f"Refund exceeds the refundable amount of line "
                    f"'{line['order_line_id']}' ({limit - already})",
                )
        results = []
        for item in items:
            refund_id = str(uuid.uuid4())
            state.refunds.append({"kind": "refund", "refund_id": refund_id, **item})
            results.append({"order_line_id": item["order_line_id"], "refund_id": refund_id})
        return {"refunds": results}

    app.include_router(api)

    # -- test controls (not part of Mirakl) ------------------------------------------------------

    sim = APIRouter(prefix="/_sim", tags=["simulator controls (not Mirakl)"])

    @sim.post("/orders", status_code=201)
    async def put_order(request: Request) -> dict[str, Any]:
        raw = await _json(request)
        try:
            Order.model_validate(raw)
        except ValidationError as exc:
            return JSONResponse({"status": 422, "message": str(exc)}, status_code=422)  # type: ignore[return-value]
        state.orders[raw["order_id"]] = raw
        return {"order_id": raw["order_id"]}

    @sim.post("/threads/{thread_id}/customer-message", status_code=201)
    async def customer_message(
        thread_id: str, request_body: CustomerMessageRequest
    ) -> dict[str, Any]:
        order = state.orders.get(request_body.order_id) if request_body.order_id else None
        thread = state.threads.get(thread_id)
        if thread is None:
            customer = (order or {}).get("customer") or {}
            customer_id = request_body.customer_id or customer.get("customer_id")
            if not customer_id:
                customer_id = "cust-sim-" + hashlib.sha1(thread_id.encode()).hexdigest()[:8]
            name = (
                request_body.customer_name
                or " ".join(
                    p
                    for p in (customer.get("firstname"), (customer.get("lastname") or "")[:1] + ".")
                    if p and p != "."
                )
                or None
            )
            created = now_iso()
            thread = {
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
                "current_participants": [
                    {"type": "CUSTOMER", "id": customer_id, "display_name": name},
                    state.shop_party,
                ],
                "authorized_participants": [],
                "date_created": created,
                "date_updated": created,
                "metadata": {"last_message_date": created, "total_count": 0},
                "messages": [],
            }
            state.threads[thread_id] = thread
        customer_party: dict[str, Any] = next(
            (p for p in thread["current_participants"] if p["type"] == "CUSTOMER"), {}
        )
        message = {
            "id": str(uuid.uuid4()),
            "from": {
                "type": "CUSTOMER",
                "display_name": customer_party.get("display_name"),
                "organization_details": None,
            },
            "to": [state.shop_party],
            "body": request_body.body,
            "date_created": now_iso(),
            "attachments": [],
        }
        state.append_message(thread, message)
        linked = next(
            (e["id"] for e in thread.get("entities", []) if e["type"] == "MMP_ORDER"), None
        )
        marketplace = (
            ((state.orders.get(linked) or {}).get("channel") or {}).get("code") if linked else None
        )
        thread_model = InboxThread.model_validate(without_messages(thread))
        event = incoming_from_mirakl(
            thread_model,
            InboxMessage.model_validate(message),
            locale=request_body.locale,
            marketplace=marketplace,
        ).model_dump(mode="json")
        result: dict[str, Any] = {
            "thread_id": thread_id,
            "message_id": message["id"],
            "event": event,
        }
        if state.webhook_url:
            result["webhook"] = await deliver_webhook(state, without_messages(thread), message)
        return result

    @sim.post("/faults", status_code=201)
    def add_fault(fault: FaultRequest) -> dict[str, Any]:
        if fault.status is not None and fault.status not in (429, 500, 502, 503, 504):
            raise SimError(422, "status must be 429, 500, 502, 503 or 504")
        state.faults.append(
            Fault(
                fault.status,
                fault.count,
                fault.latency_ms,
                fault.path_prefix or "",
                fault.retry_after,
            )
        )
        return {"active_faults": sum(1 for f in state.faults if f.remaining > 0)}

    @sim.post("/reset")
    def reset(body: ResetRequest | None = None) -> dict[str, Any]:
        state.reset(body.seed if body else None)
        return {"threads": len(state.threads), "orders": len(state.orders)}

    @sim.get("/webhooks")
    def webhooks() -> list[dict[str, Any]]:
        return state.webhooks

    @sim.get("/refunds")
    def refunds() -> list[dict[str, Any]]:
        return state.refunds

    app.include_router(sim)
    return app


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SimError(400, "Request body is not valid JSON") from None


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
