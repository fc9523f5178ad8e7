"""The simulator's in-memory Mirakl: threads, orders, refunds, and the faults to inject."""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request

from examples import MIRAKL_ORDERS, SAMPLE_V1_FILE


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
    after: int = 0  # matching requests let through before this fault starts


@dataclass
class SimulatorState:
    api_key: str
    shop_id: str
    shop_name: str
    seed: bool
    webhook_url: str | None = None
    marketplace: str | None = None  # the name it runs under, beside others (events carry it)
    threads: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    webhooks: list[dict[str, Any]] = field(default_factory=list)

    def reset(self, seed: bool | None = None) -> None:
        self.threads, self.orders, self.refunds, self.faults, self.webhooks = {}, {}, [], [], []
        if self.seed if seed is None else seed:
            for thread in json.loads(SAMPLE_V1_FILE.read_text(encoding="utf-8")):
                self.threads[thread["id"]] = copy.deepcopy(thread)
            for order in json.loads(MIRAKL_ORDERS.read_text(encoding="utf-8"))["orders"]:
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
                if fault.after > 0:
                    fault.after -= 1
                    continue
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


def simulator_state(request: Request) -> SimulatorState:
    state: SimulatorState = request.app.state.sim
    return state


SimState = Annotated[SimulatorState, Depends(simulator_state)]


async def read_json(request: Request) -> Any:
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SimError(400, "Request body is not valid JSON") from None


def authorize(request: Request, state: SimState) -> None:
    if request.headers.get("Authorization") != state.api_key:
        raise SimError(401, "Unauthorized: invalid or missing API key")
    requested_shop = request.query_params.get("shop_id")
    if requested_shop is not None and requested_shop != state.shop_id:
        raise SimError(403, f"The API key has no access to shop {requested_shop}")
