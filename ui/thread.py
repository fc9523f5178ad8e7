"""The thread an agent opened: its messages, order, audit trail, who else is on it, the
customer's pictures, a translation for the agent; and whose reply the box holds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from io import BytesIO
from typing import Any

import gradio as gr
from PIL import Image

from graph.markdown import md_quote, md_text
from graph.nodes.review import ACTION_NAMES
from graph.translate import LANGUAGES, TranslationUnavailable, translate
from graph.verify import OrderReading, record_reading, thread_orders
from knowledge.canned import load_canned
from knowledge.language import detect_language
from store.inbox import (
    thread_detail,
)
from store.threads import (
    is_image,
    keep_reply_draft,
    kept_reply_draft,
    latest_message_id,
    mark_read_by_agents,
    note_presence,
    presence_of,
    thread_pk_of,
)
from tools.mirakl.client import MiraklClient
from tools.mirakl.errors import MiraklError
from ui.formatting import (
    BY_LABELS,
    STATUS_LABELS,
    confirmation_line,
    order_markdown,
    ref_key,
    size_text,
    when,
)
from ui.inbox import pick_thread
from ui.workspace import Workspace, actor, keep_draft, on, parse_ref, pending_here

# Who a reply goes to on Mirakl (M12 `to`): shown name -> recipient type.
RECIPIENT_CHOICES = {"Customer": "CUSTOMER", "Marketplace operator": "OPERATOR"}
SNOOZE_FOR = {"4 hours": 4, "1 day": 24, "3 days": 72}
PICTURES = 6  # the latest pictures of a thread shown
PICTURE_BYTES = 10_000_000  # larger files are listed, not shown


def mark_seen(ws: Workspace, ref: str) -> str:
    """The newest message of the thread about to be shown (read before it is shown: a
    message arriving meanwhile makes a reply be refused, never sent blind)."""
    thread_id, marketplace = parse_ref(ref, ws.settings)
    if not thread_id:
        return ""
    with ws.sessions() as session:
        return latest_message_id(session, thread_id, marketplace) or ""


def switch_thread(
    ws: Workspace, ref: str, text: str, owner: str, request: gr.Request
) -> tuple[str, str, str, str]:
    """Everything typed belongs to its thread: on opening another thread, the reply being
    written is kept on the server for the thread it was written for (and given back when
    that thread is opened again, after a reload too); the draft's sources and the last
    "sent" line are cleared. Returns (reply box, sources, status, whose text the box holds)."""
    key = ref_key(ref)
    if key == owner:
        return text, gr.skip(), gr.skip(), owner  # type: ignore[return-value]
    me = actor(ws, request)
    restored = ""
    with ws.sessions.begin() as session:
        if owner:
            keep_draft(ws, session, owner, me, text)
        thread_id, marketplace = parse_ref(ref, ws.settings)
        if thread_id:
            restored = kept_reply_draft(session, thread_id, me, marketplace=marketplace)
    note = "Your unsent reply to this thread is back." if restored else ""
    return restored, "", note, key


def presence_here(ws: Workspace, opened: str, text: str, request: gr.Request) -> str:
    """Says the agent is on the thread they opened (writing a reply when the box holds their
    text for it) and shows who else is: two agents never answer a customer unawares."""
    thread_id, marketplace = parse_ref(opened, ws.settings)
    if not thread_id:
        return ""
    me = actor(ws, request)
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


def open_thread(ws: Workspace, ref: str, request: gr.Request) -> tuple[str, str, str, str, str]:
    actor(ws, request)
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
        + f" · reply due {when(detail.sla_due_at)}"
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
            f"- {md_text(n.author)}, {when(n.created_at)}: {md_text(n.body)}"
            for n in detail.notes
        ))  # fmt: skip
    messages = []
    for m in detail.messages:
        flag = " · **unverified by Mirakl**" if m.verification == "unverified" else ""
        files = "".join(
            f"\n\n📎 {md_text(str(a.get('name') or 'file'))} ({size_text(a.get('size'))})"
            for a in m.attachments
        )
        messages.append(
            f"**{BY_LABELS.get(m.by, m.by)}** {md_text(m.author or '')} · "
            f"{when(m.created_at)}{flag}\n\n{md_quote(m.body)}{files}"
        )
    audit = "\n".join(
        f"- {when(a.at)} · {a.actor_type} {md_text(a.actor or '')} · `{a.action}` → {a.outcome}"
        + (f" ({md_text(a.detail[:160])})" if a.detail else "")
        for a in detail.audit
    )
    order_md = order_markdown(detail.order)
    if reading.problem:
        order_md += f"\n\n> **Not read from Mirakl now:** {md_text(reading.problem)}"
    return (
        "\n\n".join(header),
        "\n\n---\n\n".join(messages) or "_no messages_",
        order_md,
        audit or "_nothing recorded yet_",
        ", ".join(detail.tags),
    )


def translate_here(ws: Workspace, ref: str, text: str, target: str, request: gr.Request) -> str:
    """The customer's latest messages and the reply being written, in the agent's language
    (machine translation with the configured LLM; for the agent only, never sent)."""
    actor(ws, request)
    thread_id, marketplace = parse_ref(ref, ws.settings)
    with ws.sessions() as session:
        detail = thread_detail(session, thread_id, marketplace=marketplace) if thread_id else None
    if detail is None:
        return "Open a thread first."
    parts = [
        (f"Customer, {when(m.created_at)}", m.body)
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


def thread_pictures(ws: Workspace, ref: str, request: gr.Request) -> tuple[Any, str]:
    """The pictures the customer attached (the latest PICTURES), downloaded from Mirakl (M13)
    when the thread is shown. (gallery, what could not be shown)"""
    actor(ws, request)
    thread_id, marketplace = parse_ref(ref, ws.settings)
    with ws.sessions() as session:
        detail = thread_detail(session, thread_id, marketplace=marketplace) if thread_id else None
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


def prefill_from_review(ws: Workspace, ref: str, text: str, owner: str) -> tuple[str, str]:
    """A thread whose pending review is a draft only: the draft goes in the reply box when
    that holds nothing of the agent's for this thread. Done before the thread is shown, so
    that a draft the agent then asks for is never overwritten. (reply box, box owner)"""
    found = pending_here(ws, ref)
    key = ref_key(ref)
    if found is None or ((text or "").strip() and owner == key):
        return gr.skip(), gr.skip()  # type: ignore[return-value]
    if found.request.action_request.done != "send_reply":
        return gr.skip(), gr.skip()  # type: ignore[return-value]  # the box stays the agent's
    return found.request.action_request.args.reply, key


def review_in_thread(ws: Workspace, ref: str, request: gr.Request) -> tuple[Any, str, str]:
    """The open thread's pending review, where the agent works. A proposed action: what is
    done and, quoted, exactly the text Approve sends with it (the reply box stays the
    agent's: Send sends it without the action). A draft only: Approve or Send sends the
    reply box (where prefill_from_review put the draft). (group, description, review's
    message)"""
    actor(ws, request)
    found = pending_here(ws, ref)
    if found is None:
        return gr.update(visible=False), "", ""
    args = found.request.action_request.args
    done = found.request.action_request.done
    message = found.message_id or ""
    head = "#### A review is pending on this thread\n\n" + found.request.description
    if done != "send_reply":
        sent = args.proposal_reply if args.proposal else args.reply
        what = (
            f"**Approve and send** will {ACTION_NAMES.get(done, md_text(done))}, then send "
            "exactly:\n"
            + md_quote(sent or "")
            + "\n\n**Send** sends the Reply box's text alone, without the action."
        )
    else:
        what = "**Approve and send** sends the Reply box's text below (the draft; edit it first)."
    return gr.update(visible=True), f"{head}\n\n{what}", message


class ThreadPane:
    """The open thread, on the right of the inbox, laid out where it is created; the reply
    area's buttons are wired in ui.reply."""

    def __init__(self, ws: Workspace) -> None:
        # Per browser session: whose thread the reply box's text is (the replies being written
        # are kept on the server, per thread and agent).
        self.box_owner = gr.State("")
        self.seen_last = gr.State("")  # the newest message of the thread as it was last shown
        self.review_seen = gr.State("")  # the message of the review shown in the thread
        with gr.Row():
            self.current = gr.Textbox(
                label="Thread", placeholder="click a row, or type a thread id",
                elem_id="thread-id", scale=4,
            )  # fmt: skip
            self.open_button = gr.Button("Open / refresh thread", elem_id="thread-open", scale=1)
        self.header = gr.Markdown(elem_id="thread-header")
        self.presence = gr.Markdown(elem_id="thread-presence")
        with gr.Group(visible=False) as self.review_group:
            self.review_here = gr.Markdown(elem_id="thread-review")
            with gr.Row():
                self.approve_here = gr.Button(
                    "Approve and send", variant="primary", elem_id="thread-approve"
                )
                self.ignore_here = gr.Button("Ignore review", elem_id="thread-ignore")
        with gr.Accordion("Order and shipping", open=True):
            self.order = gr.Markdown(elem_id="thread-order")
        self.pictures = gr.Gallery(
            label="Pictures the customer sent (from Mirakl)", visible=False,
            elem_id="thread-pictures", columns=3, height=260,
        )  # fmt: skip
        self.pictures_note = gr.Markdown(elem_id="thread-pictures-note")
        self.conversation = gr.Markdown(elem_id="thread-messages", max_height=520)
        self._reply_area()
        self._thread_tools(ws)
        with gr.Accordion("Translation for you (LLM)", open=False):
            with gr.Row():
                self.translate_to = gr.Dropdown(
                    list(LANGUAGES), value="en", label="Into", scale=1, elem_id="translate-to"
                )
                self.translate_button = gr.Button(
                    "Translate the customer's messages and my reply", scale=3,
                    elem_id="translate",
                )  # fmt: skip
            self.translation = gr.Markdown(elem_id="translation")
        with gr.Accordion("Audit trail", open=False):
            self.audit = gr.Markdown(elem_id="thread-audit")

    def _reply_area(self) -> None:
        self.reply_box = gr.Textbox(label="Reply", lines=8, elem_id="reply-box")
        self.recipients = gr.CheckboxGroup(
            list(RECIPIENT_CHOICES), value=["Customer"], label="Send to", elem_id="reply-to"
        )
        with gr.Row():
            self.draft_button = gr.Button("Generate draft (Alt+D)", elem_id="generate-draft")
            self.send_button = gr.Button(
                "Send (Ctrl+Enter)", variant="primary", elem_id="send-reply"
            )
            self.close_button = gr.Button(
                "Close: no reply needed", variant="secondary", elem_id="close-thread"
            )
        self.reply_status = gr.Markdown(elem_id="reply-status")
        self.sources = gr.Markdown(elem_id="draft-sources")

    def _thread_tools(self, ws: Workspace) -> None:
        """Who has the thread, its tags, notes for the team, canned responses."""
        with gr.Row():
            self.take_button = gr.Button("Take", elem_id="take-thread")
            self.release_button = gr.Button("Release", elem_id="release-thread")
            self.snooze_span = gr.Dropdown(
                list(SNOOZE_FOR), value="1 day", label="Snooze for", elem_id="snooze-for"
            )
            self.snooze_button = gr.Button("Snooze", elem_id="snooze-thread")
        with gr.Row():
            self.tags_box = gr.Textbox(
                label="Tags (comma-separated; search #tag in the inbox)", scale=4,
                elem_id="tags-box",
            )  # fmt: skip
            self.tags_button = gr.Button("Save tags", scale=1, elem_id="save-tags")
        with gr.Row():
            self.note_box = gr.Textbox(
                label="Internal note (agents only, never sent)", lines=2, scale=4,
                elem_id="note-box",
            )  # fmt: skip
            self.note_button = gr.Button("Add note", scale=1, elem_id="add-note")
        with gr.Row():
            canned = load_canned(ws.settings.canned_file if ws.settings else None)
            self.canned_pick = gr.Dropdown(
                [c["title"] for c in canned], label="Canned response", scale=4,
                elem_id="canned-pick",
            )  # fmt: skip
            self.canned_button = gr.Button("Insert", scale=1, elem_id="canned-insert")

    @property
    def switching(self) -> tuple[list[Any], list[Any]]:
        """switch_thread's inputs and outputs."""
        return (
            [self.current, self.reply_box, self.box_owner],
            [self.reply_box, self.sources, self.reply_status, self.box_owner],
        )

    def then_open(self, ws: Workspace, event: Any, **api: Any) -> Any:
        """After `event`: note the newest message, then show the thread (in this order: a
        message arriving in between makes a reply be refused, never sent blind)."""
        private: dict[str, Any] = {"api_visibility": "private"}
        shown = [self.header, self.conversation, self.order, self.audit, self.tags_box]
        return (
            event.then(
                on(ws, prefill_from_review),
                [self.current, self.reply_box, self.box_owner],
                [self.reply_box, self.box_owner],
                **private,
            )  # fmt: skip
            .then(on(ws, mark_seen), self.current, self.seen_last, **private)
            .then(on(ws, open_thread), self.current, shown, **(api or private))
            .then(on(ws, presence_here), [self.box_owner, self.reply_box], self.presence, **private)
            .then(
                on(ws, thread_pictures),
                self.current,
                [self.pictures, self.pictures_note],
                **private,
            )  # fmt: skip
            .then(
                on(ws, review_in_thread),
                self.current,
                [self.review_group, self.review_here, self.review_seen],
                **private,
            )  # fmt: skip
        )

    def wire(self, ws: Workspace, inbox_table: Any) -> None:
        """Opening a thread (a click in the inbox, the button, Enter), who is on it, and its
        translation."""
        # fmt: off
        self.then_open(ws, self.open_button.click(on(ws, switch_thread), *self.switching, api_visibility="private"),
                       api_name="open_thread")
        self.then_open(ws, inbox_table.select(pick_thread, None, self.current, api_visibility="private").then(
            on(ws, switch_thread), *self.switching, api_visibility="private"
        ))
        self.then_open(ws, self.current.submit(on(ws, switch_thread), *self.switching, api_visibility="private"))
        # A note typed for one thread never follows the agent to another.
        self.current.change(lambda: "", None, self.note_box, api_visibility="private")
        self.translate_button.click(
            on(ws, translate_here), [self.current, self.reply_box, self.translate_to], self.translation,
            api_name="translate",
        )
        self.current.change(lambda: "", None, self.translation, api_visibility="private")  # its thread's only
        # fmt: on
