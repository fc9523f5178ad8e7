"""The customer's answer to "reply YES to confirm": carry out what was proposed on a clear yes,
after reading the order again from Mirakl; leave everything as it is on a no; a person reads
anything else. Nothing is done on a yes that comes after the question expired."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from langgraph.runtime import Runtime

from graph.classify.answers import BOTH, known_words, read_answer
from graph.drafting import PHRASES, reply_language
from graph.nodes.resolutions import after_automation, compose, question, redirect_decision
from graph.policies import SHIPMENT_LEFT, SHIPPED_STATES, cancellation_policy
from graph.services import RunContext, services_of
from graph.state import AgentState, marketplace_of
from knowledge.language import detect_language
from store.confirmations import describe, settle
from store.facts import Address, one_line

INTENT_OF = {
    "cancel_order": "cancellation_request",
    "cancel_lines": "cancellation_request",
    "update_address": "address_update",
}


def confirmation(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    awaiting = state.get("awaiting")
    assert awaiting is not None, "runs only when a question is pending"
    # A short answer ("yes, go ahead") says little of its language: the question's decides then.
    language = detect_language(state["text"], awaiting.get("language"))
    state = {**state, "language": language}
    action, order_id = awaiting["action"], awaiting["order_id"]
    answer = _answer_of(state, awaiting)
    what = describe(action, order_id)
    # Shown like a classification: the thread is about what was asked.
    base: dict[str, Any] = {
        "intent": INTENT_OF[action], "confidence": 1.0, "classifier": "confirmation",
        "language": language,
    }  # fmt: skip
    for_a_person = _proposal(state, runtime, awaiting)

    def to_a_person(read_as: str, reason: str) -> dict[str, Any]:
        """Nothing done: a person decides, with the proposal (classified first, see
        after_confirmation, so the draft answers what the customer wrote)."""
        return {"language": language, **for_a_person, "answer": read_as, "route": "draft",
                "reason": reason}  # fmt: skip

    if datetime.now(UTC) >= datetime.fromisoformat(awaiting["expires_at"]):
        if answer in ("yes", "yes_unsure"):
            _settle(runtime, state, "expired", "a yes after the question expired: nothing done")
            return to_a_person(
                "late",
                f"the customer said yes ({what}) after the question expired "
                f"({awaiting['expires_at'][:16]}Z): nothing was done; a person decides",
            )
        _settle(runtime, state, "expired", "no yes before it expired: nothing done")
        return {"answer": "expired"}  # the message is read as any other
    if answer == "yes_unsure" and _may_ask_again(state, runtime, awaiting, for_a_person):
        return {**base, **_ask_again(state, runtime, awaiting)}
    if answer in ("unclear", "yes_unsure"):
        _settle(runtime, state, "unclear", "not a clear yes or no: read by a person")
        return to_a_person(
            "unclear",
            f"the customer's answer to the question ({what}) is not a clear yes or no: "
            "nothing was done",
        )
    if answer == "no":
        lang = reply_language(language or "en")
        kept = "address_kept" if action == "update_address" else "cancel_kept"
        return {
            **base,
            "answer": "no",
            "route": "confirmation",
            "action": "send_reply",
            "reply": compose(state, runtime, PHRASES[lang][kept].format(order=order_id)),
            "reason": f"the customer said no ({what}): nothing done",
            "settle": {"id": awaiting["id"], "status": "declined", "outcome": "the customer "
                       "said no: nothing done"},
        }  # fmt: skip
    return {**base, "answer": "yes", **_on_yes(state, runtime, awaiting, for_a_person)}  # type: ignore[arg-type]


def _answer_of(state: AgentState, awaiting: dict[str, Any]) -> str:
    """The customer's message read as an answer to exactly what was proposed."""
    details = awaiting.get("details") or {}
    conversation = state.get("conversation")
    known = proposal_words(
        details,
        state.get("customer_name"),
        conversation.get("customer_name") if conversation else None,
    )
    action = awaiting["action"]
    about: Literal["cancel", "address"] = "address" if action == "update_address" else "cancel"
    items = proposal_items(details)
    return read_answer(
        state["text"], awaiting["order_id"], state.get("language"), known, about, items
    )


