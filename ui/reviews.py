"""The Reviews tab: pending reviews, one at a time, answered as Agent Inbox answers them."""

from __future__ import annotations

from typing import Any

import gradio as gr

from graph.markdown import md_text
from graph.nodes.actions import ActionFailed
from graph.processor import StaleReview
from graph.review_protocol import InvalidReviewAnswer, read_review_answer
from store.threads import (
    ThreadRef,
    thread_key,
    threads_awaiting_review,
)
from tools.mirakl.errors import MiraklError
from ui.formatting import (
    ref_key,
)
from ui.workspace import Workspace, actor, on, parse_ref


def reviews(ws: Workspace, request: gr.Request) -> tuple[Any, str]:
    actor(ws, request)
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
    ws: Workspace, ref: str | None, request: gr.Request
) -> tuple[str, str, str, str, str, str, str, str]:
    actor(ws, request)
    empty = ("", "", "", "", "", "", "", "")
    thread_id, marketplace = parse_ref(ref or "", ws.settings)
    if not thread_id or ws.agent is None:
        return ("_No review selected._", *empty[1:])
    found = ws.agent.pending_review(ThreadRef(thread_id, marketplace))
    if found is None:
        return ("_This review is no longer pending._", *empty[1:])
    pending = found.request
    args = pending.action_request.args
    address = args.address or {}
    done = pending.action_request.done
    what = (
        f"**Action if approved:** `{done}`"
        if done != "send_reply"
        else "**Text only** (no action proposed)"
    )
    return (
        pending.description + "\n\n" + what,
        args.reply,
        str(address.get("street_1") or ""),
        str(address.get("street_2") or ""),
        str(address.get("zip_code") or ""),
        str(address.get("city") or ""),
        str(address.get("country") or ""),
        found.message_id or "",
    )


def answer(
    ws: Workspace, thread_id: str | None, kind: str, with_action: bool | None, reply: str,
    note: str, street_1: str, street_2: str, zip_code: str, city: str, country: str,
    message_id: str, request: gr.Request,
) -> str:  # fmt: skip
    reply, note = reply or "", note or ""
    ref = thread_id or ""
    thread_id, marketplace = parse_ref(ref, ws.settings)
    if not thread_id or ws.agent is None:
        return "Pick a review first."
    found = ws.agent.pending_review(ThreadRef(thread_id, marketplace))
    if found is None:
        return "This review is no longer pending: refresh the list."
    args: dict[str, Any] = {}
    original = found.request.action_request.args
    if kind in ("accept", "edit"):
        if with_action is not None:
            args["with_action"] = with_action
        if street_1 and (original.address or original.proposal):
            base = dict(original.address or {})
            base.update(street_1=street_1, street_2=street_2 or None, zip_code=zip_code,
                        city=city, country=country or base.get("country"))  # fmt: skip
            args["address"] = base
        if reply.strip() != original.reply.strip():
            if with_action and original.proposal_reply:
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
    payload = {
        "type": kind, "args": args or None, "reviewer": actor(ws, request),
        "message_id": message_id or None,
    }  # fmt: skip
    try:
        parsed = read_review_answer(payload)  # the dashboard's answer, read as the API's is
        with ws.sessions.begin() as session:
            outcome = ws.agent.resume(session, ThreadRef(thread_id, marketplace), parsed)
    except (StaleReview, InvalidReviewAnswer, LookupError) as exc:
        return f"**{md_text(str(exc))}**"
    except (MiraklError, ActionFailed) as exc:
        message = getattr(exc, "message", None) or str(exc)
        return f"**Not carried out:** {md_text(message)}. The review is still pending."
    actions = ", ".join(outcome.detail.get("actions") or []) or "none"
    # Which thread it was about: the next review shows up under this line.
    return f"Done: {outcome.status} (actions: {actions}) · thread `{md_text(ref_key(ref))}`"


def answering(ws: Workspace, kind: str, with_action: bool | None) -> Any:
    def handler(
        thread_id: str | None, reply: str, note: str, street_1: str, street_2: str,
        zip_code: str, city: str, country: str, message_id: str, request: gr.Request,
    ) -> str:  # fmt: skip
        return answer(
            ws, thread_id, kind, with_action, reply, note, street_1, street_2, zip_code, city,
            country, message_id, request,
        )  # fmt: skip

    return handler


class ReviewsTab:
    """The Reviews tab, laid out where it is created."""

    def __init__(self) -> None:
        with gr.Row():
            self.pending = gr.Dropdown(label="Pending reviews", choices=[], elem_id="review-pick")
            self.refresh = gr.Button("Refresh", elem_id="reviews-refresh")
        self.note_shown = gr.Markdown()
        self.description = gr.Markdown(elem_id="review-description")
        self.reply = gr.Textbox(label="Reply (edit it freely)", lines=8, elem_id="review-reply")
        with gr.Accordion("Address (for an address change)", open=False):
            with gr.Row():
                self.street_1 = gr.Textbox(label="Street")
                self.street_2 = gr.Textbox(label="Street 2")
            with gr.Row():
                self.zip_code = gr.Textbox(label="Postcode")
                self.city = gr.Textbox(label="City")
                self.country = gr.Textbox(label="Country (ISO alpha-3)")
        self.message = gr.Textbox(visible=False)
        self.note = gr.Textbox(label="Note for a new draft", elem_id="review-note")
        with gr.Row():
            self.approve_action = gr.Button(
                "Approve action and send", variant="primary", elem_id="approve-action"
            )
            self.approve_text = gr.Button("Send text only", elem_id="approve-text")
            self.redraft = gr.Button("New draft with note", elem_id="review-redraft")
            self.ignore = gr.Button("Ignore", variant="stop", elem_id="review-ignore")
        self.result = gr.Markdown(elem_id="review-result")

    def wire(self, ws: Workspace) -> None:
        listed = [self.pending, self.note_shown]
        address = [self.street_1, self.street_2, self.zip_code, self.city, self.country]
        self.refresh.click(on(ws, reviews), None, listed, api_name="reviews")
        shown = [self.description, self.reply, *address, self.message]
        self.pending.change(on(ws, show_review), self.pending, shown, api_name="show_review").then(
            lambda: "",
            None,
            self.note,
            api_visibility="private",  # a note belongs to its review
        )
        answered = [self.reply, self.note, *address, self.message]
        for button, kind, with_action, name in (
            (self.approve_action, "accept", True, "approve_action"),
            (self.approve_text, "accept", False, "approve_text"),
            (self.redraft, "response", None, "redraft"),
            (self.ignore, "ignore", None, "ignore"),
        ):
            button.click(
                answering(ws, kind, with_action), [self.pending, *answered], self.result,
                api_name=name,
            ).then(on(ws, reviews), None, listed, api_visibility="private")  # fmt: skip
