"""The Inbox tab's list: every thread, filtered, with its reply clock; refreshed live; the
bulk close of threads the agent read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import gradio as gr
import pandas as pd

from graph.markdown import md_text
from graph.processor import StaleReview
from graph.workspace import (
    ThreadMovedOn,
    close_by_agent,
)
from store.inbox import (
    INBOX_STATUSES,
    UNASSIGNED,
    list_threads,
)
from store.queue import marketplace_health
from store.settings import get_settings
from store.threads import (
    clean_tag,
    latest_message_id,
    newest_message_pk,
    thread_key,
    written_since,
)
from ui.formatting import (
    STATUS_LABELS,
    clock_state,
    clock_text,
    coloured,
    when,
)
from ui.workspace import Workspace, actor, on, parse_ref

ALL = "all"
# Who and what first; the thread's key (what a click opens) last.
INBOX_COLUMNS = [
    "customer", "status", "waiting", "last message", "intent", "marketplace", "assigned to",
    "thread",
]  # fmt: skip
INBOX_WIDTHS: list[str | int] = ["13%", "13%", "21%", "25%", "9%", "7%", "7%", "5%"]
ASSIGNED = ("All", "Mine", "Unassigned", "Snoozed")
# Threads a person should answer, counted in the browser tab's title: "(3) csagent".
WAITING = ("open", "awaiting_approval", "needs_attention")


def inbox(
    ws: Workspace,
    status: str,
    search: str,
    overdue: bool,
    request: gr.Request,
    assigned: str = "All",
    marketplace: str = ALL,
) -> tuple[str, Any]:
    summary, rows, _, _ = inbox_page(ws, status, search, overdue, request, assigned, marketplace)
    return summary, rows


def inbox_page(
    ws: Workspace,
    status: str,
    search: str,
    overdue: bool,
    request: gr.Request,
    assigned: str = "All",
    marketplace: str = ALL,
) -> tuple[str, Any, dict[str, int], int]:
    """The inbox's summary and rows, with the counts of all threads by status."""
    me = actor(ws, request)
    now = datetime.now(UTC)
    tag = None
    if (search or "").strip().startswith("#"):  # "#damaged": the threads with that tag
        try:
            tag = clean_tag(search)
        except ValueError:
            tag = None
    with ws.sessions() as session:
        upto = newest_message_pk(session)  # before the list: what it shows is older
        page = list_threads(
            session,
            status=None if status in (ALL, "", None) else status,
            search=None if tag else search or None,
            tag=tag,
            overdue=overdue,
            marketplace=None if marketplace in (ALL, "", None) else marketplace,
            assignee={"Mine": me, "Unassigned": UNASSIGNED}.get(assigned),
            snoozed=assigned == "Snoozed",
            limit=200,
        )
    counts = " · ".join(f"**{STATUS_LABELS[s]}** {page.counts.get(s, 0)}" for s in INBOX_STATUSES)
    rows = [
        [
            t.customer or "",
            ("● new · " if t.unread else "")
            + STATUS_LABELS.get(t.status, t.status)
            + (" · waiting for the customer's yes" if t.awaiting_customer else "")
            + "".join(f" · #{tag}" for tag in t.tags),
            clock_text(t.sla_due_at, t.overdue, sla_hours(ws, t.marketplace), now),
            (t.last_message or "")[:90],
            t.intent or "",
            t.marketplace or "",
            (t.assignee or "")
            + (f" (snoozed until {when(t.snoozed_until)})" if t.snoozed_until else ""),
            thread_key(t.thread_id, t.marketplace),
        ]  # fmt: skip
        for t in page.threads
    ]
    active = [
        *([f"status **{md_text(STATUS_LABELS.get(status, status))}**"]
          if status not in (ALL, "", None) else []),
        *([f"search **{md_text(search)}**"] if search else []),
        *(["overdue only"] if overdue else []),
        *([f"showing: **{assigned.lower()}**"] if assigned not in ("All", "", None) else []),
        *([f"marketplace **{md_text(marketplace)}**"]
          if marketplace not in (ALL, "", None) else []),
    ]  # fmt: skip
    filters = f" Filters: {' · '.join(active)}." if active else ""
    summary = f"{counts}\n\n{page.total} thread(s) shown, overdue first.{filters}{intake_line(ws)}"
    states = [
        clock_state(t.sla_due_at, t.overdue, sla_hours(ws, t.marketplace), now)
        for t in page.threads
    ]
    table = coloured(pd.DataFrame(rows, columns=INBOX_COLUMNS), states)
    return summary, table, page.counts, upto