def _proposal(
    state: AgentState, runtime: Runtime[RunContext], awaiting: dict[str, Any]
) -> dict[str, Any]:
    """What a person may approve with one click: the proposed action and its reply, only on the
    order read again in this run."""
    action, order_id = awaiting["action"], awaiting["order_id"]
    address: Address | None = (awaiting.get("details") or {}).get("address")
    lang = reply_language(state.get("language") or "en")
    done_phrase = "address_done" if action == "update_address" else "cancel_done"
    done_reply = compose(
        state,
        runtime,
        PHRASES[lang][done_phrase].format(
            order=order_id, address=one_line(address) if address else ""
        ),
    )
    order = state.get("order")
    readable = order is not None and order["order_id"] == order_id and not state.get("problem")
    return {
        "proposal": action if readable else None,
        "proposal_reply": done_reply if readable else None,
        **({"address": address} if address else {}),
    }


def _may_ask_again(
    state: AgentState,
    runtime: Runtime[RunContext],
    awaiting: dict[str, Any],
    for_a_person: dict[str, Any],
) -> bool:
    """Asked again once, on the order read again, and only when a plain yes could act (not
    with automation off, nor in review mode)."""
    if (awaiting.get("details") or {}).get("again") or for_a_person["proposal"] is None:
        return False
    return _why_a_person(state, runtime, awaiting["action"]) is None


def _why_a_person(state: AgentState, runtime: Runtime[RunContext], action: str) -> str | None:
    """Why a yes cannot act now, by the seller's switches as they are now (not as they were
    when the question was asked); None when it can."""
    settings = services_of(runtime).settings_for(marketplace_of(state))
    if settings.automation_mode == "off":
        return "automation is off"
    if settings.action_mode(INTENT_OF[action]) == "review":
        return "this marketplace's action mode is now review"
    return None


def _ask_again(
    state: AgentState, runtime: Runtime[RunContext], awaiting: dict[str, Any]
) -> dict[str, Any]:
    """A yes, then words not read: asked once more, for a plain yes to exactly this."""
    action, order_id = awaiting["action"], awaiting["order_id"]
    asked = question(state, runtime, action, order_id, awaiting.get("details") or {}, again=True)
    return {
        **asked, "answer": "yes_unsure", "route": "confirmation",
        "reason": f"the customer's answer reads as a yes, in words csagent does not all read "
        f"({describe(action, order_id)}): {asked['reason']}",
        "settle": {"id": awaiting["id"], "status": "superseded", "outcome": "a yes in words not "
                   "all read: asked again, for a plain yes"},
    }  # fmt: skip


def proposal_words(details: dict[str, Any], *names: str | None) -> frozenset[str]:
    """What an answer may name without saying anything new: the items' names, the new address
    (its numbers included), the customer's names, "both" for two items. Not the item counts:
    "cancel 1 of them" asks for part of the order, which is not what was proposed."""
    address = details.get("address")
    lines = details.get("lines", [])
    words = known_words(
        *(line.get("product") for line in lines),
        one_line(address) if address else None,
        address.get("country") if address else None,
        *names,
    )
    # "Both" is the whole order when two items were proposed, and part of it otherwise.
    return words | {BOTH} if len(lines) == 2 else words


def proposal_items(details: dict[str, Any]) -> list[frozenset[str]]:
    """The words of each proposed item: an answer naming one and not another asks for part."""
    return [known_words(line.get("product")) for line in details.get("lines", [])]


