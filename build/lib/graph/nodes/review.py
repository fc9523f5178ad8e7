"""Drafting for a human, and the human review itself (an Agent Inbox–style interrupt)."""

from __future__ import annotations

from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from graph.classify.intents import AUTOMATABLE
from graph.services import RunContext, services_of
from graph.state import AgentState, Conversation
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
        )
    return {
        "draft": {
            "text": result.text,
            "generator": result.generator,
            "sources": [
                {"doc": s.doc, "heading": s.heading, "score": s.score} for s in result.sources
            ],
        },
        "reply": result.text,
        "action": "send_reply",
    }


def review_request(state: AgentState) -> dict[str, Any]:
    """The Agent Inbox–style request a human answers."""
    order = state.get("order")
    automated = state.get("action") not in (None, "send_reply") or state.get("route") == (
        "order_status"
    )
    lines = [
        f"**Thread** `{state['thread_id']}` — intent **{state.get('intent')}** "
        f"({state.get('confidence') or 0:.2f}, {state.get('classifier')})",
        f"**Why a human:** {state.get('reason') or 'review'}",
    ]
    if automated and state.get("route") in AUTOMATABLE:
        lines.append("_Would have been sent automatically (shadow mode)._")
    if order:
        tracking = (
            f", {order['carrier']} {order['tracking_number']}" if order["tracking_number"] else ""
        )
        lines.append(
            f"**Order** {order['order_id']}: {order['state']}, "
            f"shipment {order['shipment_status'] or '-'}{tracking}"
        )
    lines.append(f"**Customer wrote:**\n> {state['text']}")
    address = state.get("address")
    return {
        "action_request": {
            "action": state.get("action") or "send_reply",
            "args": {
                "reply": state.get("reply") or "",
                **({"address": address} if address else {}),
            },
        },
        "config": {
            "allow_accept": bool(state.get("reply")),
            "allow_edit": True,
            "allow_respond": True,
            "allow_ignore": True,
        },
        "description": "\n\n".join(lines),
        "draft": state.get("draft"),
    }


def human_review(state: AgentState) -> dict[str, Any]:
    """accept / edit / response / ignore: the one place a reviewer's answer is interpreted."""
    answer = interrupt(review_request(state))
    kind = answer.get("type") if isinstance(answer, dict) else None
    args = (answer.get("args") if isinstance(answer, dict) else None) or {}
    if kind == "accept":
        return {"decision": "accepted"}
    if kind == "edit":
        reply = args.get("reply") if isinstance(args, dict) else None
        if not reply:
            raise ValueError("an edit needs args.reply, the text to send")
        return {"reply": str(reply), "decision": "edited"}
    if kind == "response":
        note = args if isinstance(args, str) else args.get("note") or args.get("response")
        return {"note": str(note or ""), "decision": "responded"}
    if kind == "ignore":
        return {"decision": "ignored", "reply": None}
    raise ValueError(f"unknown review answer {kind!r}: use accept, edit, response or ignore")


def after_review(state: AgentState) -> Literal["draft", "act", "close"]:
    if state.get("decision") == "responded":
        return "draft"
    if state.get("decision") == "ignored":
        return "close"
    return "act"
