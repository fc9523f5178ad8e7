"""The agent's business tools: stock, order cost, shipments, address changes and refund quotes.

Each tool calls the internal business API over HTTP (this server's /internal/v1 by default, or
the seller's own implementation of that contract) and always returns a JSON-able dict: failures
come back as `{"error": ...}` the model can read, never as an exception that stops the graph.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from store.facts import Address
from store.ids import InvalidId, url_segment
from store.keys import resolve_internal_api_key
from store.settings import Settings, get_settings
from tools.refunds import RefundError, RefundLine, RefundRules, quote_refund


class BusinessApi:
    """HTTP client of the internal business API."""

    def __init__(
        self, base_url: str, api_key: str, *, timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:  # fmt: skip
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"X-API-Key": api_key},
            timeout=timeout_s,
            transport=transport,
        )

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> BusinessApi:
        s = settings or get_settings()
        return cls(s.internal_api_url, resolve_internal_api_key(s))

    def close(self) -> None:
        self._http.close()

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """The JSON answer, or {"error", "status"} for anything that went wrong."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            return {"error": f"business API unreachable: {type(exc).__name__}", "status": None}
        try:
            body = response.json()
        except ValueError:
            body = {"message": response.text[:300]}
        if response.status_code >= 400:
            message = body.get("message") if isinstance(body, dict) else None
            return {"error": message or response.reason_phrase, "status": response.status_code}
        return dict(body)

    # The internal API's resources, each one method: the paths are written here only. Each
    # answers like `call` (an impossible id is a 400 error, as the API would answer it).

    def inventory(self, sku: str) -> dict[str, Any]:
        return self._at("GET", ("/inventory/{}", sku, "SKU"))

    def order_cost(self, order_id: str, *, marketplace: str) -> dict[str, Any]:
        where = {"marketplace": marketplace}
        return self._at("GET", ("/orders/{}/cost", order_id, "order id"), params=where)

    def shipment(self, order_id: str, *, marketplace: str) -> dict[str, Any]:
        where = {"marketplace": marketplace}
        return self._at("GET", ("/shipments/{}", order_id, "order id"), params=where)

    def change_address(
        self, order_id: str, address: Address, *, marketplace: str, actor: str | None = None
    ) -> dict[str, Any]:
        """Redirect the parcel (refused, status 409, once it has left the warehouse)."""
        return self._at(
            "PUT", ("/shipments/{}/address", order_id, "order id"), json=dict(address),
            params={"marketplace": marketplace}, headers={"X-Actor": actor} if actor else None,
        )  # fmt: skip

    def _at(self, method: str, where: tuple[str, str, str], **kwargs: Any) -> dict[str, Any]:
        template, value, what = where
        try:
            path = template.format(url_segment(value, what))
        except InvalidId as exc:
            return {"error": str(exc), "status": 400}
        return self.call(method, path, **{k: v for k, v in kwargs.items() if v is not None})


class SkuInput(BaseModel):
    sku: str = Field(description="The seller's SKU (offer_sku of an order line), e.g. KET-BLU-17")


class OrderInput(BaseModel):
    order_id: str = Field(description="Mirakl order id, e.g. 20567843-A")


class AddressChangeInput(BaseModel):
    order_id: str = Field(description="Mirakl order id, e.g. 20567843-A")
    address: Address


class RefundItem(BaseModel):
    sku: str = Field(description="SKU of the order line concerned")
    qty: int = Field(default=1, ge=1, description="Units concerned")


class RefundInput(BaseModel):
    order_id: str = Field(description="Mirakl order id, e.g. 20567843-A")
    reason: str = Field(description="One of: damaged, missing_part, late_delivery, cosmetic_defect")
    items: list[RefundItem] = Field(
        default_factory=list, description="Lines and units concerned; empty means the whole order"
    )


def make_business_tools(
    api: BusinessApi, rules: RefundRules, marketplace: str
) -> dict[str, BaseTool]:
    """The LangChain tools, by name, bound to one API client, one set of refund rules and one
    marketplace (the same order id on another marketplace is another order)."""

    def check_inventory(sku: str) -> dict[str, Any]:
        """Stock of a product: units available now, units reserved, and the restock date when it
        is out of stock. Use it for "is it in stock?" and "when is it back?"."""
        return api.inventory(sku)

    def get_order_cost(order_id: str) -> dict[str, Any]:
        """What an order cost the seller: per item price and unit cost, shipping price and cost,
        marketplace fee and margin. Internal figures: never quote costs or margin to a customer."""
        return api.order_cost(order_id, marketplace=marketplace)

    def get_shipment(order_id: str) -> dict[str, Any]:
        """Shipment of an order: carrier, tracking number and link, status (pending, preparing,
        shipped, in_transit, delivered, ...), tracking events and delivery address."""
        return api.shipment(order_id, marketplace=marketplace)

    def update_shipping_address(order_id: str, address: Address) -> dict[str, Any]:
        """Change the delivery address of an order whose parcel has not left the warehouse.
        Refused (status 409) once it has shipped."""
        return api.change_address(order_id, address, marketplace=marketplace)

    def compute_partial_refund(
        order_id: str, reason: str, items: list[RefundItem] | None = None
    ) -> dict[str, Any]:
        """Quote a partial refund under the seller's refund rules: the amount, the rule applied
        and whether a human must approve it. It never issues the refund."""
        cost = api.order_cost(order_id, marketplace=marketplace)
        if "error" in cost:
            return cost
        ordered = {item["sku"]: item for item in cost["items"]}
        wanted = [RefundItem.model_validate(i) for i in items or []] or [
            RefundItem(sku=sku, qty=item["qty"]) for sku, item in ordered.items()
        ]
        lines = []
        for item in wanted:
            line = ordered.get(item.sku)
            if line is None:
                return {"error": f"order {order_id} has no line with SKU {item.sku}"}
            if item.qty > line["qty"]:
                return {"error": f"order {order_id} has only {line['qty']} x {item.sku}"}
            unit_cost = line.get("unit_cost")
            lines.append(
                RefundLine(
                    sku=item.sku,
                    qty=item.qty,
                    unit_price=Decimal(str(line["unit_price"])),
                    unit_cost=Decimal(str(unit_cost)) if unit_cost is not None else None,
                )
            )
        try:
            quote = quote_refund(
                rules,
                reason,
                lines,
                shipping_price=Decimal(str(cost["shipping_price"])),
                currency=cost["currency"],
            )
        except RefundError as exc:
            return {"error": str(exc)}
        return {"order_id": order_id, **quote.as_dict()}

    tools = [
        StructuredTool.from_function(check_inventory, args_schema=SkuInput),
        StructuredTool.from_function(get_order_cost, args_schema=OrderInput),
        StructuredTool.from_function(get_shipment, args_schema=OrderInput),
        StructuredTool.from_function(update_shipping_address, args_schema=AddressChangeInput),
        StructuredTool.from_function(compute_partial_refund, args_schema=RefundInput),
    ]
    return {tool.name: tool for tool in tools}


# Tools a drafting model may call: reads, and refund quotes (which change nothing).
DRAFTING_TOOLS = ("check_inventory", "get_order_cost", "get_shipment", "compute_partial_refund")
