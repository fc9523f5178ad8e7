"""First steps of every run: verify the message and read its order on Mirakl, read the thread,
classify, choose the route."""

from __future__ import annotations

import logging
from typing import Any, Literal

from langgraph.runtime import Runtime
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from graph.classify.explicit import explicit_request
from graph.classify.intents import AUTOMATABLE
from graph.conversation import read_conversation
from graph.policies import automation_route, extract_order_ids
from graph.services import RunContext, services_of, transaction
from graph.state import AgentState, Route, fresh_message_state, marketplace_of
from graph.verify import OrderReading, check_message, read_orders, record_reading
from store.confirmations import answered_by, pending
from store.metrics import stage
from store.threads import (
    adopt_customer,
    flag_unverified,
    link_thread_order,
    mark_verified,
    record_reply_clock,
)

log = logging.getLogger(__name__)


def load_context(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Start this message from nothing carried over: check it against Mirakl (csagent's
    processor has already done so, before the run), read the order it is about from Mirakl,
    keep what was read, and read the conversation."""
    services = services_of(runtime)
    context = runtime.context
    thread_id, message_id = state["thread_id"], state["message_id"]
    marketplace = marketplace_of(state)
    mirakl = services.mirakl_for(marketplace)
    settings = services.settings_for(marketplace)
    with stage("verify"):
        check = context.check if context is not None else None
        if check is None:
            claimed = context.message if context is not None else None
            check = check_message(mirakl, thread_id, message_id, claimed)
        text = check.text if check.text is not None else state["text"]
        reading = OrderReading()
        awaiting = None
        if check.verification == "verified":
            # A question the customer may be answering (one asked before the message was
            # written; on a retried run, the one it already answered): its order is read again.
            with services.sessions.begin() as own:
                awaiting = answered_by(
                    own, thread_id, marketplace=marketplace, message_id=message_id
                ) or pending(own, thread_id, marketplace=marketplace)
            if awaiting is not None and check.written_at and check.written_at < awaiting.asked_at:
                awaiting = None  # written before the question: not an answer to it
            named = extract_order_ids(text)
            if awaiting is not None and not awaiting.expired() and not named:
                named.append(awaiting.order_id)
            reading = read_orders(mirakl, check.customer_id, check.order_id, named)
    if reading.read:
        keep_reading(services.sessions, thread_id, reading, marketplace)
    with stage("context"), transaction(runtime) as session:
        if check.verification == "unverified":
            flag_unverified(
                session, thread_id, message_id, check.problem or "not on Mirakl",
                review_pending=False, sla_hours=settings.sla_hours, marketplace=marketplace,
            )  # fmt: skip
            return {**fresh_message_state(), "verification": "unverified", "problem": check.problem}
        if check.verification == "verified":
            assert check.text is not None and check.customer_id is not None
            # Mirakl's copy (text and attachments) is the one kept
            mark_verified(
                session, message_id, check.text, check.attachments, marketplace=marketplace
            )
            adopt_customer(
                session, thread_id, check.customer_id, check.customer_name,
                marketplace=marketplace,
            )  # fmt: skip
            if check.order_id is not None:
                link_thread_order(session, thread_id, check.order_id, marketplace=marketplace)
            if check.read_at is not None:  # Mirakl's reply clock is the deadline
                record_reply_clock(
                    session, thread_id, check.reply_needed_since, sla_hours=settings.sla_hours,
                    marketplace=marketplace, read_at=check.read_at,
                )  # fmt: skip
        conversation = read_conversation(session, thread_id, marketplace)
    return {
        **fresh_message_state(),
        "text": text,
        "verification": check.verification,
        "problem": check.problem or reading.problem,
        "conversation": conversation,
        "language": conversation["language"],
        "customer_name": conversation["customer_name"],
        "order": reading.order,
        "awaiting": awaiting.as_dict() if awaiting is not None else None,
        "message_at": check.written_at.isoformat() if check.written_at else None,
    }


def keep_reading(
    sessions: sessionmaker[Session],
    thread_id: str,
    reading: OrderReading,
    marketplace: str,
) -> None:
    """What was read is a fact whatever this run does next: kept in a transaction of its own, so
    rows shared with other threads (orders, customers, shipments) are not held for the run. If
    another run holds them (lock timeout), the record waits for the next reading; the decision
    still rests on what was read."""
    try:
        with sessions.begin() as own:
            record_reading(own, thread_id, reading, marketplace)
    except OperationalError as exc:
        log.warning("order facts of thread %s not recorded this time: %s", thread_id, exc)


def after_context(state: AgentState) -> Literal["confirmation", "classify", "__end__"]:
    """A message Mirakl does not confirm goes no further; one that may answer a pending
    confirmation is read as an answer first."""
    if state.get("verification") == "unverified":
        return "__end__"
    return "confirmation" if state.get("awaiting") else "classify"


def classify(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    with stage("classify"):
        prediction = services_of(runtime).classifier.classify(state["text"])
    return {
        "intent": prediction.intent,
        "confidence": round(prediction.confidence, 4),
        "classifier": prediction.classifier,
        "vector": prediction.vector,
    }


def route(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    if state.get("answer") in ("unclear", "late"):
        # An answer to a confirmation question that is not a clear yes in time: a person
        # decides, with the proposed action (graph/nodes/confirmation.py said why).
        return {"route": "draft", "reason": state.get("reason")}
    services = services_of(runtime)
    settings = services.settings
    thresholds: dict[str, float] = {
        k: v for k, v in settings.automation_thresholds.items() if k in AUTOMATABLE
    }
    intent = state.get("intent") or "other"
    asking = settings.confirmation_thresholds.get(intent)
    mode = services.settings_for(marketplace_of(state)).action_mode
    if intent in thresholds and asking is not None and mode(intent) == "confirm":
        # Asking "shall we?" is not acting: with the customer's yes required, a lower bar.
        thresholds[intent] = min(thresholds[intent], asking)
    target, reason = automation_route(
        intent,
        state.get("confidence") or 0.0,
        thresholds,
        settings.automation_mode,
        state.get("order") is not None,
        state.get("problem"),
    )
    if target in AUTOMATABLE:
        # Confident about the topic is not the same as asked to act: the words must ask for it.
        explicit = explicit_request(state["text"], intent, state.get("language"))
        if not explicit.ok:
            target, reason = "draft", f"not an explicit request to act: {explicit.reason}"
    return {"route": target, "reason": reason}


def after_route(state: AgentState) -> Route:
    return state.get("route") or "draft"
