"""How the dashboard writes what it shows: labels, the reply clock, sizes, dates, the order
panel. Plain functions of their arguments; every text from outside is escaped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import gradio as gr
import pandas as pd

from graph.markdown import md_link, md_text
from store.confirmations import describe
from store.facts import one_line

STATUS_LABELS = {
    "open": "open", "awaiting_approval": "awaiting review", "needs_attention": "needs attention",
    "auto_resolved": "auto-resolved", "answered": "answered", "closed": "closed",
}  # fmt: skip
BY_LABELS = {
    "customer": "Customer", "operator": "Marketplace operator", "automation": "csagent automation",
    "agent": "Agent", "shop": "Shop (before csagent)",
}  # fmt: skip
CONFIRMATION_LABELS = {
    "pending": "Waiting for the customer's yes", "confirmed": "The customer said yes",
    "declined": "The customer said no", "unclear": "The customer's answer was unclear",
    "expired": "No yes in time", "superseded": "Replaced by a newer question",
}  # fmt: skip


def confirmation_line(question: dict[str, Any]) -> str:
    """What csagent asked the customer to confirm, and what became of it, in one line."""
    what = describe(question["action"], question["order_id"])
    status = question["status"]
    if status == "pending" and datetime.fromisoformat(question["expires_at"]) <= datetime.now(UTC):
        status = "expired"
    line = f"> **{CONFIRMATION_LABELS.get(status, status)}:** {md_text(what)}"
    details = question.get("details") or {}
    if details.get("address"):
        line += f": {md_text(one_line(details['address']))}"
    line += f" · asked {when(datetime.fromisoformat(question['asked_at']))}"
    if status == "pending":
        line += f", until {when(datetime.fromisoformat(question['expires_at']))}; nothing is done before a yes"
    elif question.get("outcome"):
        line += f" · {md_text(question['outcome'])}"
    return line


def bars(frame: pd.DataFrame, y: str) -> Any:
    """A bar plot's new value with a y axis from zero (equal bars stay visible)."""
    top = max([*frame[y].tolist(), 1])
    return gr.BarPlot(value=frame, y_lim=[0, top * 1.15])


def ref_key(ref: str | None) -> str:
    """A thread as typed or picked, in one spelling (spaces aside)."""
    return (ref or "").strip()


def what_to_do(kind: str, event_id: int | None) -> str:
    """A needs-attention item in plain words, for the agent who must act on it."""
    retry = f" Retry event {event_id} below." if event_id else ""
    if kind == "failed":
        return (
            "Processing failed after every retry: the customer has had no answer. Fix the cause "
            f"(the error says it), then retry, or open the thread and answer by hand.{retry}"
        )
    return (
        "Mirakl does not confirm this message (it may be forged): nothing was answered or done."
        f"{retry.replace('below.', 'below to check with Mirakl again.')}"
    )


# The waiting column's colours, by Mirakl's reply clock.
CLOCK_COLOURS = {
    "overdue": "background-color: #fde2e1",
    "soon": "background-color: #ffedd5",
    "ok": "background-color: #dcfce7",
}


def clock_state(due: datetime | None, overdue: bool, sla_hours: float, now: datetime) -> str:
    """overdue; soon (less than a quarter of the reply time left); ok; or none (nothing owed)."""
    if due is None:
        return "none"
    return (
        "overdue"
        if overdue
        else "soon"
        if (due - now).total_seconds() / 3600 < sla_hours / 4
        else "ok"
    )


def clock_text(due: datetime | None, overdue: bool, sla_hours: float, now: datetime) -> str:
    """The waiting column: how long the customer has waited and the deadline."""
    if due is None:
        return "-"
    waited = waited_text(due, sla_hours, now).removeprefix(" · waited ")
    state = clock_state(due, overdue, sla_hours, now)
    flag = {"overdue": " · overdue", "soon": " · due soon"}.get(state, "")
    return f"waited {waited or 'under a minute'}{flag} · due {when(due)}"


def coloured(frame: pd.DataFrame, states: list[str]) -> Any:
    """The inbox with its waiting column coloured by the reply clock."""
    colours = [CLOCK_COLOURS.get(state, "") for state in states]
    return frame.style.apply(lambda _: colours, subset=["waiting"], axis=0)


def waited_text(due: datetime | None, sla_hours: float, now: datetime) -> str:
    """How long the customer has really waited: since Mirakl's reply clock started (the
    deadline less the marketplace's reply time), as " · waited 3 d 4 h"."""
    if due is None:
        return ""
    waited = now - (due - timedelta(hours=sla_hours))
    if waited.total_seconds() < 60:
        return ""
    days, hours = waited.days, waited.seconds // 3600
    minutes = waited.seconds // 60 % 60
    text = (
        f"{days} d {hours} h" if days else f"{hours} h {minutes} min" if hours else f"{minutes} min"
    )
    return f" · waited {text}"


def size_text(size: Any) -> str:
    """An attachment's size as Mirakl gives it (bytes), for people."""
    if not isinstance(size, int | float) or size <= 0:
        return "size unknown"
    if size < 1000:
        return f"{size:.0f} bytes"
    return f"{size / 1_000_000:.1f} MB" if size >= 1_000_000 else f"{size / 1000:.0f} KB"


def when(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def order_markdown(order: dict[str, Any] | None) -> str:
    """The order panel; every field read from Mirakl is escaped (a state, carrier or tracking
    URL is outside text)."""
    if order is None:
        return "### Order\n_No order linked to this thread._"
    read = (
        f"read from Mirakl {when(order['fetched_at'])}"
        if order["source"] == "mirakl"
        else f"source {md_text(order['source'])}, not read from Mirakl yet"
    )
    lines = [
        f"### Order {md_text(order['order_id'])}",
        f"**{md_text(order['state'] or 'state unknown')}** · {read}",
        f"Placed {when(order['created'])} · total {md_text(order['total_price'] or '-')} "
        f"{md_text(order['currency'] or '')} (shipping {md_text(order['shipping_price'] or '-')})",
    ]
    for line in order["lines"]:
        lines.append(
            f"- {md_text(line['qty'])} × {md_text(line['product'])} — {md_text(line['price'])} "
            f"({md_text(line['state'] or '-')})"
        )
    shipment = order.get("shipment")
    if shipment:
        tracking = shipment.get("tracking_number")
        link = md_link(tracking, shipment.get("tracking_url")) if tracking else "-"
        lines.append(
            f"#### Shipping\n{md_text(shipment.get('carrier') or '-')} · "
            f"{md_text(shipment['status'])} · tracking {link}"
        )
        address = shipment.get("address") or {}
        if address:
            parts = [
                address.get(k) for k in ("street_1", "street_2", "zip_code", "city", "country")
            ]
            lines.append(md_text(", ".join(str(p) for p in parts if p)))
    return "\n\n".join(lines)
