"""Drafting for a human, and the human review itself (an Agent Inbox–style interrupt)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import interrupt
from pydantic import TypeAdapter, ValidationError

from graph.classify.intents import AUTOMATABLE
from graph.markdown import md_quote, md_text
from graph.services import RunContext, services_of
from graph.state import AgentState, Conversation, Decision, marketplace_of
from store.facts import Address, one_line
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


def review_request(state: AgentState) -> dict[str, Any]:
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
    address = state.get("address")
    return {
        "action_request": {
            "action": state.get("action") or "send_reply",
            "args": {
                "reply": state.get("reply") or "",
                **({"address": address} if address else {}),
                **({"proposal": proposal} if proposal else {}),
                **(
                    {"proposal_reply": state["proposal_reply"]}
                    if state.get("proposal_reply")
                    else {}
                ),
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


ACTION_NAMES = {
    "send_reply": "send the reply",
    "cancel_order": "cancel the whole order on Mirakl",
    "cancel_lines": "cancel the order's lines on Mirakl (refunding the customer)",
    "update_address": "change the delivery address through the warehouse",
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
    with_action: bool | None = None  # True: the proposed action too; False: the text only
    address: dict[str, Any] | None = None  # a corrected address for update_address
    to: tuple[str, ...] | None = None  # who the reply goes to (CUSTOMER, OPERATOR); None: customer


RECIPIENTS = ("CUSTOMER", "OPERATOR")


def read_recipients(args: Any) -> tuple[str, ...] | None:
    """`args.to` of an accept or edit: the reply's recipients on Mirakl (M12 `to`)."""
    to = args.get("to") if isinstance(args, dict) else None
    if to is None:
        return None
    if isinstance(to, str):
        to = [to]
    if (
        not isinstance(to, list)
        or not to
        or any(not isinstance(t, str) or t.upper() not in RECIPIENTS for t in to)
    ):
        raise InvalidReviewAnswer('args.to lists the recipients: "CUSTOMER", "OPERATOR" or both')
    return tuple(dict.fromkeys(t.upper() for t in to))


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
    with_action, address = _action_choice(args)
    if kind == "accept":
        return ReviewAnswer(
            "accepted", reviewer=reviewer, with_action=with_action, address=address,
            to=read_recipients(args),
        )  # fmt: skip
    if kind == "ignore":
        return ReviewAnswer("ignored", reviewer=reviewer)
    if kind == "edit":
        if isinstance(args, dict) and isinstance(args.get("args"), dict):
            args = args["args"]  # Agent Inbox: the edited action request
            with_action, address = _action_choice(args)
        reply = args.get("reply") if isinstance(args, dict) else None
        if not isinstance(reply, str) or not reply.strip():
            raise InvalidReviewAnswer("an edit needs args.reply, the text to send")
        return ReviewAnswer(
            "edited", reply=reply, reviewer=reviewer, with_action=with_action, address=address,
            to=read_recipients(args) or read_recipients(answer.get("args")),
        )  # fmt: skip
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


def _action_choice(args: Any) -> tuple[bool | None, dict[str, Any] | None]:
    """(with_action, address) of an accept or edit: whether the proposed action is approved
    too, and a corrected address (validated as csagent's address shape)."""
    if not isinstance(args, dict):
        return None, None
    with_action = args.get("with_action")
    if with_action is not None and not isinstance(with_action, bool):
        raise InvalidReviewAnswer("args.with_action is true or false")
    address = args.get("address")
    if address is None:
        return with_action, None
    try:
        checked = _ADDRESS.validate_python(address)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidReviewAnswer(f"args.address is not a usable address ({problems})") from None
    return with_action, dict(checked)


_ADDRESS: TypeAdapter[Address] = TypeAdapter(Address)


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
        answer = read_review_answer(interrupt(review_request(state)))
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