def _on_yes(
    state: AgentState,
    runtime: Runtime[RunContext],
    awaiting: dict[str, Any],
    for_a_person: dict[str, Any],
) -> dict[str, Any]:
    """A clear yes: what the order is now on Mirakl (read again in this run) decides."""
    action, order_id = awaiting["action"], awaiting["order_id"]
    what = describe(action, order_id)
    order = state.get("order")

    def to_person(why: str) -> dict[str, Any]:
        _settle(runtime, state, "confirmed", f"confirmed, not carried out: {why}")
        return {
            **for_a_person,
            "route": "draft",
            "reason": f"the customer confirmed ({what}), but {why}: nothing was done",
        }

    if state.get("problem"):
        return to_person(f"it could not be verified ({state.get('problem')})")
    if order is None or order["order_id"] != order_id:
        return to_person(f"order {order_id} could not be read again from Mirakl")
    blocked = _why_a_person(state, runtime, action)
    if blocked is not None:
        return to_person(blocked)
    settings = services_of(runtime).settings_for(marketplace_of(state))
    lang = reply_language(state.get("language") or "en")
    confirmed = {
        "id": awaiting["id"], "status": "confirmed", "outcome": "the customer said yes: done",
    }  # fmt: skip
    if action in ("cancel_order", "cancel_lines"):
        if order["state"] == "CANCELED":  # cancelled already (by this run before a crash, or
            # by someone else): the customer is told so, nothing is sent to Mirakl
            return {
                "route": "cancellation_request",
                "action": "send_reply",
                "reply": for_a_person["proposal_reply"],
                "reason": f"order {order_id} is already cancelled on Mirakl",
                "settle": confirmed,
            }
        created = datetime.fromisoformat(order["created"]) if order["created"] else None
        # The order's state and the seller's window, both as they are now.
        decision = cancellation_policy(
            order["state"], created, order["shipment_status"], datetime.now(UTC),
            settings.cancellation_window_hours,
        )  # fmt: skip
        if decision.allowed:
            return {
                "route": "cancellation_request",
                "action": decision.action,
                "reply": for_a_person["proposal_reply"],
                "reason": f"the customer confirmed; read again on Mirakl: {decision.reason}",
                "settle": confirmed,
            }
        if order["state"] in SHIPPED_STATES or order["shipment_status"] in SHIPMENT_LEFT:
            return {
                "route": "cancellation_request",
                "action": "send_reply",
                "reply": compose(
                    state, runtime, PHRASES[lang]["cancel_too_late"].format(order=order_id)
                ),
                "reason": "the customer confirmed, but the order shipped in the meantime",
                "settle": {**confirmed, "outcome": "confirmed; the order had shipped meanwhile"},
            }
        return to_person(decision.reason)
    address: Address = for_a_person["address"]
    decision, why_not = redirect_decision(state, runtime, order, dict(address))
    if why_not is not None or not decision.allowed:
        return to_person(why_not or decision.reason)
    return {
        "route": "address_update",
        "action": "update_address",
        "address": address,
        "reply": for_a_person["proposal_reply"],
        "reason": f"the customer confirmed; checked again: {decision.reason}",
        "settle": confirmed,
    }


def _settle(runtime: Runtime[RunContext], state: AgentState, status: str, outcome: str) -> None:
    """Record an answer that leads to no action at once (a retried run finds it settled)."""
    awaiting = state.get("awaiting") or {}
    with services_of(runtime).sessions.begin() as session:
        settle(session, awaiting["id"], status, answered_by=state["message_id"], outcome=outcome)


def after_confirmation(
    state: AgentState, runtime: Runtime[RunContext]
) -> Literal["classify", "draft", "human_review", "act"]:
    """A yes or a no is acted on. Anything else is classified like any message, so the
    person it goes to gets a draft for what the customer wrote (an unclear answer and a yes
    after the question expired stay with a person: `route` keeps their reason)."""
    if state.get("answer") in ("expired", "unclear", "late"):
        return "classify"
    return after_automation(state, runtime)
