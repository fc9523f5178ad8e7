"""The agents' workspace: a Gradio dashboard mounted in the FastAPI app at /ui.

Every handler calls the same functions as the API (store.inbox, graph.workspace, the Agent's
review entry points, the queue's retry), in this process; agents sign in with the accounts of
`csagent users`, and each action is recorded under the signed-in agent's name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Mount

from graph.drafting import DraftingService
from graph.markdown import md_link, md_quote, md_text
from graph.nodes.actions import ActionFailed
from graph.nodes.review import ACTION_NAMES, InvalidReviewAnswer
from graph.processor import Agent, StaleReview
from graph.translate import LANGUAGES, TranslationUnavailable, translate
from graph.verify import OrderReading, record_reading, thread_orders
from graph.workspace import (
    ThreadMovedOn,
    assign_thread,
    canned_replies,
    close_by_agent,
    draft_for_thread,
    intent_for_draft,
    send_manual_reply,
    snooze_by_agent,
    tag_thread,
)
from knowledge.canned import load_canned
from knowledge.language import detect_language
from store.confirmations import describe
from store.facts import one_line
from store.inbox import (
    INBOX_STATUSES,
    RECONTACT_H,
    UNASSIGNED,
    attention_key,
    automation_figures,
    automation_judgement,
    dismiss_attention,
    list_threads,
    needing_attention,
    thread_detail,
)
from store.queue import Pipeline, marketplace_health
from store.settings import DEFAULT_MARKETPLACE, Settings, get_settings
from store.threads import (
    add_note,
    clean_tag,
    is_image,
    keep_reply_draft,
    kept_reply_draft,
    latest_message_id,
    mark_read_by_agents,
    newest_message_pk,
    note_presence,
    presence_of,
    thread_key,
    thread_pk_of,
    threads_awaiting_review,
    written_since,
)
from store.users import display_name_of
from tools.mirakl.blocking import BlockingMirakl
from tools.mirakl.client import MiraklClient
from tools.mirakl.errors import MiraklError
from ui.signin import DashboardGuard, SessionTokens, check_login

ALL = "all"
STATUS_LABELS = {
    "open": "open", "awaiting_approval": "awaiting review", "needs_attention": "needs attention",
    "auto_resolved": "auto-resolved", "answered": "answered", "closed": "closed",
}  # fmt: skip
BY_LABELS = {
    "customer": "Customer", "operator": "Marketplace operator", "automation": "csagent automation",
    "agent": "Agent", "shop": "Shop (before csagent)",
}  # fmt: skip
# Who a reply goes to on Mirakl (M12 `to`): shown name -> recipient type.
RECIPIENT_CHOICES = {"Customer": "CUSTOMER", "Marketplace operator": "OPERATOR"}
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
    line += f" · asked {_when(datetime.fromisoformat(question['asked_at']))}"
    if status == "pending":
        line += f", until {_when(datetime.fromisoformat(question['expires_at']))}; nothing is done before a yes"
    elif question.get("outcome"):
        line += f" · {md_text(question['outcome'])}"
    return line


# Who and what first; the thread's key (what a click opens) last.
INBOX_COLUMNS = [
    "customer", "status", "waiting", "last message", "intent", "marketplace", "assigned to",
    "thread",
]  # fmt: skip
INBOX_WIDTHS: list[str | int] = ["13%", "13%", "21%", "25%", "9%", "7%", "7%", "5%"]
ASSIGNED = ("All", "Mine", "Unassigned", "Snoozed")
SNOOZE_FOR = {"4 hours": 4, "1 day": 24, "3 days": 72}


@dataclass
class Workspace:
    """What the dashboard works with: the same services as the API."""

    sessions: sessionmaker[Session]
    pipeline: Pipeline
    agent: Agent | None
    mirakl: BlockingMirakl
    drafting: DraftingService
    replay_report: Path | None = None
    mirakl_for: Callable[[str], BlockingMirakl] | None = None  # each marketplace's client
    settings: Settings | None = None

    def client(self, marketplace: str) -> BlockingMirakl:
        if self.mirakl_for is None or marketplace == DEFAULT_MARKETPLACE:
            return self.mirakl
        return self.mirakl_for(marketplace)


def parse_ref(ref: str, settings: Settings | None = None) -> tuple[str, str]:
    """(Mirakl thread id, stored marketplace) of a thread as the dashboard names it: the bare
    id on the default marketplace, `<marketplace>/<id>` on the others (ids never contain "/";
    the marketplace by its configured name or as stored)."""
    ref = (ref or "").strip()
    if "/" in ref:
        marketplace, _, thread_id = ref.partition("/")
        marketplace = marketplace.strip()
        if settings is not None:
            marketplace = settings.stored_name(marketplace)
        return thread_id.strip(), marketplace
    return ref, DEFAULT_MARKETPLACE


def build_dashboard(ws: Workspace) -> gr.Blocks:
    def actor(request: gr.Request | None) -> str:
        """The signed-in agent's name; an account removed since signing in can do nothing more
        (Gradio keeps its sessions in memory)."""
        username = getattr(request, "username", None) if request is not None else None
        with ws.sessions() as session:
            name = display_name_of(session, str(username or "").lower())
        if name is None:
            raise gr.Error("This account no longer exists: sign in again.")
        return name

    # -- inbox ---------------------------------------------------------------------------------

    def inbox(
        status: str,
        search: str,
        overdue: bool,
        request: gr.Request,
        assigned: str = "All",
        marketplace: str = ALL,
    ) -> tuple[str, Any]:
        summary, rows, _, _ = inbox_page(status, search, overdue, request, assigned, marketplace)
        return summary, rows

    def inbox_page(
        status: str,
        search: str,
        overdue: bool,
        request: gr.Request,
        assigned: str = "All",
        marketplace: str = ALL,
    ) -> tuple[str, Any, dict[str, int], int]:
        """The inbox's summary and rows, with the counts of all threads by status."""
        me = actor(request)
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
        counts = " · ".join(
            f"**{STATUS_LABELS[s]}** {page.counts.get(s, 0)}" for s in INBOX_STATUSES
        )
        rows = [
            [
                t.customer or "",
                ("● new · " if t.unread else "")
                + STATUS_LABELS.get(t.status, t.status)
                + (" · waiting for the customer's yes" if t.awaiting_customer else "")
                + "".join(f" · #{tag}" for tag in t.tags),
                _clock(t.sla_due_at, t.overdue, sla_hours(t.marketplace), now),
                (t.last_message or "")[:90],
                t.intent or "",
                t.marketplace or "",
                (t.assignee or "")
                + (f" (snoozed until {_when(t.snoozed_until)})" if t.snoozed_until else ""),
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
        summary = (
            f"{counts}\n\n{page.total} thread(s) shown, overdue first.{filters}{intake_line()}"
        )
        states = [
            _clock_state(t.sla_due_at, t.overdue, sla_hours(t.marketplace), now)
            for t in page.threads
        ]
        table = _coloured(pd.DataFrame(rows, columns=INBOX_COLUMNS), states)
        return summary, table, page.counts, upto

    def listed(
        status: str, search: str, overdue: bool, assigned: str, marketplace: str,
        request: gr.Request,
    ) -> tuple[str, Any, int]:  # fmt: skip
        """The inbox with where the stored messages stood when it was listed (what it shows is
        older: a bulk close leaves anything newer open)."""
        summary, table, _, upto = inbox_page(
            status, search, overdue, request, assigned, marketplace
        )
        return summary, table, upto

    def marketplaces() -> list[str]:
        """The marketplaces csagent works with, as the inbox names them."""
        settings = ws.settings or get_settings()
        return [settings.stored_name(c.name) for c in settings.connections()]

    def sla_hours(marketplace: str) -> float:
        settings = ws.settings or get_settings()
        return settings.for_marketplace(marketplace).sla_hours

    def live_inbox(
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
            status, search, overdue, request, assigned, marketplace
        )
        return summary, rows, sum(counts.get(s, 0) for s in WAITING), upto

    def intake_line() -> str:
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

    def mark_seen(ref: str) -> str:
        """The newest message of the thread about to be shown (read before it is shown: a
        message arriving meanwhile makes a reply be refused, never sent blind)."""
        thread_id, marketplace = parse_ref(ref, ws.settings)
        if not thread_id:
            return ""
        with ws.sessions() as session:
            return latest_message_id(session, thread_id, marketplace) or ""

    def switch_thread(
        ref: str, text: str, owner: str, request: gr.Request
    ) -> tuple[str, str, str, str]:
        """Everything typed belongs to its thread: on opening another thread, the reply being
        written is kept on the server for the thread it was written for (and given back when
        that thread is opened again, after a reload too); the draft's sources and the last
        "sent" line are cleared. Returns (reply box, sources, status, whose text the box holds)."""
        key = _thread_key(ref)
        if key == owner:
            return text, gr.skip(), gr.skip(), owner  # type: ignore[return-value]
        me = actor(request)
        restored = ""
        with ws.sessions.begin() as session:
            if owner:
                keep_draft(session, owner, me, text)
            thread_id, marketplace = parse_ref(ref, ws.settings)
            if thread_id:
                restored = kept_reply_draft(session, thread_id, me, marketplace=marketplace)
        note = "Your unsent reply to this thread is back." if restored else ""
        return restored, "", note, key

    def keep_draft(session: Session, ref: str, me: str, text: str) -> None:
        """The agent's reply being written on that thread, kept on the server (blank: none)."""
        thread_id, marketplace = parse_ref(ref, ws.settings)
        if not thread_id:
            return
        with suppress(LookupError):  # a thread typed that does not exist: nothing to keep
            keep_reply_draft(session, thread_id, me, text, marketplace=marketplace)

    # -- one thread ----------------------------------------------------------------------------

    def presence_here(opened: str, text: str, request: gr.Request) -> str:
        """Says the agent is on the thread they opened (writing a reply when the box holds their
        text for it) and shows who else is: two agents never answer a customer unawares."""
        thread_id, marketplace = parse_ref(opened, ws.settings)
        if not thread_id:
            return ""
        me = actor(request)
        activity = "replying" if (text or "").strip() else "viewing"
        try:
            with ws.sessions.begin() as session:
                note_presence(session, thread_id, me, activity, marketplace=marketplace)
                keep_reply_draft(session, thread_id, me, text, marketplace=marketplace)
                others = [
                    p for p in presence_of(session, thread_pk_of(session, thread_id, marketplace))
                    if p.agent != me
                ]  # fmt: skip
        except LookupError:
            return ""
        lines = [
            f"> **{md_text(p.agent)} is writing a reply** to this customer: agree who answers "
            "before you send."
            if p.activity == "replying"
            else f"> {md_text(p.agent)} is viewing this thread."
            for p in others
        ]
        return "\n\n".join(lines)

    def open_thread(ref: str, request: gr.Request) -> tuple[str, str, str, str, str]:
        actor(request)
        thread_id, marketplace = parse_ref(ref, ws.settings)
        if not thread_id:
            return "Pick a thread in the inbox.", "", "", "", ""
        with ws.sessions.begin() as session:
            if thread_detail(session, thread_id, marketplace=marketplace) is None:
                return f"**No thread {md_text(ref)}.**", "", "", "", ""
            mark_read_by_agents(session, thread_id, marketplace=marketplace)  # no longer "new"
        # The order as Mirakl has it now (this customer's only); if Mirakl cannot be asked,
        # the last reading is shown with its date.
        try:
            reading = thread_orders(ws.client(marketplace), thread_id, "")
        except LookupError as exc:  # a marketplace csagent has no connection to
            reading = OrderReading(problem=str(exc))
        if reading.read:
            with ws.sessions.begin() as session:
                record_reading(session, thread_id, reading, marketplace)
        with ws.sessions() as session:
            detail = thread_detail(session, thread_id, marketplace=marketplace)
        assert detail is not None
        if detail.language is None:
            asked = [m.body for m in detail.messages if m.direction == "inbound"]
            detail.language = detect_language(asked[-1]) if asked else None
        header = [
            f"### Thread `{detail.thread_id}` — {STATUS_LABELS.get(detail.status, detail.status)}",
            f"Customer **{md_text(detail.customer or '?')}** ({detail.customer_id or '-'}) · "
            f"language {detail.language or '-'} · marketplace {detail.marketplace or '-'} · "
            f"intent {detail.intent or '-'}"
            + (f" ({detail.confidence:.2f})" if detail.confidence is not None else "")
            + f" · reply due {_when(detail.sla_due_at)}"
            + (" (Mirakl's clock)" if detail.reply_clock_read_at else " (estimated)")
            + f" · assigned to **{md_text(detail.assignee or 'nobody')}**"
            + "".join(f" · `#{t}`" for t in detail.tags),
        ]
        if detail.attention:
            header.append(f"> **Needs attention:** {md_text(detail.attention)}")
        question = detail.confirmation
        if question is not None:
            header.append(confirmation_line(question))
        if detail.notes:
            header.append("**Internal notes** (agents only, never sent):\n\n" + "\n".join(
                f"- {md_text(n.author)}, {_when(n.created_at)}: {md_text(n.body)}"
                for n in detail.notes
            ))  # fmt: skip
        messages = []
        for m in detail.messages:
            flag = " · **unverified by Mirakl**" if m.verification == "unverified" else ""
            files = "".join(
                f"\n\n📎 {md_text(str(a.get('name') or 'file'))} ({_size(a.get('size'))})"
                for a in m.attachments
            )
            messages.append(
                f"**{BY_LABELS.get(m.by, m.by)}** {md_text(m.author or '')} · "
                f"{_when(m.created_at)}{flag}\n\n{md_quote(m.body)}{files}"
            )
        audit = "\n".join(
            f"- {_when(a.at)} · {a.actor_type} {md_text(a.actor or '')} · `{a.action}` → {a.outcome}"
            + (f" ({md_text(a.detail[:160])})" if a.detail else "")
            for a in detail.audit
        )
        order_md = _order_markdown(detail.order)
        if reading.problem:
            order_md += f"\n\n> **Not read from Mirakl now:** {md_text(reading.problem)}"
        return (
            "\n\n".join(header),
            "\n\n---\n\n".join(messages) or "_no messages_",
            order_md,
            audit or "_nothing recorded yet_",
            ", ".join(detail.tags),
        )

    def translate_here(ref: str, text: str, target: str, request: gr.Request) -> str:
        """The customer's latest messages and the reply being written, in the agent's language
        (machine translation with the configured LLM; for the agent only, never sent)."""
        actor(request)
        thread_id, marketplace = parse_ref(ref, ws.settings)
        with ws.sessions() as session:
            detail = (
                thread_detail(session, thread_id, marketplace=marketplace) if thread_id else None
            )
        if detail is None:
            return "Open a thread first."
        parts = [
            (f"Customer, {_when(m.created_at)}", m.body)
            for m in detail.messages if m.direction == "inbound"
        ][-3:]  # fmt: skip
        if (text or "").strip():
            parts.append(("Your reply (as it stands)", text))
        out = []
        for title, body in parts:
            written_in = detect_language(body)
            if written_in == target:
                out.append(f"**{title}** (already in {target})")
                continue
            try:
                translated = translate(ws.drafting.model, body, target)
            except TranslationUnavailable as exc:
                return f"**No translation:** {md_text(str(exc))}."
            out.append(f"**{title}** ({written_in or '?'} → {target}):\n{md_quote(translated)}")
        if not out:
            return "Nothing to translate yet."
        return "_Machine translation, for you only (never sent)._\n\n" + "\n\n".join(out)

    def thread_pictures(ref: str, request: gr.Request) -> tuple[Any, str]:
        """The pictures the customer attached (the latest PICTURES), downloaded from Mirakl (M13)
        when the thread is shown. (gallery, what could not be shown)"""
        actor(request)
        thread_id, marketplace = parse_ref(ref, ws.settings)
        with ws.sessions() as session:
            detail = (
                thread_detail(session, thread_id, marketplace=marketplace) if thread_id else None
            )
        wanted = [
            a for m in (detail.messages if detail else []) for a in m.attachments
            if a.get("id") and is_image(a)
        ][-PICTURES:]  # fmt: skip
        if not wanted:
            return gr.update(value=None, visible=False), ""
        shown, problems = [], []

        def download(attachment_id: str) -> Callable[[MiraklClient], Awaitable[bytes]]:
            return lambda m: m.download_attachment(attachment_id, max_bytes=PICTURE_BYTES)

        for attachment in wanted:
            name = str(attachment.get("name") or "file")
            try:
                data = ws.client(marketplace).call(download(str(attachment["id"])))
                picture = Image.open(BytesIO(data))
                picture.load()
            except (MiraklError, LookupError, OSError, Image.DecompressionBombError) as exc:
                problems.append(
                    f"{md_text(name)}: {md_text(getattr(exc, 'message', None) or str(exc))}"
                )
                continue
            shown.append((picture, name))
        note = ("**Not shown:** " + "; ".join(problems)) if problems else ""
        return gr.update(value=shown or None, visible=bool(shown)), note

    def generate_draft(ref: str, request: gr.Request) -> tuple[str, str, str]:
        actor(request)
        thread_id, marketplace = parse_ref(ref, ws.settings)
        if not thread_id:
            return "", "", "Pick a thread first."
        try:
            with ws.sessions() as session:
                draft = draft_for_thread(
                    session, ws.client(marketplace), ws.drafting, thread_id, marketplace,
                    classify=intent_for_draft(ws.agent.services.classifier) if ws.agent else None,
                )  # fmt: skip
        except LookupError as exc:
            return "", "", f"**{md_text(str(exc))}**"
        sources = "\n".join(
            f"- {s.doc} — {md_text(s.heading)} ({s.score:.2f})" for s in draft.sources
        )
        decided = f"**Decision:** {md_text(draft.decision)}\n\n" if draft.decision else ""
        flags = (
            "**Check before sending — not in the facts:** "
            + "; ".join(md_text(f) for f in draft.flags)
            + "\n\n"
            if draft.flags
            else ""
        )
        return (
            draft.text,
            f"{flags}{decided}**Sources** ({draft.generator}):\n{sources or '- none'}",
            "Draft ready: edit it, then Send.",
        )

    def send(
        ref: str, text: str, recipients: list[str], owner: str, seen: str, request: gr.Request
    ) -> tuple[str, str]:
        """Returns (reply box, status): the box is emptied only once Mirakl took the reply. A
        text written for another thread than the one shown is never sent to this one."""
        thread_id, marketplace = parse_ref(ref, ws.settings)
        if not thread_id or not (text or "").strip():
            return text, "Pick a thread and write a reply first."
        if owner and owner != _thread_key(ref):
            return text, (
                f"**Not sent:** this reply was written for thread `{md_text(owner)}`, not "
                f"`{md_text(ref)}`. Open the thread it is for, or clear it."
            )
        to = tuple(RECIPIENT_CHOICES[r] for r in recipients or [] if r in RECIPIENT_CHOICES)
        if not to:
            return text, "Choose who receives the reply: the customer, the operator or both."
        try:
            with ws.sessions.begin() as session:
                sent = send_manual_reply(
                    session, sessions=ws.sessions, mirakl=ws.client(marketplace),
                    agent=ws.agent, thread_id=thread_id, text=text, actor=actor(request),
                    marketplace=marketplace, to=to,
                    seen_last=seen or None,  # the newest message shown when the thread opened
                )  # fmt: skip
        except ThreadMovedOn:
            return text, (
                "**Not sent: the thread moved on** (the customer wrote again, or someone "
                "replied). Your text is kept: **Open / refresh thread** to read it, then Send."
            )
        except (MiraklError, ActionFailed, LookupError, InvalidReviewAnswer) as exc:
            message = getattr(exc, "message", None) or str(exc)
            return text, f"**Not sent:** {md_text(message)}. Your text is kept; try again."
        with ws.sessions.begin() as session:  # sent: nothing kept for this thread any more
            keep_draft(session, ref, actor(request), "")
        how = "answered the pending review" if sent.via_review else "sent on Mirakl"
        return "", f"Reply {how}."

    # -- reviews -------------------------------------------------------------------------------

    def take(ref: str, request: gr.Request, release: bool = False) -> str:
        """The open thread becomes the agent's (or nobody's), for the whole team to see."""
        thread_id, marketplace = parse_ref(ref, ws.settings)
        if not thread_id:
            return "Pick a thread first."
        me = actor(request)
        try:
            with ws.sessions.begin() as session:
                previous = assign_thread(
                    session, thread_id=thread_id, to=None if release else me, actor=me,
                    marketplace=marketplace,
                )  # fmt: skip
        except LookupError as exc:
            return f"**Not changed:** {md_text(str(exc))}"
        if release:
            return "Released: anyone can take it."
        taken = f" (taken from {md_text(previous)})" if previous and previous != me else ""
        return f"Assigned to you{taken}."

    def save_tags(ref: str, text: str, opened: str, request: gr.Request) -> str:
        """The open thread's tags become the box's (comma-separated), for the whole team."""
        thread_id, marketplace = parse_ref(ref, ws.settings)
        if not thread_id:
            return "Pick a thread first."
        if opened and opened != _thread_key(ref):
            return "**Tags not saved:** open the thread they are for first."
        wanted = [t for t in (text or "").split(",") if t.strip()]
        try:
            with ws.sessions.begin() as session:
                detail = thread_detail(session, thread_id, marketplace=marketplace)
                if detail is None:
                    return f"**Tags not saved:** no thread {md_text(ref)}."
                keep = {clean_tag(t) for t in wanted}
                now = tag_thread(
                    session, thread_id=thread_id, add=wanted,
                    remove=[t for t in detail.tags if t not in keep], actor=actor(request),
                    marketplace=marketplace,
                )  # fmt: skip
        except ValueError as exc:
            return f"**Tags not saved:** {md_text(str(exc))}"
        return "Tags saved: " + (" ".join(f"#{t}" for t in now) or "none") + "."

    def release(ref: str, request: gr.Request) -> str:
        return take(ref, request, release=True)

    def add_internal_note(ref: str, text: str, opened: str, request: gr.Request) -> tuple[str, str]:
        """(note box, status): a note for the other agents on the open thread, never sent."""
        thread_id, marketplace = parse_ref(ref, ws.settings)
        if not thread_id or not (text or "").strip():
            return text, "Pick a thread and write a note first."
        if opened and opened != _thread_key(ref):
            return text, "**Note not added:** open the thread it is for first."
        try:
            with ws.sessions.begin() as session:
                add_note(session, thread_id, actor(request), text.strip(), marketplace=marketplace)
        except LookupError as exc:
            return text, f"**Note not added:** {md_text(str(exc))}"
        return "", "Note added (agents only: it is never sent to the customer)."

    def insert_canned(ref: str, title: str, request: gr.Request) -> tuple[str, str]:
        """(reply box, status): the chosen canned response, filled for the open thread."""
        actor(request)
        thread_id, marketplace = parse_ref(ref, ws.settings)
        if not thread_id or not title:
            return gr.skip(), "Pick a thread and a canned response first."  # type: ignore[return-value]
        settings = ws.settings or get_settings()
        with ws.sessions() as session:
            try:
                found = canned_replies(session, thread_id, settings, marketplace)
            except LookupError as exc:
                return gr.skip(), f"**Not inserted:** {md_text(str(exc))}"  # type: ignore[return-value]
        chosen = next((c for c in found if c.title == title), None)
        if chosen is None:
            return gr.skip(), "That canned response is no longer in the file."  # type: ignore[return-value]
        left = (
            f" Complete before sending: {', '.join(f'[{m}?]' for m in chosen.missing)}."
            if chosen.missing else ""
        )  # fmt: skip
        return (
            chosen.text,
            f"Canned response inserted ({chosen.language}): edit it, then Send.{left}",
        )

    def snooze_here(ref: str, span: str, request: gr.Request) -> str:
        """Put the open thread aside; it comes back then, or when the customer writes."""
        thread_id, marketplace = parse_ref(ref, ws.settings)
        if not thread_id or span not in SNOOZE_FOR:
            return "Pick a thread and how long to snooze it."
        until = datetime.now(UTC) + timedelta(hours=SNOOZE_FOR[span])
        try:
            with ws.sessions.begin() as session:
                snooze_by_agent(
                    session, thread_id=thread_id, until=until, actor=actor(request),
                    marketplace=marketplace,
                )  # fmt: skip
        except LookupError as exc:
            return f"**Not snoozed:** {md_text(str(exc))}"
        return (
            f"Snoozed until {_when(until)}: out of the inbox until then, or until the customer "
            "writes (see Assigned: Snoozed)."
        )

    def close_listed(read: dict[str, Any] | None, request: gr.Request) -> str:
        """Close every thread the agent read in the list (no reply needed: the "thanks!" threads
        a search found), each as Close does; one the customer or a colleague wrote in since, or
        one that appeared after the box was ticked, is left open."""
        keys, upto = list((read or {}).get("keys") or []), (read or {}).get("upto")
        upto = int(upto) if upto is not None else None
        if not read:
            return "Tick **I have read every thread shown** first."
        if not keys or upto is None:
            return "No thread shown to close."
        me, closed, left = actor(request), 0, []
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

    def close_here(ref: str, seen: str, request: gr.Request) -> str:
        """Leave the open thread without a reply (nothing goes to Mirakl), under the agent's
        name; a pending review is ignored, a question to the customer no longer awaited."""
        thread_id, marketplace = parse_ref(ref, ws.settings)
        if not thread_id:
            return "Pick a thread first."
        try:
            with ws.sessions.begin() as session:
                via_review = close_by_agent(
                    session, sessions=ws.sessions, agent=ws.agent, thread_id=thread_id,
                    actor=actor(request), reason="no_reply_needed", marketplace=marketplace,
                    seen_last=seen or None,
                )  # fmt: skip
        except ThreadMovedOn:
            return (
                "**Not closed: the thread moved on** (the customer wrote again, or someone "
                "replied). **Open / refresh thread** to read it first."
            )
        except LookupError as exc:
            return f"**Not closed:** {md_text(str(exc))}"
        review = " Its pending review was ignored (nothing sent)." if via_review else ""
        return f"Closed without a reply.{review} The customer's next message opens it again."

    def reviews(request: gr.Request) -> tuple[Any, str]:
        actor(request)
        choices = []
        if ws.agent is not None:
            with ws.sessions() as session:
                pending = threads_awaiting_review(session, limit=200)
            for thread_id, intent, confidence, marketplace in pending:
                conf = f" ({confidence:.2f})" if confidence is not None else ""
                ref = thread_key(thread_id, marketplace)
                choices.append((f"{ref} — {intent or '?'}{conf}", ref))
        note = f"{len(choices)} review(s) pending." if ws.agent else "The agent is off."
        return gr.update(choices=choices, value=choices[0][1] if choices else None), note

    def show_review(
        ref: str | None, request: gr.Request
    ) -> tuple[str, str, str, str, str, str, str, str]:
        actor(request)
        empty = ("", "", "", "", "", "", "", "")
        thread_id, marketplace = parse_ref(ref or "", ws.settings)
        if not thread_id or ws.agent is None:
            return ("_No review selected._", *empty[1:])
        found = ws.agent.pending_review(thread_id, marketplace)
        if found is None:
            return ("_This review is no longer pending._", *empty[1:])
        pending = found["request"]
        args = pending["action_request"]["args"]
        address = args.get("address") or {}
        action = pending["action_request"]["action"]
        proposal = args.get("proposal")
        what = (
            f"**Action if approved:** `{proposal or action}`"
            if (proposal or action) != "send_reply"
            else "**Text only** (no action proposed)"
        )
        return (
            pending["description"] + "\n\n" + what,
            args.get("reply") or "",
            str(address.get("street_1") or ""),
            str(address.get("street_2") or ""),
            str(address.get("zip_code") or ""),
            str(address.get("city") or ""),
            str(address.get("country") or ""),
            str(found["values"].get("message_id") or ""),
        )

    def answer(
        thread_id: str | None, kind: str, with_action: bool | None, reply: str, note: str,
        street_1: str, street_2: str, zip_code: str, city: str, country: str,
        message_id: str, request: gr.Request,
    ) -> str:  # fmt: skip
        reply, note = reply or "", note or ""
        ref = thread_id or ""
        thread_id, marketplace = parse_ref(ref, ws.settings)
        if not thread_id or ws.agent is None:
            return "Pick a review first."
        found = ws.agent.pending_review(thread_id, marketplace)
        if found is None:
            return "This review is no longer pending: refresh the list."
        args: dict[str, Any] = {}
        original = found["request"]["action_request"]["args"]
        if kind in ("accept", "edit"):
            if with_action is not None:
                args["with_action"] = with_action
            if street_1 and (original.get("address") or original.get("proposal")):
                base = dict(original.get("address") or {})
                base.update(street_1=street_1, street_2=street_2 or None, zip_code=zip_code,
                            city=city, country=country or base.get("country"))  # fmt: skip
                args["address"] = base
            if reply.strip() != (original.get("reply") or "").strip():
                if with_action and original.get("proposal_reply"):
                    return (
                        "**Not sent:** the box holds the reply without the action, edited. "
                        "Approving the action sends the confirmation quoted above: undo your "
                        "edits to approve it, or use Send text only."
                    )
                kind, args["reply"] = "edit", reply
        elif kind == "response":
            if not note.strip():
                return "Write what the new draft should do first."
            args = {"note": note}
        payload = {"type": kind, "args": args or None, "reviewer": actor(request)}
        if message_id:
            payload["message_id"] = message_id
        try:
            with ws.sessions.begin() as session:
                outcome = ws.agent.resume(session, thread_id, payload, marketplace)
        except (StaleReview, InvalidReviewAnswer, LookupError) as exc:
            return f"**{md_text(str(exc))}**"
        except (MiraklError, ActionFailed) as exc:
            message = getattr(exc, "message", None) or str(exc)
            return f"**Not carried out:** {md_text(message)}. The review is still pending."
        actions = ", ".join(outcome.detail.get("actions") or []) or "none"
        # Which thread it was about: the next review shows up under this line.
        return f"Done: {outcome.status} (actions: {actions}) · thread `{md_text(_thread_key(ref))}`"

    def answering(kind: str, with_action: bool | None) -> Any:
        def handler(
            thread_id: str | None, reply: str, note: str, street_1: str, street_2: str,
            zip_code: str, city: str, country: str, message_id: str, request: gr.Request,
        ) -> str:  # fmt: skip
            return answer(
                thread_id, kind, with_action, reply, note, street_1, street_2, zip_code, city,
                country, message_id, request,
            )  # fmt: skip

        return handler

    def pending_here(ref: str) -> dict[str, Any] | None:
        thread_id, marketplace = parse_ref(ref, ws.settings)
        if not thread_id or ws.agent is None:
            return None
        found: dict[str, Any] | None = ws.agent.pending_review(thread_id, marketplace)
        return found

    def prefill_from_review(ref: str, text: str, owner: str) -> tuple[str, str]:
        """A thread whose pending review is a draft only: the draft goes in the reply box when
        that holds nothing of the agent's for this thread. Done before the thread is shown, so
        that a draft the agent then asks for is never overwritten. (reply box, box owner)"""
        found = pending_here(ref)
        key = _thread_key(ref)
        if found is None or ((text or "").strip() and owner == key):
            return gr.skip(), gr.skip()  # type: ignore[return-value]
        action_request = found["request"]["action_request"]
        args = action_request["args"]
        if (args.get("proposal") or action_request["action"]) != "send_reply":
            return gr.skip(), gr.skip()  # type: ignore[return-value]  # the box stays the agent's
        return args.get("reply") or "", key

    def review_in_thread(ref: str, request: gr.Request) -> tuple[Any, str, str]:
        """The open thread's pending review, where the agent works. A proposed action: what is
        done and, quoted, exactly the text Approve sends with it (the reply box stays the
        agent's: Send sends it without the action). A draft only: Approve or Send sends the
        reply box (where prefill_from_review put the draft). (group, description, review's
        message)"""
        actor(request)
        found = pending_here(ref)
        if found is None:
            return gr.update(visible=False), "", ""
        pending = found["request"]
        action, args = pending["action_request"]["action"], pending["action_request"]["args"]
        done = args.get("proposal") or action
        message = str(found["values"].get("message_id") or "")
        head = "#### A review is pending on this thread\n\n" + pending["description"]
        if done != "send_reply":
            sent = args.get("proposal_reply") if args.get("proposal") else args.get("reply")
            what = (
                f"**Approve and send** will {ACTION_NAMES.get(done, md_text(done))}, then send "
                "exactly:\n"
                + md_quote(sent or "")
                + "\n\n**Send** sends the Reply box's text alone, without the action."
            )
        else:
            what = (
                "**Approve and send** sends the Reply box's text below (the draft; edit it first)."
            )
        return gr.update(visible=True), f"{head}\n\n{what}", message

    def approve_in_thread(
        ref: str, text: str, owner: str, review_message: str, request: gr.Request
    ) -> tuple[str, str]:
        """Approve the open thread's review: a proposed action with the text quoted above the
        button, or a draft as the reply box holds it. (reply box, status)"""
        thread_id, marketplace = parse_ref(ref, ws.settings)
        found = ws.agent.pending_review(thread_id, marketplace) if ws.agent and thread_id else None
        if found is None:
            return text, "This review is no longer pending."
        action_request = found["request"]["action_request"]
        if (action_request["args"].get("proposal") or action_request["action"]) != "send_reply":
            # The text shown with the action, as proposed; the agent's box is left alone.
            original = action_request["args"].get("reply") or ""
            result = answer(ref, "accept", True, original, "", "", "", "", "", "", review_message, request)  # fmt: skip
            return text, result
        if owner and owner != _thread_key(ref):
            return text, "**Not approved:** the reply box holds a text for another thread."
        result = answer(ref, "accept", None, text, "", "", "", "", "", "", review_message, request)  # fmt: skip
        if not result.startswith("Done"):
            return text, result
        with ws.sessions.begin() as session:
            keep_draft(session, ref, actor(request), "")
        return "", result

    def ignore_in_thread(ref: str, review_message: str, request: gr.Request) -> str:
        return answer(ref, "ignore", None, "", "", "", "", "", "", "", review_message, request)

    # -- needs attention -----------------------------------------------------------------------

    def attention(request: gr.Request) -> pd.DataFrame:
        actor(request)
        with ws.sessions() as session:
            items = needing_attention(session)
        return pd.DataFrame(
            [[i.event_id or "", i.kind, thread_key(i.thread_id or "", i.marketplace), i.message_id, _when(i.at), i.error[:200], _what_to_do(i.kind, i.event_id)]
             for i in items],
            columns=["event", "kind", "thread", "message", "received", "error", "what to do"],
        )  # fmt: skip

    def pick_attention(evt: gr.SelectData) -> tuple[str, list[str]]:
        """The clicked item: its event (for Retry) and the whole row."""
        row = [str(v) for v in (getattr(evt, "row_value", None) or [])]
        return (row[0] if row else ""), row

    def attention_thread(row: list[str]) -> tuple[Any, str]:
        """Go to the picked item's thread in the work pane."""
        if not row or not row[2]:
            return gr.skip(), gr.skip()  # type: ignore[return-value]
        return gr.Tabs(selected="inbox"), row[2]

    def dismiss(row: list[str], request: gr.Request, spam: bool = False) -> str:
        """Take the picked item off Needs attention (and, for spam, close its thread: nothing is
        sent, the customer's next message opens it again)."""
        if not row:
            return "Pick an item in the table first."
        kind, ref, message_id = row[1], row[2], row[3]
        thread_id, marketplace = parse_ref(ref, ws.settings)
        me = actor(request)
        try:
            with ws.sessions.begin() as session:
                if spam:
                    close_by_agent(
                        session, sessions=ws.sessions, agent=ws.agent, thread_id=thread_id,
                        actor=me, reason="spam", marketplace=marketplace,
                    )  # fmt: skip
                dismiss_attention(
                    session, attention_key(kind, marketplace, message_id), actor=me,
                    thread_id=thread_id or None, marketplace=marketplace,
                )  # fmt: skip
        except LookupError as exc:
            return f"**Not done:** {md_text(str(exc))}"
        closed = f" Thread `{md_text(ref)}` closed as spam." if spam else ""
        return f"Dismissed: message {md_text(message_id)} is off the list.{closed}"

    def dismiss_spam(row: list[str], request: gr.Request) -> str:
        return dismiss(row, request, spam=True)

    def retry(event_id: str, request: gr.Request) -> str:
        actor(request)
        try:
            view = ws.pipeline.retry(int(str(event_id).strip()))
        except ValueError as exc:
            return f"**{md_text(str(exc)) if str(event_id).strip().isdigit() else 'Give an event number.'}**"
        except LookupError as exc:
            return f"**{md_text(str(exc))}**"
        return f"Event {view.event_id}: **{view.status}**" + (
            f" — {md_text(view.error)}" if view.error else ""
        )

    # -- automation ----------------------------------------------------------------------------

    def judgement() -> tuple[pd.DataFrame, str]:
        """Whether to trust the automation, per intent, and its latest replies to read."""
        settings = ws.settings or get_settings()
        with ws.sessions() as session:
            judged, latest = automation_judgement(session)

        def share(part: int, whole: int) -> str:
            return f"{part}/{whole} ({part / whole:.0%})" if whole else "-"

        rows = []
        for j in judged:
            mode = settings.action_mode(j.intent) if j.intent in settings.action_modes else "reply"
            threshold = settings.automation_thresholds.get(j.intent)
            asked = settings.confirmation_thresholds.get(j.intent)
            rows.append([
                j.intent, j.automatic_replies, share(j.recontacted, j.automatic_replies),
                share(j.accepted, j.reviews),
                "-" if threshold is None else f"{threshold:.2f}"
                + (f" (asks from {asked:.2f})" if asked is not None and mode == "confirm" else ""),
                mode,
            ])  # fmt: skip
        table = pd.DataFrame(rows, columns=[
            "intent", "automatic replies", f"wrote again within {RECONTACT_H} h",
            "reviewers accepted its proposals", "threshold", "action mode",
        ])  # fmt: skip
        sample = "\n\n".join(
            f"**{md_text(r.intent or '?')}** · {_when(r.sent_at)} · thread `{md_text(thread_key(r.thread_id, r.marketplace))}`"
            + (f" · **the customer wrote again within {RECONTACT_H} h**" if r.recontacted else "")
            + "\n\n" + md_quote(r.text[:600])
            for r in latest
        )  # fmt: skip
        return table, sample or "_No automatic reply in the last 30 days._"

    def automation(request: gr.Request) -> tuple[str, Any, Any, Any, str, Any, str]:
        actor(request)
        with ws.sessions() as session:
            f = automation_figures(session)
        precision = (
            f"{f.automation_precision:.0%} of {f.reviews_of_automation} reviewed proposals "
            "accepted unchanged"
            if f.automation_precision is not None
            else "no reviewed automation yet (shadow mode gives it)"
        )
        total = sum(f.replies_by.values()) or 1
        shares = ", ".join(f"{k} {v} ({v / total:.0%})" for k, v in f.replies_by.items())
        summary = (
            f"**Replies sent through csagent:** {shares}\n\n"
            f"**Median first response:** "
            + (f"{f.median_first_response_h:.1f} h" if f.median_first_response_h is not None else "-")
            + f"\n\n**Automation precision (reviewers' corrections):** {precision}"
        )  # fmt: skip
        report = "_No shadow-mode replay report yet._"
        if ws.replay_report is not None and ws.replay_report.exists():
            report = ws.replay_report.read_text(encoding="utf-8")
        return (
            summary,
            _bars(pd.DataFrame(f.messages_per_day, columns=["day", "messages"]), "messages"),
            _bars(
                pd.DataFrame(list(f.replies_by.items()), columns=["handled", "replies"]), "replies"
            ),
            _bars(pd.DataFrame(f.intents, columns=["intent", "threads"]), "threads"),
            report,
            *judgement(),
        )

    # -- layout --------------------------------------------------------------------------------

    with gr.Blocks(title="csagent", analytics_enabled=False, fill_width=True) as blocks:
        who = gr.Markdown("# csagent")
        # Per browser session: whose thread the reply box's text is (the replies being written
        # are kept on the server, per thread and agent).
        box_owner = gr.State("")
        seen_last = gr.State("")  # the newest message of the thread as it was last shown
        review_seen = gr.State("")  # the message of the review shown in the thread
        with gr.Tabs() as tabs:
            # One work pane: the inbox on the left, the thread a click opens on the right.
            with gr.Tab("Inbox", id="inbox"):
                with gr.Row():
                    status = gr.Dropdown(
                        [(ALL, ALL), *[(STATUS_LABELS[s], s) for s in INBOX_STATUSES]],
                        value=ALL, label="Status", scale=1,
                    )  # fmt: skip
                    market = gr.Dropdown(
                        [ALL, *marketplaces()], value=ALL, label="Marketplace", scale=1,
                        elem_id="inbox-marketplace",
                    )  # fmt: skip
                    search = gr.Textbox(
                        label="Search", placeholder="name, order, text, #tag  ( / )", scale=2,
                        elem_id="inbox-search",
                    )  # fmt: skip
                    overdue = gr.Checkbox(label="Overdue only", scale=1)
                    assigned = gr.Radio(list(ASSIGNED), value="All", label="Show", scale=2)
                    refresh = gr.Button("Refresh", elem_id="inbox-refresh", scale=1)
                    inbox_api = gr.Button(visible=False)  # the inbox for API clients
                counts = gr.Markdown(elem_id="inbox-counts")
                waiting = gr.Number(visible=False)
                refresh_s = ws.settings.dashboard_refresh_s if ws.settings else 10.0
                # Live: new customer messages and counts appear without a click.
                timer = gr.Timer(refresh_s or 1.0, active=refresh_s > 0)
                with gr.Row(equal_height=False):
                    with gr.Column(scale=6):
                        table = gr.Dataframe(
                            headers=INBOX_COLUMNS, interactive=False, elem_id="inbox-table",
                            wrap=False, column_widths=INBOX_WIDTHS, max_height=900,
                        )  # fmt: skip
                        listed_upto = gr.Number(visible=False, precision=0)
                        with gr.Row():
                            bulk_read = gr.Checkbox(
                                label="I have read every thread shown", elem_id="bulk-read",
                                scale=2,
                            )  # fmt: skip
                            bulk_close = gr.Button(
                                "Close every thread shown: no reply needed", scale=3,
                                elem_id="bulk-close",
                            )  # fmt: skip
                        bulk_result = gr.Markdown(elem_id="bulk-result")
                        bulk_snapshot = gr.JSON(visible=False)  # what the agent said they read
                    with gr.Column(scale=6, elem_id="thread-pane"):
                        with gr.Row():
                            current = gr.Textbox(
                                label="Thread", placeholder="click a row, or type a thread id",
                                elem_id="thread-id", scale=4,
                            )  # fmt: skip
                            open_button = gr.Button(
                                "Open / refresh thread", elem_id="thread-open", scale=1
                            )
                        header = gr.Markdown(elem_id="thread-header")
                        presence = gr.Markdown(elem_id="thread-presence")
                        with gr.Group(visible=False) as review_group:
                            review_here = gr.Markdown(elem_id="thread-review")
                            with gr.Row():
                                approve_here = gr.Button(
                                    "Approve and send", variant="primary",
                                    elem_id="thread-approve",
                                )  # fmt: skip
                                ignore_here = gr.Button("Ignore review", elem_id="thread-ignore")
                        with gr.Accordion("Order and shipping", open=True):
                            order = gr.Markdown(elem_id="thread-order")
                        pictures = gr.Gallery(
                            label="Pictures the customer sent (from Mirakl)", visible=False,
                            elem_id="thread-pictures", columns=3, height=260,
                        )  # fmt: skip
                        pictures_note = gr.Markdown(elem_id="thread-pictures-note")
                        conversation = gr.Markdown(elem_id="thread-messages", max_height=520)
                        reply_box = gr.Textbox(label="Reply", lines=8, elem_id="reply-box")
                        recipients = gr.CheckboxGroup(
                            list(RECIPIENT_CHOICES), value=["Customer"], label="Send to",
                            elem_id="reply-to",
                        )  # fmt: skip
                        with gr.Row():
                            draft_button = gr.Button(
                                "Generate draft (Alt+D)", elem_id="generate-draft"
                            )
                            send_button = gr.Button(
                                "Send (Ctrl+Enter)", variant="primary", elem_id="send-reply"
                            )
                            close_button = gr.Button(
                                "Close: no reply needed", variant="secondary",
                                elem_id="close-thread",
                            )  # fmt: skip
                        reply_status = gr.Markdown(elem_id="reply-status")
                        sources = gr.Markdown(elem_id="draft-sources")
                        with gr.Row():
                            take_button = gr.Button("Take", elem_id="take-thread")
                            release_button = gr.Button("Release", elem_id="release-thread")
                            snooze_span = gr.Dropdown(
                                list(SNOOZE_FOR), value="1 day", label="Snooze for",
                                elem_id="snooze-for",
                            )  # fmt: skip
                            snooze_button = gr.Button("Snooze", elem_id="snooze-thread")
                        with gr.Row():
                            tags_box = gr.Textbox(
                                label="Tags (comma-separated; search #tag in the inbox)",
                                scale=4, elem_id="tags-box",
                            )  # fmt: skip
                            tags_button = gr.Button("Save tags", scale=1, elem_id="save-tags")
                        with gr.Row():
                            note_box = gr.Textbox(
                                label="Internal note (agents only, never sent)", lines=2,
                                scale=4, elem_id="note-box",
                            )  # fmt: skip
                            note_button = gr.Button("Add note", scale=1, elem_id="add-note")
                        with gr.Row():
                            canned_pick = gr.Dropdown(
                                [c["title"] for c in load_canned(ws.settings.canned_file if ws.settings else None)],
                                label="Canned response", scale=4, elem_id="canned-pick",
                            )  # fmt: skip
                            canned_button = gr.Button("Insert", scale=1, elem_id="canned-insert")
                        with gr.Accordion("Translation for you (LLM)", open=False):
                            with gr.Row():
                                translate_to = gr.Dropdown(
                                    list(LANGUAGES), value="en", label="Into", scale=1,
                                    elem_id="translate-to",
                                )  # fmt: skip
                                translate_button = gr.Button(
                                    "Translate the customer's messages and my reply", scale=3,
                                    elem_id="translate",
                                )  # fmt: skip
                            translation = gr.Markdown(elem_id="translation")
                        with gr.Accordion("Audit trail", open=False):
                            audit = gr.Markdown(elem_id="thread-audit")
            with gr.Tab("Reviews", id="reviews"):
                with gr.Row():
                    pending = gr.Dropdown(
                        label="Pending reviews", choices=[], elem_id="review-pick"
                    )
                    reviews_refresh = gr.Button("Refresh", elem_id="reviews-refresh")
                reviews_note = gr.Markdown()
                description = gr.Markdown(elem_id="review-description")
                review_reply = gr.Textbox(
                    label="Reply (edit it freely)", lines=8, elem_id="review-reply"
                )
                with gr.Accordion("Address (for an address change)", open=False):
                    with gr.Row():
                        street_1 = gr.Textbox(label="Street")
                        street_2 = gr.Textbox(label="Street 2")
                    with gr.Row():
                        zip_code = gr.Textbox(label="Postcode")
                        city = gr.Textbox(label="City")
                        country = gr.Textbox(label="Country (ISO alpha-3)")
                review_message = gr.Textbox(visible=False)
                note = gr.Textbox(label="Note for a new draft", elem_id="review-note")
                with gr.Row():
                    approve_action = gr.Button(
                        "Approve action and send", variant="primary", elem_id="approve-action"
                    )
                    approve_text = gr.Button("Send text only", elem_id="approve-text")
                    redraft = gr.Button("New draft with note", elem_id="review-redraft")
                    ignore = gr.Button("Ignore", variant="stop", elem_id="review-ignore")
                review_result = gr.Markdown(elem_id="review-result")
            with gr.Tab("Needs attention", id="attention"):
                attention_refresh = gr.Button("Refresh", elem_id="attention-refresh")
                attention_table = gr.Dataframe(
                    interactive=False, elem_id="attention-table", wrap=True
                )
                picked_item = gr.JSON(visible=False)  # the clicked row
                with gr.Row():
                    event_id = gr.Textbox(label="Event to retry", elem_id="retry-event")
                    retry_button = gr.Button("Retry", elem_id="retry-button")
                    item_thread = gr.Button("Open its thread", elem_id="attention-open")
                    dismiss_button = gr.Button("Dismiss", elem_id="attention-dismiss")
                    spam_button = gr.Button(
                        "Mark as spam (close the thread)", variant="stop", elem_id="attention-spam"
                    )
                retry_result = gr.Markdown(elem_id="retry-result")
            with gr.Tab("Automation", id="automation"):
                automation_refresh = gr.Button("Refresh", elem_id="automation-refresh")
                figures = gr.Markdown(elem_id="automation-figures")
                with gr.Row():
                    per_day = gr.BarPlot(
                        x="day", y="messages", title="Customer messages per day", x_label_angle=-60
                    )
                    handled = gr.BarPlot(
                        x="handled", y="replies", title="Replies: automated, reviewed, manual"
                    )
                intents_plot = gr.BarPlot(x="intent", y="threads", title="Intents")
                gr.Markdown(
                    "#### Can it be trusted? Per intent, the last 30 days\n\nA customer who "
                    f"writes again within {RECONTACT_H} h of an automatic reply was not helped by "
                    "it; reviewers' answers to the automation's proposals (shadow mode, "
                    "policy refusals) say how often it was right."
                )
                judged_table = gr.Dataframe(interactive=False, elem_id="automation-intents")
                gr.Markdown("#### Latest automatic replies")
                latest_replies = gr.Markdown(elem_id="automation-latest")
                replay = gr.Markdown()

        # fmt: off
        # Public endpoints (named, for API clients and gradio_client) first, then the private
        # triggers of the same functions.
        inbox_inputs = [status, search, overdue, assigned, market]
        thread_outputs = [header, conversation, order, audit, tags_box]
        switching = ([current, reply_box, box_owner], [reply_box, sources, reply_status, box_owner])

        def then_open(event: Any, **api: Any) -> Any:
            """After `event`: note the newest message, then show the thread (in this order: a
            message arriving in between makes a reply be refused, never sent blind)."""
            return event.then(
                prefill_from_review, [current, reply_box, box_owner], [reply_box, box_owner],
                api_visibility="private",
            ).then(mark_seen, current, seen_last, api_visibility="private").then(
                open_thread, current, thread_outputs, **(api or {"api_visibility": "private"})
            ).then(presence_here, [box_owner, reply_box], presence, api_visibility="private").then(
                thread_pictures, current, [pictures, pictures_note], api_visibility="private"
            ).then(
                review_in_thread, current, [review_group, review_here, review_seen],
                api_visibility="private",
            )

        # Each listing comes with where the stored messages stood (for the bulk close).
        listing = [counts, table, listed_upto]
        refresh.click(listed, inbox_inputs, listing, api_visibility="private")
        inbox_api.click(inbox, inbox_inputs, [counts, table], api_name="inbox")
        timer.tick(
            live_inbox, inbox_inputs, [counts, table, waiting, listed_upto],
            api_visibility="private", show_progress="hidden",
        ).then(None, waiting, None, js=TAB_BADGE)
        timer.tick(presence_here, [box_owner, reply_box], presence, api_visibility="private",
                   show_progress="hidden")
        then_open(open_button.click(switch_thread, *switching, api_visibility="private"),
                  api_name="open_thread")
        draft_button.click(generate_draft, current, [reply_box, sources, reply_status], api_name="generate_draft").then(
            _thread_key, current, box_owner, api_visibility="private"  # the draft is this thread's
        )
        then_open(send_button.click(send, [current, reply_box, recipients, box_owner, seen_last], [reply_box, reply_status], api_name="send_reply"))
        then_open(close_button.click(close_here, [current, seen_last], reply_status, api_name="close_thread"))
        then_open(take_button.click(take, current, reply_status, api_name="take_thread"))
        then_open(snooze_button.click(snooze_here, [current, snooze_span], reply_status, api_name="snooze_thread"))
        canned_button.click(insert_canned, [current, canned_pick], [reply_box, reply_status], api_name="insert_canned").then(
            _thread_key, current, box_owner, api_visibility="private"  # the text is this thread's
        )
        then_open(note_button.click(add_internal_note, [current, note_box, box_owner], [note_box, reply_status], api_name="add_note"))
        # A note typed for one thread never follows the agent to another.
        current.change(lambda: "", None, note_box, api_visibility="private")
        then_open(tags_button.click(save_tags, [current, tags_box, box_owner], reply_status, api_name="save_tags"))
        then_open(release_button.click(release, current, reply_status, api_name="release_thread"))
        for trigger in (status.change, overdue.change, search.submit, assigned.change, market.change):
            trigger(listed, inbox_inputs, listing, api_visibility="private")
        then_open(table.select(pick_thread, None, current, api_visibility="private").then(
            switch_thread, *switching, api_visibility="private"
        ))
        then_open(current.submit(switch_thread, *switching, api_visibility="private"))
        reviews_refresh.click(reviews, None, [pending, reviews_note], api_name="reviews")
        review_fields = [description, review_reply, street_1, street_2, zip_code, city, country, review_message]
        pending.change(show_review, pending, review_fields, api_name="show_review").then(
            lambda: "", None, note, api_visibility="private"  # a note belongs to its review
        )
        answer_fields = [review_reply, note, street_1, street_2, zip_code, city, country, review_message]
        for button, kind, with_action, name in (
            (approve_action, "accept", True, "approve_action"),
            (approve_text, "accept", False, "approve_text"),
            (redraft, "response", None, "redraft"),
            (ignore, "ignore", None, "ignore"),
        ):
            button.click(answering(kind, with_action), [pending, *answer_fields], review_result, api_name=name).then(
                reviews, None, [pending, reviews_note], api_visibility="private"
            )
        then_open(approve_here.click(approve_in_thread, [current, reply_box, box_owner, review_seen], [reply_box, reply_status], api_name="approve_in_thread"))
        then_open(ignore_here.click(ignore_in_thread, [current, review_seen], reply_status, api_name="ignore_in_thread"))
        translate_button.click(translate_here, [current, reply_box, translate_to], translation, api_name="translate")
        current.change(lambda: "", None, translation, api_visibility="private")  # its thread's only
        attention_refresh.click(attention, None, attention_table, api_name="attention")
        attention_table.select(pick_attention, None, [event_id, picked_item], api_visibility="private")
        then_open(item_thread.click(attention_thread, picked_item, [tabs, current], api_visibility="private").then(
            switch_thread, *switching, api_visibility="private"
        ))
        for button, handler, name in ((dismiss_button, dismiss, "dismiss"), (spam_button, dismiss_spam, "mark_spam")):
            button.click(handler, picked_item, retry_result, api_name=name).then(
                attention, None, attention_table, api_visibility="private"
            )
        retry_button.click(retry, event_id, retry_result, api_name="retry").then(
            attention, None, attention_table, api_visibility="private"
        )
        automation_outputs = [figures, per_day, handled, intents_plot, replay, judged_table, latest_replies]
        automation_refresh.click(automation, None, automation_outputs, api_name="automation")

        def on_load(request: gr.Request) -> str:
            return f"# csagent — signed in as {md_text(actor(request))}"

        blocks.load(on_load, None, who, api_visibility="private")
        blocks.load(None, None, None, js=SHORTCUTS)
        blocks.load(listed, inbox_inputs, listing, api_visibility="private")
        # In the browser, at once: a click on Close right after the tick finds it taken.
        bulk_read.input(None, [bulk_read, table, listed_upto], bulk_snapshot, js=READ_LISTED)
        bulk_close.click(close_listed, bulk_snapshot, bulk_result, api_name="close_listed").then(
            lambda: {}, None, bulk_snapshot, api_visibility="private"
        ).then(
            lambda: False, None, bulk_read, api_visibility="private"  # ticked again next time
        ).then(listed, inbox_inputs, listing, api_visibility="private")
        blocks.load(reviews, None, [pending, reviews_note], api_visibility="private")
        blocks.load(attention, None, attention_table, api_visibility="private")
        blocks.load(automation, None, automation_outputs, api_visibility="private")
        # fmt: on
    return blocks


# Threads a person should answer, counted in the browser tab's title: "(3) csagent".
WAITING = ("open", "awaiting_approval", "needs_attention")
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
# Keyboard shortcuts (Alt+D draft, Ctrl+Enter send, Alt+R refresh the inbox, / search), and
# asking once whether the browser may show notifications.
SHORTCUTS = """() => {
  if ('Notification' in window && Notification.permission === 'default') {
    Notification.requestPermission();
  }
  const click = (id) => { const b = document.getElementById(id); if (b) b.click(); };
  document.addEventListener('keydown', (e) => {
    const typing = ['INPUT', 'TEXTAREA'].includes(document.activeElement?.tagName);
    if (e.altKey && e.key.toLowerCase() === 'd') { e.preventDefault(); click('generate-draft'); }
    else if (e.ctrlKey && e.key === 'Enter'
             && document.activeElement?.closest('#reply-box')) {
      e.preventDefault(); click('send-reply');
    }
    else if (e.altKey && e.key.toLowerCase() === 'r') { e.preventDefault(); click('inbox-refresh'); }
    else if (e.key === '/' && !typing) {
      e.preventDefault(); document.querySelector('#inbox-search textarea, #inbox-search input')?.focus();
    }
  });
}"""


def _bars(frame: pd.DataFrame, y: str) -> Any:
    """A bar plot's new value with a y axis from zero (equal bars stay visible)."""
    top = max([*frame[y].tolist(), 1])
    return gr.BarPlot(value=frame, y_lim=[0, top * 1.15])


def _thread_key(ref: str | None) -> str:
    """A thread as typed or picked, in one spelling (spaces aside)."""
    return (ref or "").strip()


def _what_to_do(kind: str, event_id: int | None) -> str:
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


def _clock_state(due: datetime | None, overdue: bool, sla_hours: float, now: datetime) -> str:
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


def _clock(due: datetime | None, overdue: bool, sla_hours: float, now: datetime) -> str:
    """The waiting column: how long the customer has waited and the deadline."""
    if due is None:
        return "-"
    waited = _waited(due, sla_hours, now).removeprefix(" · waited ")
    state = _clock_state(due, overdue, sla_hours, now)
    flag = {"overdue": " · overdue", "soon": " · due soon"}.get(state, "")
    return f"waited {waited or 'under a minute'}{flag} · due {_when(due)}"


def _coloured(frame: pd.DataFrame, states: list[str]) -> Any:
    """The inbox with its waiting column coloured by the reply clock."""
    colours = [CLOCK_COLOURS.get(state, "") for state in states]
    return frame.style.apply(lambda _: colours, subset=["waiting"], axis=0)


def _waited(due: datetime | None, sla_hours: float, now: datetime) -> str:
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


PICTURES = 6  # the latest pictures of a thread shown
PICTURE_BYTES = 10_000_000  # larger files are listed, not shown


def _size(size: Any) -> str:
    """An attachment's size as Mirakl gives it (bytes), for people."""
    if not isinstance(size, int | float) or size <= 0:
        return "size unknown"
    if size < 1000:
        return f"{size:.0f} bytes"
    return f"{size / 1_000_000:.1f} MB" if size >= 1_000_000 else f"{size / 1000:.0f} KB"


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _order_markdown(order: dict[str, Any] | None) -> str:
    """The order panel; every field read from Mirakl is escaped (a state, carrier or tracking
    URL is outside text)."""
    if order is None:
        return "### Order\n_No order linked to this thread._"
    read = (
        f"read from Mirakl {_when(order['fetched_at'])}"
        if order["source"] == "mirakl"
        else f"source {md_text(order['source'])}, not read from Mirakl yet"
    )
    lines = [
        f"### Order {md_text(order['order_id'])}",
        f"**{md_text(order['state'] or 'state unknown')}** · {read}",
        f"Placed {_when(order['created'])} · total {md_text(order['total_price'] or '-')} "
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


def mount_dashboard(app: Any, ws: Workspace) -> Any:
    """The dashboard at /ui of the FastAPI app, behind the agents' sign-in."""
    blocks = build_dashboard(ws)
    # Several agents at once: one slow Mirakl read must not hold up everyone's clicks.
    blocks.queue(default_concurrency_limit=8)
    settings = ws.settings or get_settings()
    login = check_login(ws.sessions)
    mounted = gr.mount_gradio_app(
        app,
        blocks,
        path="/ui",
        auth=login,
        auth_message="Sign in with your csagent account (`csagent users add`).",
        ssr_mode=False,
        footer_links=[],
        run_history=False,  # customer text and addresses are not kept in the browser
        show_error=False,  # an unexpected error is "Error" (and logged), never its SQL
    )
    gradio_app: Any = next(r.app for r in app.routes if isinstance(r, Mount) and r.path == "/ui")
    gradio_app.tokens = SessionTokens(
        ws.sessions, settings.dashboard_session_idle_s, settings.dashboard_session_max_s
    )
    # The parent's CORS policy replaces Gradio's (which echoes any Origin, with credentials).
    app.add_middleware(
        CORSMiddleware, allow_origins=settings.cors_allow_origins, allow_credentials=True,
        allow_methods=["*"], allow_headers=["*"],
    )  # fmt: skip
    app.add_middleware(
        DashboardGuard, prefix="/ui", allowed_origins=settings.cors_allow_origins,
        throttle=login.throttle,
    )  # fmt: skip
    return mounted
