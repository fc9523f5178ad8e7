"""What an agent does on the open thread: draft, send, canned responses, notes, tags, take,
snooze, close, and the thread's pending review."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import gradio as gr

from graph.markdown import md_text
from graph.nodes.actions import ActionFailed
from graph.review_protocol import InvalidReviewAnswer
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
from store.inbox import (
    thread_detail,
)
from store.settings import get_settings
from store.threads import (
    add_note,
    clean_tag,
)
from tools.mirakl.errors import MiraklError
from ui.formatting import (
    ref_key,
    when,
)
from ui.reviews import answer
from ui.thread import RECIPIENT_CHOICES, SNOOZE_FOR, ThreadPane
from ui.workspace import Workspace, actor, keep_draft, on, parse_ref, pending_here


def generate_draft(ws: Workspace, ref: str, request: gr.Request) -> tuple[str, str, str]:
    actor(ws, request)
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
    sources = "\n".join(f"- {s.doc} — {md_text(s.heading)} ({s.score:.2f})" for s in draft.sources)
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
    ws: Workspace,
    ref: str,
    text: str,
    recipients: list[str],
    owner: str,
    seen: str,
    request: gr.Request,
) -> tuple[str, str]:
    """Returns (reply box, status): the box is emptied only once Mirakl took the reply. A
    text written for another thread than the one shown is never sent to this one."""
    thread_id, marketplace = parse_ref(ref, ws.settings)
    if not thread_id or not (text or "").strip():
        return text, "Pick a thread and write a reply first."
    if owner and owner != ref_key(ref):
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
                agent=ws.agent, thread_id=thread_id, text=text, actor=actor(ws, request),
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
        keep_draft(ws, session, ref, actor(ws, request), "")
    how = "answered the pending review" if sent.via_review else "sent on Mirakl"
    return "", f"Reply {how}."


def insert_canned(ws: Workspace, ref: str, title: str, request: gr.Request) -> tuple[str, str]:
    """(reply box, status): the chosen canned response, filled for the open thread."""
    actor(ws, request)
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


def add_internal_note(
    ws: Workspace, ref: str, text: str, opened: str, request: gr.Request
) -> tuple[str, str]:
    """(note box, status): a note for the other agents on the open thread, never sent."""
    thread_id, marketplace = parse_ref(ref, ws.settings)
    if not thread_id or not (text or "").strip():
        return text, "Pick a thread and write a note first."
    if opened and opened != ref_key(ref):
        return text, "**Note not added:** open the thread it is for first."
    try:
        with ws.sessions.begin() as session:
            add_note(session, thread_id, actor(ws, request), text.strip(), marketplace=marketplace)
    except LookupError as exc:
        return text, f"**Note not added:** {md_text(str(exc))}"
    return "", "Note added (agents only: it is never sent to the customer)."


def save_tags(ws: Workspace, ref: str, text: str, opened: str, request: gr.Request) -> str:
    """The open thread's tags become the box's (comma-separated), for the whole team."""
    thread_id, marketplace = parse_ref(ref, ws.settings)
    if not thread_id:
        return "Pick a thread first."
    if opened and opened != ref_key(ref):
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
                remove=[t for t in detail.tags if t not in keep], actor=actor(ws, request),
                marketplace=marketplace,
            )  # fmt: skip
    except ValueError as exc:
        return f"**Tags not saved:** {md_text(str(exc))}"
    return "Tags saved: " + (" ".join(f"#{t}" for t in now) or "none") + "."


def take(ws: Workspace, ref: str, request: gr.Request, release: bool = False) -> str:
    """The open thread becomes the agent's (or nobody's), for the whole team to see."""
    thread_id, marketplace = parse_ref(ref, ws.settings)
    if not thread_id:
        return "Pick a thread first."
    me = actor(ws, request)
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


def release(ws: Workspace, ref: str, request: gr.Request) -> str:
    return take(ws, ref, request, release=True)


def snooze_here(ws: Workspace, ref: str, span: str, request: gr.Request) -> str:
    """Put the open thread aside; it comes back then, or when the customer writes."""
    thread_id, marketplace = parse_ref(ref, ws.settings)
    if not thread_id or span not in SNOOZE_FOR:
        return "Pick a thread and how long to snooze it."
    until = datetime.now(UTC) + timedelta(hours=SNOOZE_FOR[span])
    try:
        with ws.sessions.begin() as session:
            snooze_by_agent(
                session, thread_id=thread_id, until=until, actor=actor(ws, request),
                marketplace=marketplace,
            )  # fmt: skip
    except LookupError as exc:
        return f"**Not snoozed:** {md_text(str(exc))}"
    return (
        f"Snoozed until {when(until)}: out of the inbox until then, or until the customer "
        "writes (see Assigned: Snoozed)."
    )


def close_here(ws: Workspace, ref: str, seen: str, request: gr.Request) -> str:
    """Leave the open thread without a reply (nothing goes to Mirakl), under the agent's
    name; a pending review is ignored, a question to the customer no longer awaited."""
    thread_id, marketplace = parse_ref(ref, ws.settings)
    if not thread_id:
        return "Pick a thread first."
    try:
        with ws.sessions.begin() as session:
            via_review = close_by_agent(
                session, sessions=ws.sessions, agent=ws.agent, thread_id=thread_id,
                actor=actor(ws, request), reason="no_reply_needed", marketplace=marketplace,
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


def approve_in_thread(
    ws: Workspace, ref: str, text: str, owner: str, review_message: str, request: gr.Request
) -> tuple[str, str]:
    """Approve the open thread's review: a proposed action with the text quoted above the
    button, or a draft as the reply box holds it. (reply box, status)"""
    found = pending_here(ws, ref)
    if found is None:
        return text, "This review is no longer pending."
    if found.request.action_request.done != "send_reply":
        # The text shown with the action, as proposed; the agent's box is left alone.
        original = found.request.action_request.args.reply
        result = answer(ws, ref, "accept", True, original, "", "", "", "", "", "", review_message, request)  # fmt: skip
        return text, result
    if owner and owner != ref_key(ref):
        return text, "**Not approved:** the reply box holds a text for another thread."
    result = answer(ws, ref, "accept", None, text, "", "", "", "", "", "", review_message, request)  # fmt: skip
    if not result.startswith("Done"):
        return text, result
    with ws.sessions.begin() as session:
        keep_draft(ws, session, ref, actor(ws, request), "")
    return "", result


def ignore_in_thread(ws: Workspace, ref: str, review_message: str, request: gr.Request) -> str:
    return answer(ws, ref, "ignore", None, "", "", "", "", "", "", "", review_message, request)


def wire_reply(ws: Workspace, pane: ThreadPane) -> None:
    """The open thread's buttons. Each shows the thread again after it acted (then_open)."""
    p = pane
    # fmt: off
    p.draft_button.click(on(ws, generate_draft), p.current, [p.reply_box, p.sources, p.reply_status], api_name="generate_draft").then(
        ref_key, p.current, p.box_owner, api_visibility="private"  # the draft is this thread's
    )
    p.then_open(ws, p.send_button.click(on(ws, send), [p.current, p.reply_box, p.recipients, p.box_owner, p.seen_last], [p.reply_box, p.reply_status], api_name="send_reply"))
    p.then_open(ws, p.close_button.click(on(ws, close_here), [p.current, p.seen_last], p.reply_status, api_name="close_thread"))
    p.then_open(ws, p.take_button.click(on(ws, take), p.current, p.reply_status, api_name="take_thread"))
    p.then_open(ws, p.snooze_button.click(on(ws, snooze_here), [p.current, p.snooze_span], p.reply_status, api_name="snooze_thread"))
    p.canned_button.click(on(ws, insert_canned), [p.current, p.canned_pick], [p.reply_box, p.reply_status], api_name="insert_canned").then(
        ref_key, p.current, p.box_owner, api_visibility="private"  # the text is this thread's
    )
    p.then_open(ws, p.note_button.click(on(ws, add_internal_note), [p.current, p.note_box, p.box_owner], [p.note_box, p.reply_status], api_name="add_note"))
    p.then_open(ws, p.tags_button.click(on(ws, save_tags), [p.current, p.tags_box, p.box_owner], p.reply_status, api_name="save_tags"))
    p.then_open(ws, p.release_button.click(on(ws, release), p.current, p.reply_status, api_name="release_thread"))
    p.then_open(ws, p.approve_here.click(on(ws, approve_in_thread), [p.current, p.reply_box, p.box_owner, p.review_seen], [p.reply_box, p.reply_status], api_name="approve_in_thread"))
    p.then_open(ws, p.ignore_here.click(on(ws, ignore_in_thread), [p.current, p.review_seen], p.reply_status, api_name="ignore_in_thread"))
    # fmt: on
