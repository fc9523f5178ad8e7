"""The simulator's in-memory Mirakl: threads, orders, refunds, and the faults to inject.

Threads are kept in the published shape (M10): senders `CUSTOMER_USER` / `SHOP_USER` /
`OPERATOR_USER` without an id, and `metadata` (`last_sender`, `shop_reply_needed_since`,
`total_count`) recomputed at every change, the way Mirakl keeps its reply clock. Threads in the
older CUSTOMER/SHOP/OPERATOR shape (the sample V1 file) are converted when they are added.
"""

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
    # Attachments' bytes by id (M13), for those given content; others download as empty.
    files: dict[str, bytes] = field(default_factory=dict)

    def reset(self, seed: bool | None = None) -> None:
        self.threads, self.orders, self.refunds, self.faults, self.webhooks = {}, {}, [], [], []
        self.files = {}
        if self.seed if seed is None else seed:
            for thread in json.loads(SAMPLE_V1_FILE.read_text(encoding="utf-8")):
                self.add_thread(thread)
            for order in json.loads(MIRAKL_ORDERS.read_text(encoding="utf-8"))["orders"]:
                self.orders[order["order_id"]] = copy.deepcopy(order)

    @property
    def shop_party(self) -> dict[str, Any]:
        return {"type": "SHOP", "id": self.shop_id, "display_name": self.shop_name}

    @property
    def operator_party(self) -> dict[str, Any]:
        return {"type": "OPERATOR", "display_name": self.marketplace or "Marketplace operator"}

    def sender(self, role: str, display_name: str | None) -> dict[str, Any]:
        """`from` of a message as Mirakl writes it: a user type, no id."""
        organization = {
            "SHOP": {"type": "SHOP", "id": self.shop_id, "display_name": self.shop_name},
            "OPERATOR": {"type": "OPERATOR", "display_name": self.operator_party["display_name"]},
        }.get(role)
        sender: dict[str, Any] = {
            "type": f"{role}_USER",
            "display_name": display_name or (organization or {}).get("display_name") or role,
        }
        if organization:
            sender["organization_details"] = organization
        return sender

    def add_thread(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Add (or replace) a thread, converting an older-shaped one to the published shape."""
        thread = copy.deepcopy(raw)
        for message in thread.get("messages", []):
            sender = message.get("from") or {}
            role = str(sender.get("type", "")).removesuffix("_USER")
            if not str(sender.get("type", "")).endswith("_USER"):
                message["from"] = self.sender(role, sender.get("display_name"))
            message.setdefault("to", [])
            message["attachments"] = [
                {"id": a.get("id") or f"att-{i}", "name": a.get("name") or "file",
                 "size": a.get("size") or 0}
                for i, a in enumerate(message.get("attachments") or [])
            ]  # fmt: skip
        for key in ("current_participants", "authorized_participants"):
            for party in thread.setdefault(key, []):
                party.setdefault("display_name", party.get("type", "").title())
        if not thread["authorized_participants"]:
            thread["authorized_participants"] = copy.deepcopy(thread["current_participants"])
        for entity in thread.setdefault("entities", []):
            entity.setdefault("label", entity["id"])
        thread.setdefault("topic", {"type": "FREE_TEXT", "value": ""})
        thread.setdefault("no_store_reply_needed", [])
        thread.setdefault("date_updated", thread["date_created"])
        self.threads[thread["id"]] = thread
        refresh_metadata(thread)
        return thread

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
        refresh_metadata(thread)

    def mark_no_reply_needed(self, thread: dict[str, Any], user_type: str) -> None:
        """Someone (OPERATOR, CUSTOMER or SHOP) said the shop owes no reply: the clock stops."""
        when = now_iso()
        thread.setdefault("no_store_reply_needed", []).append(
            {"date": when, "user_type": user_type}
        )
        thread["date_updated"] = when
        refresh_metadata(thread)

    def take_fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.remaining > 0 and path.startswith(fault.path_prefix):
                if fault.after > 0:
                    fault.after -= 1
                    continue
                fault.remaining -= 1
                return fault
        return None


def refresh_metadata(thread: dict[str, Any]) -> None:
    """Mirakl's thread metadata from its messages: the last sender, and since when the shop owes
    a reply (the first customer or operator message after the shop's last one; null once the
    shop replied or someone marked the thread as needing no reply)."""
    messages = sorted(thread.get("messages", []), key=lambda m: _date(m["date_created"]))
    needed: str | None = None
    for message in messages:
        kind = str(message["from"]["type"])
        addressed_to_shop = any(r.get("type") == "SHOP" for r in message.get("to", []))
        if kind == "SHOP_USER":
            needed = None
        elif needed is None and (
            kind == "CUSTOMER_USER" or (kind == "OPERATOR_USER" and addressed_to_shop)
        ):
            needed = message["date_created"]
    marks = [_date(m["date"]) for m in thread.get("no_store_reply_needed", [])]
    if needed is not None and any(mark >= _date(needed) for mark in marks):
        needed = None
    last = messages[-1] if messages else None
    thread["metadata"] = {
        "last_message_date": last["date_created"] if last else thread["date_created"],
        "last_sender": (
            {k: v for k, v in last["from"].items() if k != "id"}
            if last
            else {"type": "SHOP_USER", "display_name": "-"}
        ),
        "shop_reply_needed_since": needed,
        "total_count": len(messages),
    }


# -- paging tokens (opaque to clients, as Mirakl's are) ----------------------------------------


def encode_token(direction: str, key: tuple[str, str], query: dict[str, Any]) -> str:
    """A seek token carries the whole query: Mirakl ignores the other parameters beside it."""
    raw = json.dumps({"d": direction, "k": list(key), "q": query}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> tuple[str, tuple[str, str], dict[str, Any]]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded))
        return data["d"], (data["k"][0], data["k"][1]), dict(data["q"])
    except (ValueError, KeyError, IndexError, TypeError):
        raise SimError(400, "Invalid page_token") from None


def thread_key(thread: dict[str, Any]) -> tuple[str, str]:
    return (_date(thread.get("date_updated") or thread["date_created"]).isoformat(), thread["id"])


def without_messages(thread: dict[str, Any]) -> dict[str, Any]:
    """A thread as M11 lists it without `with_messages` (`no_store_reply_needed` comes only with
    the messages)."""
    return {k: v for k, v in thread.items() if k not in ("messages", "no_store_reply_needed")}


def sorted_messages(thread: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(thread.get("messages", []), key=lambda m: _date(m["date_created"]))


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
