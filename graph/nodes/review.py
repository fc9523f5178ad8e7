"""Drafting for a human, and the human review itself (an Agent Inbox–style interrupt)."""

from __future__ import annotations

from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from graph.classify.intents import AUTOMATABLE
from graph.markdown import md_quote, md_text
from graph.review_protocol import (
    ActionRequest,
    InvalidReviewAnswer,
    ReviewAnswer,
    ReviewArgs,
    ReviewConfig,
    ReviewRequest,
    read_review_answer,
)
from graph.services import RunContext, services_of
from graph.state import AgentState, Conversation, marketplace_of
from store.facts import one_line
from store.metrics import stage

# The policy document a request is about, when there is one.
POLICY_FOR_INTENT = {
    "order_status": "shipping",
    "cancellation_request": "cancellations",
    "address_update": "cancellations",
    "return_request": "returns",
    "delivery_issue": "damaged-items",
    "invoice_request": "invoices",
}


def draft(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    conversation: Conversation = state["conversation"]
    note = state.get("note")
    if note:
        # The reviewer's note steers the new draft: the model reads it as an instruction of
        # the agent, and retrieval looks for what it names (in any policy).
        conversation = {
            **conversation,
            "question": f"{conversation['question']}\n\n"
            f"(Agent's instruction for this reply: {note})",
            "search_query": note,
        }
    with stage("draft"):
        result = services_of(runtime).drafting.draft(
            conversation,
            state.get("order"),
            # The message's own vector (from classification): each message is embedded once.
            query_vector=None if note else state.get("vector"),
            doc_type=None if note else POLICY_FOR_INTENT.get(state.get("intent") or ""),
            unverified=state.get("problem"),
            # A reviewer's note steers the new draft instead of the policy's decision.
            intent=None if note else state.get("intent"),
            text=state.get("text"),
            address=dict(address) if (address := state.get("address")) else None,
            marketplace=marketplace_of(state),
        )
    return {
        "draft": {
            "text": result.text,
            "generator": result.generator,
            "sources": [
                {"doc": s.doc, "heading": s.heading, "score": s.score} for s in result.sources
            ],
            "decision": result.decision,
            "flags": result.flags,
            # What the model looked up (name and arguments), for the reviewer to judge.
            "tool_calls": [
                {"name": c.get("name"), "args": c.get("args")} for c in result.tool_calls
            ],
        },
        "reply": result.text,
        "action": "send_reply",
    }


def review_request(state: AgentState) -> ReviewRequest:
    """The Agent Inbox–style request a human answers."""
    order = state.get("order")
    automated = state.get("action") not in (None, "send_reply") or state.get("route") == (
        "order_status"
    )
    lines = [
        f"**Thread** `{state['thread_id']}` — intent **{state.get('intent')}** "
        f"({state.get('confidence') or 0:.2f}, {state.get('classifier')})",
        f"**Why a human:** {md_text(state.get('reason') or 'review')}",
    ]
    if automated and state.get("route") in AUTOMATABLE and not state.get("act_error"):
        lines.append("_Would have been sent automatically (shadow mode)._")
    if state.get("problem"):
        lines.append(f"**Not verified:** {md_text(state.get('problem'))}")
    shown = state.get("draft")
    flags = (shown.get("flags") if shown else None) or []
    if flags:
        lines.append(
            "**Check the draft before sending — it states what the facts do not:** "
            + "; ".join(md_text(f) for f in flags)
        )
    if order:
        tracking = (
            f", {md_text(order.get('carrier'))} {md_text(order['tracking_number'])}"
            if order.get("tracking_number")
            else ""
        )
        lines.append(
            f"**Order** {md_text(order['order_id'])} (read from Mirakl at "
            f"{md_text((order.get('fetched_at') or '?')[:19])}Z): "
            f"{md_text(order.get('state'))}, shipment "
            f"{md_text(order.get('shipment_status') or '-')}{tracking}"
        )
    proposal = state.get("proposal")
    if proposal and proposal != state.get("action"):
        lines.append(
            f"**Proposed action, refused by policy:** {ACTION_NAMES[proposal]} — a reviewer may "
            'still approve it: `{"type": "accept", "args": {"with_action": true}}`'
            + (
                " (with the address, corrected if need be, in `args.address`)"
                if proposal == "update_address"
                else ""
            )
        )
        if state.get("proposal_reply"):
            lines.append(
                "**If approved, the customer is told:**\n"
                + md_quote(state.get("proposal_reply") or "")
            )
    lines.append(f"**Customer wrote:**\n{md_quote(state['text'])}")
    args = ReviewArgs(
        reply=state.get("reply") or "",
        address=dict(address) if (address := state.get("address")) else None,
        proposal=proposal or None,
        proposal_reply=state.get("proposal_reply") or None,
    )
    return ReviewRequest(
        action_request=ActionRequest(action=state.get("action") or "send_reply", args=args),
        config=ReviewConfig(allow_accept=bool(state.get("reply"))),
        description="\n\n".join(lines),
        draft=dict(shown) if shown else None,
    )


ACTION_NAMES = {
    "send_reply": "send the reply",
    "cancel_order": "cancel the whole order on Mirakl",
    "cancel_lines": "cancel the order's lines on Mirakl (refunding the customer)",
    "update_address": "change the delivery address through the warehouse",
}


def check_answer_allowed(answer: ReviewAnswer, state: AgentState) -> None:
    """Refuse answers that would send something untrue: accepting with no draft, or sending the
    confirmation of an action without carrying the action out."""
    if answer.decision == "accepted" and not state.get("reply"):
        raise InvalidReviewAnswer("there is no draft to accept: edit it or respond")
    confirms_action = (state.get("action") or "send_reply") != "send_reply"
    if answer.decision == "accepted" and answer.with_action is False and confirms_action:
        raise InvalidReviewAnswer(
            "this reply confirms the action; to send text without the action, edit the text"
        )


def human_review(state: AgentState) -> dict[str, Any]:
    """Ask a human; an answer that cannot be used asks again (never fails the paused run)."""
    try:
        # The request goes out in Agent Inbox's shape; the answer comes back in any shape
        # read_review_answer takes (csagent's API and dashboard resume with a ReviewAnswer).
        answer = read_review_answer(interrupt(review_request(state).model_dump()))
        check_answer_allowed(answer, state)
    except InvalidReviewAnswer as exc:
        return {"decision": None, "reason": f"the previous answer was not usable: {exc}"}
    return review_update(answer, state)


def review_update(answer: ReviewAnswer, state: AgentState) -> dict[str, Any]:
    """What a reviewer's answer changes in the state (the human_review node's update): the text,
    and which action is carried out (the proposed one when approved, the text alone when
    declined, else what was decided)."""
    update: dict[str, Any] = {"decision": answer.decision, "reviewer": answer.reviewer}
    if answer.to is not None:
        update["reply_to"] = list(answer.to)
    if answer.with_action is True:
        update["action"] = state.get("proposal") or state.get("action") or "send_reply"
        if answer.decision == "accepted" and state.get("proposal_reply"):
            update["reply"] = state.get("proposal_reply")  # the confirmation of the action
    if answer.address is not None and answer.decision == "accepted":
        # The confirmation names the address actually sent to the warehouse.
        old, new = state.get("address"), answer.address
        reply = update.get("reply") or state.get("reply") or ""
        if old and one_line(old) in reply:
            update["reply"] = reply.replace(one_line(old), one_line(new))
    elif answer.with_action is False:
        update["action"] = "send_reply"
    if answer.address is not None:
        update["address"] = answer.address
    if answer.decision == "edited":
        update["reply"] = answer.reply
    elif answer.decision == "responded":
        update["note"] = answer.note
    elif answer.decision == "ignored":
        update["reply"] = None
    if answer.decision in ("edited", "responded", "ignored"):
        # The reviewer's own text is sent, not csagent's question: no yes is awaited after it.
        update["confirm"] = None
    settled = state.get("settle")
    if settled and settled.get("status") == "confirmed" and update.get("action") == "send_reply":
        update["settle"] = {**settled, "outcome": "the customer said yes; a reviewer answered "
                            "without carrying it out"}  # fmt: skip
    return update


def after_review(state: AgentState) -> Literal["draft", "act", "close", "human_review"]:
    decision = state.get("decision")
    if decision is None:
        return "human_review"
    if decision == "responded":
        return "draft"
    if decision == "ignored":
        return "close"
    return "act"
