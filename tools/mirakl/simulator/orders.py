"""The simulated Mirakl orders: OR11 (list), OR29 (cancel), OR30 (cancel lines), OR23 (tracking),
OR28 (refund), each only in the order states the contract allows."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tools.mirakl.models import CANCELLABLE_STATES
from tools.mirakl.simulator.state import (
    SimError,
    SimState,
    _date,
    authorize,
    now_iso,
    parse_date,
    read_json,
)

MAX_ORDER_PAGE = 100
TRACKABLE_STATES = {"SHIPPING", "SHIPPED", "TO_COLLECT"}
REFUNDABLE_STATES = {
    "SHIPPED",
    "TO_COLLECT",
    "RECEIVED",
    "CLOSED",
    "INCIDENT_OPEN",
    "INCIDENT_CLOSED",
}

router = APIRouter(prefix="/api", dependencies=[Depends(authorize)])


@router.get("/orders")
def list_orders(
    state: SimState,
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
    return {"orders": [published(o, state) for o in page], "total_count": len(selected)}


def _money(value: Any) -> float:
    return float(Decimal(str(value or 0)))


def _address(raw: dict[str, Any] | None, customer: dict[str, Any]) -> dict[str, Any]:
    address = dict(raw or {})
    address.setdefault("lastname", customer.get("lastname") or "-")
    address.setdefault("street_1", "-")
    address.setdefault("city", "-")
    country = address.get("country") or "FRA"
    address["country"] = country
    address.setdefault("country_iso_code", country if len(country) == 3 else "FRA")
    return {k: v for k, v in address.items() if v is not None}


def published(order: dict[str, Any], state: Any) -> dict[str, Any]:
    """An order as OR11 publishes it: the fields the simulator keeps, plus every field the spec
    requires, derived from them (money, flags, fulfillment, line details)."""
    out = {k: v for k, v in order.items() if v is not None}
    lines = []
    for index, line in enumerate(order.get("order_lines", []), start=1):
        quantity = int(line.get("quantity") or 1)
        price = _money(line.get("price"))
        shipping = _money(line.get("shipping_price"))
        lines.append(
            {
                "can_refund": order["order_state"] in REFUNDABLE_STATES,
                "cancelations": [],
                "category_code": line.get("category_code", "default"),
                "category_label": line.get("category_label", "Default"),
                "commission_fee": 0.0,
                "commission_rate_vat": 0.0,
                "commission_vat": 0.0,
                "created_date": order["created_date"],
                "description": line.get("product_title") or line["offer_sku"],
                "last_updated_date": order.get("last_updated_date") or order["created_date"],
                "offer_id": int(line.get("offer_id") or 1000 + index),
                "offer_state_code": "11",
                "order_line_additional_fields": [],
                "order_line_index": index,
                "price_unit": round(price / quantity, 2),
                "product_medias": [],
                "product_sku": line.get("product_sku") or line["offer_sku"],
                "product_title": line.get("product_title") or line["offer_sku"],
                "refunds": [],
                "shipping_price": shipping,
                "total_commission": 0.0,
                "total_price": _money(line.get("total_price", price + shipping)),
                **{k: v for k, v in line.items() if v is not None},
            }
        )
    customer = dict(order.get("customer") or {"customer_id": "unknown"})
    customer.setdefault("firstname", "-")
    customer.setdefault("lastname", "-")
    customer["shipping_address"] = _address(customer.get("shipping_address"), customer)
    customer["billing_address"] = _address(
        customer.get("billing_address") or customer["shipping_address"], customer
    )
    linked = any(
        e.get("id") == order["order_id"] and e.get("type") == "MMP_ORDER"
        for t in state.threads.values()
        for e in t.get("entities", [])
    )
    state_code = order["order_state"]
    if isinstance(out.get("channel"), dict):
        out["channel"] = {"label": out["channel"].get("code", ""), **out["channel"]}
    return {
        "can_cancel": state_code in CANCELLABLE_STATES,
        "can_shop_ship": state_code == "SHIPPING",
        "commercial_id": order["order_id"].rsplit("-", 1)[0],
        "fulfillment": {"center": {"code": "DEFAULT"}},
        "fully_refunded": False,
        "has_customer_message": linked,
        "has_incident": state_code.startswith("INCIDENT"),
        "has_invoice": False,
        "last_updated_date": order["created_date"],
        "leadtime_to_ship": 2,
        "order_tax_mode": "TAX_INCLUDED",
        "paymentType": "",
        "price": round(sum(line["price"] for line in lines), 2),
        "shipping_price": 0.0,
        "shipping_type_code": "STD",
        "shipping_type_label": "Standard",
        "shipping_zone_code": "FR",
        "shipping_zone_label": "France",
        "total_commission": 0.0,
        **out,
        "customer": customer,
        "order_lines": lines,
    }


def touch(order: dict[str, Any]) -> None:
    order["last_updated_date"] = now_iso()


@router.put("/orders/{order_id}/cancel", status_code=204)
def cancel_order(state: SimState, order_id: str) -> Response:
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


@router.put("/orders/cancel", status_code=204)
async def cancel_lines(state: SimState, request: Request) -> Response:
    items = line_amounts(await read_json(request), "cancelations")
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


@router.put("/orders/{order_id}/tracking", status_code=204)
async def update_tracking(state: SimState, order_id: str, request: Request) -> Response:
    order = state.order(order_id)
    body = await read_json(request)
    if not isinstance(body, dict) or not body.get("tracking_number"):
        raise SimError(400, "tracking_number is required")
    if order["order_state"] not in TRACKABLE_STATES:
        raise SimError(
            400,
            f"Tracking cannot be updated for order '{order_id}' in state {order['order_state']}",
        )
    order["shipping_carrier_code"] = body.get("carrier_code")
    order["shipping_company"] = body.get("carrier_name")
    order["shipping_tracking"] = body["tracking_number"]
    order["shipping_tracking_url"] = body.get("carrier_url")
    touch(order)
    return Response(status_code=204)


@router.put("/orders/refund")
async def refund(state: SimState, request: Request) -> dict[str, Any]:
    items = line_amounts(await read_json(request), "refunds")
    for item in items:
        order, line = state.order_line(item["order_line_id"])
        if order["order_state"] not in REFUNDABLE_STATES:
            raise SimError(
                400,
                f"Order '{order['order_id']}' in state {order['order_state']} cannot be refunded",
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
