"""The agent graph's nodes. Decisions come from graph/policies.py; side effects from
graph/actions.py; everything the customer wrote is data, never instructions."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.types import interrupt
from sqlalchemy import select, update

from graph.actions import perform_once
from graph.classify.intents import AUTOMATABLE
from graph.policies import (
    address_policy,
    automation_route,
    cancellation_policy,
    extract_address,
    extract_order_ids,
)
from graph.services import services_of, session_of
from graph.state import AgentState
from knowledge.drafts import PHRASES, OrderFacts, load_thread_context, order_sentence
from store.models import Message, Order, Shipment, Thread
from tools.mirakl.models import LineAmount


def _thread(session: Any, thread_id: str) -> Thread:
    thread = session.scalar(select(Thread).where(Thread.mirakl_thread_id == thread_id))
    assert thread is not None, f"thread {thread_id} must be stored before the graph runs"
    return thread


def load_context(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    session = session_of(config)
    thread = _thread(session, state["thread_id"])
    context = load_thread_context(session, state["thread_id"])
    order = session.get(Order, thread.order_id) if thread.order_id else None
    if order is None:
        # An order named in the text counts only if it is this customer's own order.
        for candidate in extract_order_ids(state["text"]):
            found = session.scalar(select(Order).where(Order.mirakl_order_id == candidate))
            if (
                found is not None
                and found.customer_id is not None
                and found.customer_id == thread.customer_id
            ):
                order = found
                break
    facts = None
    if order is not None:
        shipment = session.scalar(select(Shipment).where(Shipment.order_id == order.id))
        facts = {
            "order_id": order.mirakl_order_id,
            "state": order.state,
            "created": order.created_date.isoformat() if order.created_date else None,
            "shipment_status": shipment.status if shipment else None,
            "carrier": (shipment.carrier_name or shipment.carrier_code) if shipment else None,
            "tracking_number": shipment.tracking_number if shipment else None,
            "tracking_url": shipment.tracking_url if shipment else None,
            "last_event": (str((shipment.events or [{}])[-1].get("at", ""))[:10] or None)
            if shipment and shipment.events
            else None,
            "address": (shipment.address if shipment else None) or order.shipping_address,
            "lines": [
                {
                    "id": ln.mirakl_order_line_id,
                    "qty": ln.quantity,
                    "price": str(ln.price),
                    "state": ln.state,
                }
                for ln in order.lines
            ],
            "currency": order.currency or "EUR",
        }
    return {
        "language": context.language,
        "customer_name": context.customer_name,
        "order_id": facts["order_id"] if facts else None,
        "order": facts,
        "note": None,
        "actions": [],
    }


def classify(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    services = services_of(config)
    prediction = services.classifier.classify(state["text"])
    return {
        "intent": prediction.intent,
        "confidence": round(prediction.confidence, 4),
        "classifier": prediction.classifier,
        "vector": prediction.vector,
    }


Route = Literal["order_status", "cancellation_request", "address_update", "draft", "human_review"]


def route(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    settings = services_of(config).settings
    thresholds: dict[str, float] = {
        k: v for k, v in settings.automation_thresholds.items() if k in AUTOMATABLE
    }
    target, reason = automation_route(
        state["intent"],
        state["confidence"],
        thresholds,
        settings.automation_mode,
        state.get("order") is not None,
    )
    return {"route": target, "reason": reason}


def after_route(state: AgentState) -> Route:
    return state["route"]  # type: ignore[return-value]


def _facts(order: dict[str, Any]) -> OrderFacts:
    return OrderFacts(
        order_id=order["order_id"],
        state=order["state"],
        products=[],
        carrier=order["carrier"],
        tracking_number=order["tracking_number"],
        tracking_url=order["tracking_url"],
        shipment_status=order["shipment_status"],
        last_event=order["last_event"],
    )


def compose(state: AgentState, config: RunnableConfig, *sentences: str) -> str:
    lang = state["language"] if state["language"] in PHRASES else "en"
    p = PHRASES[lang]
    name = state.get("customer_name")
    greeting = p["hello"].format(name=name) if name else p["hello_anon"]
    shop = services_of(config).settings.shop_name
    return "\n\n".join([greeting, *sentences, p["close"], p["sign"].format(shop=shop)])


def order_status(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    order = state["order"]
    assert order is not None
    lang = state["language"] if state["language"] in PHRASES else "en"
    sentence = order_sentence(_facts(order), lang)
    if sentence is None:
        sentence = PHRASES[lang]["no_tracking"].format(order=order["order_id"])
    return {"reply": compose(state, config, sentence), "action": "send_reply"}


def cancellation(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    settings = services_of(config).settings
    order = state["order"]
    assert order is not None
    created = datetime.fromisoformat(order["created"]) if order["created"] else None
    decision = cancellation_policy(
        order["state"],
        created,
        order["shipment_status"],
        datetime.now(UTC),
        settings.cancellation_window_hours,
    )
    if not decision.allowed:
        return {
            "route": "draft",
            "reason": f"cancellation refused by policy: {decision.reason}",
            "action": None,
        }
    lang = state["language"] if state["language"] in PHRASES else "en"
    reply = compose(state, config, PHRASES[lang]["cancel_done"].format(order=order["order_id"]))
    return {"reply": reply, "action": "cancel_and_reply", "reason": decision.reason}


def address_update(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    order = state["order"]
    assert order is not None
    parsed = extract_address(state["text"])
    decision = address_policy(order["shipment_status"], parsed)
    if not decision.allowed or parsed is None:
        return {
            "route": "draft",
            "reason": f"address change refused by policy: {decision.reason}",
            "action": None,
        }
    current = order.get("address") or {}
    address = {
        "firstname": current.get("firstname"),
        "lastname": current.get("lastname") or "Customer",
        "street_1": parsed["street_1"],
        "street_2": None,
        "zip_code": parsed["zip_code"],
        "city": parsed["city"],
        "country": current.get("country") or "FRA",
        "phone": current.get("phone"),
    }
    lang = state["language"] if state["language"] in PHRASES else "en"
    where = f"{parsed['street_1']}, {parsed['zip_code']} {parsed['city']}"
    reply = compose(
        state, config, PHRASES[lang]["address_done"].format(order=order["order_id"], address=where)
    )
    return {
        "reply": reply,
        "address": address,
        "action": "update_address_and_reply",
        "reason": decision.reason,
    }


def after_automation(
    state: AgentState, config: RunnableConfig
) -> Literal["draft", "human_review", "act"]:
    if state["route"] == "draft":
        return "draft"
    if services_of(config).settings.automation_mode == "shadow":
        return "human_review"
    return "act"


def draft(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    services = services_of(config)
    context = load_thread_context(session_of(config), state["thread_id"])
    if state.get("note"):
        # The reviewer's note steers the new draft: the model reads it as an instruction of
        # the agent, and retrieval looks for what it names.
        note = state["note"] or ""
        context = replace(
            context,
            question=f"{context.question}\n\n(Agent's instruction for this reply: {note})",
            search_query=note,
        )
    # The vector of the message (classification) is reused: embedded once per message.
    query_vector = state.get("vector") if not state.get("note") else None
    # The reviewer's note may point at another policy than the intent's: then search them all.
    doc_type = None if state.get("note") else POLICY_FOR_INTENT.get(state.get("intent", ""))
    result = services.drafting.draft(context, query_vector=query_vector, doc_type=doc_type)
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


# The policy document a request is about, when there is one.
POLICY_FOR_INTENT = {
    "order_status": "shipping",
    "cancellation_request": "cancellations",
    "address_update": "cancellations",
    "return_request": "returns",
    "delivery_issue": "damaged-items",
    "invoice_request": "invoices",
}


def review_request(state: AgentState) -> dict[str, Any]:
    """The Agent Inbox–style request a human answers."""
    order = state.get("order")
    shadow = state.get("action") in ("cancel_and_reply", "update_address_and_reply") or (
        state.get("route") == "order_status"
    )
    lines = [
        f"**Thread** `{state['thread_id']}` — intent **{state.get('intent')}** "
        f"({state.get('confidence', 0):.2f}, {state.get('classifier')})",
        f"**Why a human:** {state.get('reason') or 'review'}",
    ]
    if shadow and state.get("route") in AUTOMATABLE:
        lines.append("_Would have been sent automatically (shadow mode)._")
    if order:
        lines.append(
            f"**Order** {order['order_id']}: {order['state']}, "
            f"shipment {order['shipment_status'] or '-'}"
            + (
                f", {order['carrier']} {order['tracking_number']}"
                if order.get("tracking_number")
                else ""
            )
        )
    lines.append(f"**Customer wrote:**\n> {state['text']}")
    return {
        "action_request": {
            "action": state.get("action") or "send_reply",
            "args": {
                "reply": state.get("reply") or "",
                **({"address": state["address"]} if state.get("address") else {}),
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


def human_review(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    answer = interrupt(review_request(state))
    kind = answer.get("type") if isinstance(answer, dict) else None
    args = (answer.get("args") if isinstance(answer, dict) else None) or {}
    if kind == "accept":
        return {"outcome": "accepted"}
    if kind == "edit":
        reply = args.get("reply") if isinstance(args, dict) else None
        if not reply:
            raise ValueError("an edit needs args.reply, the text to send")
        return {"reply": str(reply), "outcome": "edited"}
    if kind == "response":
        note = args if isinstance(args, str) else args.get("note") or args.get("response")
        return {"note": str(note or ""), "outcome": "responded"}
    if kind == "ignore":
        return {"outcome": "ignored", "reply": None}
    raise ValueError(f"unknown review answer {kind!r}: use accept, edit, response or ignore")


def after_review(state: AgentState) -> Literal["draft", "act", "close"]:
    if state.get("outcome") == "responded":
        return "draft"
    if state.get("outcome") == "ignored":
        return "close"
    return "act"


def act(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    """Carry out what was decided (and, after a review, approved): each step exactly once."""
    services = services_of(config)
    session = session_of(config)
    actor_type = "automation" if state.get("outcome") not in ("accepted", "edited") else "human"
    actor = "csagent" if actor_type == "automation" else "reviewer"
    done: list[str] = []
    order = state.get("order")
    action = state.get("action") or "send_reply"
    if action == "cancel_and_reply" and order is not None:
        decision_action = "cancel_lines" if order["state"] == "SHIPPING" else "cancel_order"

        def cancel() -> dict[str, Any]:
            if decision_action == "cancel_order":
                services.run_mirakl(lambda m: m.cancel_order(order["order_id"]))
            else:
                lines = [
                    LineAmount(
                        order_line_id=ln["id"],
                        quantity=ln["qty"],
                        amount=ln["price"],
                        currency_iso_code=order["currency"],
                        reason_code="CUSTOMER_REQUEST",
                    )
                    for ln in order["lines"]
                    if ln["state"] != "CANCELED"
                ]
                services.run_mirakl(lambda m: m.cancel_lines(order["order_id"], lines))
            session.execute(
                update(Order)
                .where(Order.mirakl_order_id == order["order_id"])
                .values(state="CANCELED", can_cancel=False)
            )
            return {"cancelled": order["order_id"], "how": decision_action}

        perform_once(
            services,
            key=f"cancel:{order['order_id']}",
            action="order.cancel",
            actor_type=actor_type,
            actor=actor,
            payload={"thread": state["thread_id"], "order": order["order_id"]},
            act=cancel,
        )
        done.append("order_cancelled")
    if action == "update_address_and_reply" and order is not None and state.get("address"):
        address = state["address"]

        def change() -> dict[str, Any]:
            result = services.business.call(
                "PUT",
                f"/shipments/{order['order_id']}/address",
                json=address,
                headers={"X-Actor": actor},
            )
            if "error" in result:
                raise RuntimeError(f"address change refused: {result['error']}")
            return {"address": address}

        perform_once(
            services,
            key=f"address:{order['order_id']}:{state['message_id']}",
            action="shipment.address_change",
            actor_type=actor_type,
            actor=actor,
            payload={"thread": state["thread_id"], "order": order["order_id"]},
            act=change,
        )
        done.append("address_changed")
    reply = state.get("reply")
    if reply:
        send_reply(state, config, reply, actor_type, actor)
        done.append("reply_sent")
    return {"actions": done}


def send_reply(
    state: AgentState, config: RunnableConfig, reply: str, actor_type: str, actor: str
) -> None:
    services = services_of(config)
    session = session_of(config)
    thread_id = state["thread_id"]
    key = f"reply:{thread_id}:{state['message_id']}"

    def post() -> dict[str, Any]:
        result = services.run_mirakl(lambda m: m.reply(thread_id, reply))
        return {"message_id": result.message_id}

    def already_sent() -> dict[str, Any] | None:
        thread = services.run_mirakl(lambda m: m.get_thread(thread_id))
        for message in thread.messages:
            if message.sender.type == "SHOP" and message.body == reply:
                return {"message_id": message.id}
        return None

    result = perform_once(
        services,
        key=key,
        action="reply.send",
        actor_type=actor_type,
        actor=actor,
        payload={"thread": thread_id, "reply_sha256": hashlib.sha256(reply.encode()).hexdigest()},
        act=post,
        already_done=already_sent,
    )
    thread = _thread(session, thread_id)
    session.execute(
        insert_outbound(thread.id, result["message_id"], reply, services.settings.shop_name)
    )
    session.execute(
        update(Thread).where(Thread.id == thread.id).values(status="answered", sla_due_at=None)
    )


def insert_outbound(thread_pk: int, message_id: str, body: str, shop: str) -> Any:
    from sqlalchemy.dialects.postgresql import insert

    return (
        insert(Message)
        .values(
            mirakl_message_id=message_id,
            thread_id=thread_pk,
            direction="outbound",
            author_type="SHOP",
            author_name=shop,
            body=body,
            created_at=datetime.now(UTC),
            delivery_status="sent",
        )
        .on_conflict_do_nothing(index_elements=["mirakl_message_id"])
    )


def close(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    services = services_of(config)
    session = session_of(config)
    thread = _thread(session, state["thread_id"])
    perform_once(
        services,
        key=f"close:{state['thread_id']}:{state['message_id']}",
        action="thread.close",
        actor_type="automation" if state.get("outcome") != "ignored" else "human",
        actor="csagent" if state.get("outcome") != "ignored" else "reviewer",
        payload={"thread": state["thread_id"]},
        act=lambda: {"closed": True},
    )
    session.execute(
        update(Thread).where(Thread.id == thread.id).values(status="closed", sla_due_at=None)
    )
    return {"actions": [*state.get("actions", []), "thread_closed"]}


def after_act(state: AgentState) -> Literal["close", "__end__"]:
    """Automated replies to status and cancellation requests end the conversation."""
    if state.get("outcome") in ("accepted", "edited"):
        return "__end__"
    return "close" if state.get("route") in ("order_status", "cancellation_request") else "__end__"