def listed(
    ws: Workspace, status: str, search: str, overdue: bool, assigned: str, marketplace: str,
    request: gr.Request,
) -> tuple[str, Any, int]:  # fmt: skip
    """The inbox with where the stored messages stood when it was listed (what it shows is
    older: a bulk close leaves anything newer open)."""
    summary, table, _, upto = inbox_page(
        ws, status, search, overdue, request, assigned, marketplace
    )
    return summary, table, upto


def live_inbox(
    ws: Workspace,
    status: str,
    search: str,
    overdue: bool,
    assigned: str,
    marketplace: str,
    request: gr.Request,
) -> tuple[str, Any, int, int]:
    """The inbox as `inbox` shows it, refreshed by the timer, with how many threads wait for
    a reply (for the browser tab's title) and where the messages stood."""
    summary, rows, counts, upto = inbox_page(
        ws, status, search, overdue, request, assigned, marketplace
    )
    return summary, rows, sum(counts.get(s, 0) for s in WAITING), upto


def marketplaces(ws: Workspace) -> list[str]:
    """The marketplaces csagent works with, as the inbox names them."""
    settings = ws.settings or get_settings()
    return [settings.stored_name(c.name) for c in settings.connections()]


def sla_hours(ws: Workspace, marketplace: str) -> float:
    settings = ws.settings or get_settings()
    return settings.for_marketplace(marketplace).sla_hours


def intake_line(ws: Workspace) -> str:
    """How fresh each marketplace's inbox is here: Mirakl sends sellers no webhooks."""
    if ws.settings is None:
        return ""
    parts = []
    with ws.sessions() as session:
        for connection in ws.settings.connections():
            health = marketplace_health(session, ws.settings.stored_name(connection.name))
            lag = f"read {health.lag_s:.0f} s ago" if health.lag_s is not None else "never read"
            parts.append(f"{connection.name} {lag}")
    return "\n\nMirakl inbox: " + " · ".join(parts)


def pick_thread(evt: gr.SelectData) -> str:
    """The clicked row's thread (its key is the last column)."""
    row = getattr(evt, "row_value", None)
    return str(row[-1]) if row else ""


def close_listed(ws: Workspace, read: dict[str, Any] | None, request: gr.Request) -> str:
    """Close every thread the agent read in the list (no reply needed: the "thanks!" threads
    a search found), each as Close does; one the customer or a colleague wrote in since, or
    one that appeared after the box was ticked, is left open."""
    keys, upto = list((read or {}).get("keys") or []), (read or {}).get("upto")
    upto = int(upto) if upto is not None else None
    if not read:
        return "Tick **I have read every thread shown** first."
    if not keys or upto is None:
        return "No thread shown to close."
    me, closed, left = actor(ws, request), 0, []
    for key in dict.fromkeys(keys):
        thread_id, marketplace = parse_ref(key, ws.settings)
        try:
            with ws.sessions.begin() as session:
                if written_since(session, thread_id, upto, marketplace):
                    left.append(f"`{md_text(key)}` (a new message)")
                    continue
                close_by_agent(
                    session, sessions=ws.sessions, agent=ws.agent, thread_id=thread_id,
                    actor=me, reason="no_reply_needed", marketplace=marketplace,
                    seen_last=latest_message_id(session, thread_id, marketplace),
                )  # fmt: skip
        except (ThreadMovedOn, StaleReview, LookupError) as exc:
            left.append(f"`{md_text(key)}` ({md_text(str(exc))})")
            continue
        closed += 1
    kept = f" Left open: {', '.join(left)}." if left else ""
    return f"Closed {closed} thread(s) without a reply.{kept}"


