"""Drafting for a human, and the human review itself (an Agent Inbox–style interrupt)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from graph.classify.intents import AUTOMATABLE
from graph.services import RunContext, services_of
from graph.state import AgentState, Conversation, Decision
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
    if automated and state.get("route") in AUTOMATABLE and not state.get("act_error"):
        lines.append("_Would have been sent automatically (shadow mode)._")
    if state.get("problem"):
        lines.append(f"**Not verified:** {state.get('problem')}")
    if order:
        tracking = (
            f", {order.get('carrier')} {order['tracking_number']}"
            if order.get("tracking_number")
            else ""
        )
        lines.append(
            f"**Order** {order['order_id']} (read from Mirakl at "
            f"{(order.get('fetched_at') or '?')[:19]}Z): "
            f"{order.get('state')}, shipment {order.get('shipment_status') or '-'}{tracking}"
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


class InvalidReviewAnswer(ValueError):
    pass


@dataclass(frozen=True)
class ReviewAnswer:
    """A reviewer's answer, whatever shape it came in."""

    decision: Decision
    reply: str | None = None  # edit: the text to send
    note: str | None = None  # response: what the new draft should do
    reviewer: str | None = None


def read_review_answer(answer: Any) -> ReviewAnswer:
    """accept / edit / response / ignore: the one place a reviewer's answer is interpreted.

    Takes csagent's `{"type", "args"}`, Agent Inbox's list of responses (the first counts) and
    its edit whose args are the whole action request (`{"action", "args": {"reply"}}`);
    InvalidReviewAnswer says what is wrong."""
    if isinstance(answer, list) and answer:
        answer = answer[0]
    if not isinstance(answer, dict):
        raise InvalidReviewAnswer('an answer is {"type": accept|edit|response|ignore, "args"}')
    kind, args = answer.get("type"), answer.get("args")
    reviewer = answer.get("reviewer")
    reviewer = str(reviewer)[:128] if reviewer else None
    if kind == "accept":
        return ReviewAnswer("accepted", reviewer=reviewer)
    if kind == "ignore":
        return ReviewAnswer("ignored", reviewer=reviewer)
    if kind == "edit":
        if isinstance(args, dict) and isinstance(args.get("args"), dict):
            args = args["args"]  # Agent Inbox: the edited action request
        reply = args.get("reply") if isinstance(args, dict) else None
        if not isinstance(reply, str) or not reply.strip():
            raise InvalidReviewAnswer("an edit needs args.reply, the text to send")
        return ReviewAnswer("edited", reply=reply, reviewer=reviewer)
    if kind == "response":
        note = args if isinstance(args, str) else None
        if isinstance(args, dict):
            note = args.get("note") or args.get("response")
        if not isinstance(note, str) or not note.strip():
            raise InvalidReviewAnswer("a response needs a note: what the new draft should do")
        return ReviewAnswer("responded", note=note, reviewer=reviewer)
    raise InvalidReviewAnswer(
        f"unknown review answer {kind!r}: use accept, edit, response or ignore"
    )


def human_review(state: AgentState) -> dict[str, Any]:
    """Ask a human; an answer that cannot be used asks again (never fails the paused run)."""
    try:
        answer = read_review_answer(interrupt(review_request(state)))
        if answer.decision == "accepted" and not state.get("reply"):
            raise InvalidReviewAnswer("there is no draft to accept: edit it or respond")
    except InvalidReviewAnswer as exc:
        return {"decision": None, "reason": f"the previous answer was not usable: {exc}"}
    return review_update(answer)


def review_update(answer: ReviewAnswer) -> dict[str, Any]:
    """What a reviewer's answer changes in the state (the human_review node's update)."""
    update: dict[str, Any] = {"decision": answer.decision, "reviewer": answer.reviewer}
    if answer.decision == "edited":
        update["reply"] = answer.reply
    elif answer.decision == "responded":
        update["note"] = answer.note
    elif answer.decision == "ignored":
        update["reply"] = None
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