class InboxList:
    """The inbox's filters and table, laid out where they are created (inside the Inbox tab)."""

    def __init__(self, ws: Workspace) -> None:
        with gr.Row():
            self.status = gr.Dropdown(
                [(ALL, ALL), *[(STATUS_LABELS[s], s) for s in INBOX_STATUSES]],
                value=ALL, label="Status", scale=1,
            )  # fmt: skip
            self.market = gr.Dropdown(
                [ALL, *marketplaces(ws)], value=ALL, label="Marketplace", scale=1,
                elem_id="inbox-marketplace",
            )  # fmt: skip
            self.search = gr.Textbox(
                label="Search", placeholder="name, order, text, #tag  ( / )", scale=2,
                elem_id="inbox-search",
            )  # fmt: skip
            self.overdue = gr.Checkbox(label="Overdue only", scale=1)
            self.assigned = gr.Radio(list(ASSIGNED), value="All", label="Show", scale=2)
            self.refresh = gr.Button("Refresh", elem_id="inbox-refresh", scale=1)
            self.inbox_api = gr.Button(visible=False)  # the inbox for API clients
        self.counts = gr.Markdown(elem_id="inbox-counts")
        self.waiting = gr.Number(visible=False)
        refresh_s = ws.settings.dashboard_refresh_s if ws.settings else 10.0
        # Live: new customer messages and counts appear without a click.
        self.timer = gr.Timer(refresh_s or 1.0, active=refresh_s > 0)

    def table_column(self) -> None:
        """The threads, and the bulk close of those the agent read (the left column)."""
        self.table = gr.Dataframe(
            headers=INBOX_COLUMNS, interactive=False, elem_id="inbox-table",
            wrap=False, column_widths=INBOX_WIDTHS, max_height=900,
        )  # fmt: skip
        self.listed_upto = gr.Number(visible=False, precision=0)
        with gr.Row():
            self.bulk_read = gr.Checkbox(
                label="I have read every thread shown", elem_id="bulk-read", scale=2
            )
            self.bulk_close = gr.Button(
                "Close every thread shown: no reply needed", scale=3, elem_id="bulk-close"
            )
        self.bulk_result = gr.Markdown(elem_id="bulk-result")
        self.bulk_snapshot = gr.JSON(visible=False)  # what the agent said they read

    @property
    def inputs(self) -> list[Any]:
        return [self.status, self.search, self.overdue, self.assigned, self.market]

    @property
    def listing(self) -> list[Any]:
        """Each listing comes with where the stored messages stood (for the bulk close)."""
        return [self.counts, self.table, self.listed_upto]

    def wire(self, ws: Workspace) -> None:
        # fmt: off
        self.refresh.click(on(ws, listed), self.inputs, self.listing, api_visibility="private")
        self.inbox_api.click(on(ws, inbox), self.inputs, [self.counts, self.table], api_name="inbox")
        self.timer.tick(
            on(ws, live_inbox), self.inputs, [self.counts, self.table, self.waiting, self.listed_upto],
            api_visibility="private", show_progress="hidden",
        ).then(None, self.waiting, None, js=TAB_BADGE)
        for trigger in (self.status.change, self.overdue.change, self.search.submit,
                        self.assigned.change, self.market.change):
            trigger(on(ws, listed), self.inputs, self.listing, api_visibility="private")
        # In the browser, at once: a click on Close right after the tick finds it taken.
        self.bulk_read.input(
            None, [self.bulk_read, self.table, self.listed_upto], self.bulk_snapshot, js=READ_LISTED
        )
        self.bulk_close.click(
            on(ws, close_listed), self.bulk_snapshot, self.bulk_result, api_name="close_listed"
        ).then(lambda: {}, None, self.bulk_snapshot, api_visibility="private").then(
            lambda: False, None, self.bulk_read, api_visibility="private"  # ticked again next time
        ).then(on(ws, listed), self.inputs, self.listing, api_visibility="private")
        # fmt: on


# The tab's title counts them; when more wait than at the last refresh and the agent is
# elsewhere, a browser notification says so (once the agent allowed notifications).
TAB_BADGE = """(n) => {
  document.title = n > 0 ? `(${n}) csagent` : 'csagent';
  const before = window.csagentWaiting;
  window.csagentWaiting = n;
  if (before !== undefined && n > before && document.hidden && 'Notification' in window
      && Notification.permission === 'granted') {
    new Notification('csagent', {body: `${n - before} new thread(s) waiting for a reply (${n} in all)`,
                                 tag: 'csagent-waiting'});
  }
}"""
# What the agent says they have read, taken in the browser when the box is ticked: the threads
# the inbox shows then (their key is the last column) and where the stored messages stood.
READ_LISTED = """(really, table, upto) => really
  ? {keys: ((table && table.data) || []).map((row) => String(row[row.length - 1] ?? ''))
             .filter((key) => key), upto: upto}
  : {}"""
