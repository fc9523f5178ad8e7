"""What changes the world: cancel on Mirakl, redirect the parcel, send the reply, close the
thread. Each step is audited before and after and happens at most once (store/audit.py)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from langgraph.runtime import Runtime

from graph.services import RunContext, services_of, transaction
from graph.state import AgentState, marketplace_of
from store.audit import perform_once
from store.business import mark_order_cancelled
from store.confirmations import ask, settle, supersede
from store.facts import OrderFacts
from store.metrics import stage
from store.threads import close_thread, record_outbound
from tools.mirakl.blocking import BlockingMirakl
from tools.mirakl.errors import MiraklError
from tools.mirakl.models import LineAmount

# Clock difference tolerated between csagent and Mirakl when matching a reply to an attempt.
CLOCK_SKEW = timedelta(minutes=2)


class ActionFailed(RuntimeError):
    """A step of an approved or automated action was refused or failed (not Mirakl's own
    errors, which are MiraklError)."""


def actor_of(state: AgentState) -> tuple[str, str]:
    """(actor type, actor) of this message's actions: a reviewer's or the automation's."""
    if state.get("decision") in ("accepted", "edited", "ignored"):
        return "human", state.get("reviewer") or "reviewer"
    return "automation", "csagent"


def act(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Carry out what was decided (and, after a review, approved): each step exactly once.

    When an automated decision cannot be carried out (Mirakl refuses, the warehouse is down),
    the message is not failed: it goes to a person with why, and approving carries out what is
    left (steps already done are not repeated). A reviewer's approval that fails raises, so the
    reviewer is told at once and the review stays pending."""
    with stage("act"):
        if state.get("decision") in ("accepted", "edited", "ignored"):
            return {**_act(state, runtime), "act_error": None}
        try:
            return {**_act(state, runtime), "act_error": None}
        except (ActionFailed, MiraklError) as exc:
            error = f"{type(exc).__name__}: {exc}"
            return {
                "act_error": error,
                "reason": f"carrying out the automated decision failed ({error}); approving "
                "retries what is left, nothing done is repeated",
            }


def _act(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    services = services_of(runtime)
    actor_type, actor = actor_of(state)
    done: list[str] = []
    order = state.get("order")
    action = state.get("action") or "send_reply"
    marketplace = marketplace_of(state)
    mirakl = services.mirakl_for(marketplace)  # the thread's own marketplace, never another
    if action in ("cancel_order", "cancel_lines") and order is not None:
        perform_once(
            services.sessions,
            key=f"cancel:{order['order_id']}",
            action="order.cancel",
            payload={"thread": state["thread_id"], "order": order["order_id"]},
            act=lambda: cancel_on_mirakl(mirakl, order, action),
            # After an attempt that died or ended unclear, Mirakl's order state says whether
            # the cancellation happened: it is never sent twice.
            already_done=lambda _since: cancelled_on_mirakl(mirakl, order, action),
            actor_type=actor_type,
            actor=actor,
            marketplace=marketplace,
        )
        # Its own short transaction: the order row is shared with other threads (and with the
        # next message of this one, whose reading is recorded apart), so it is never held.
        with services.sessions.begin() as own:
            mark_order_cancelled(own, order["order_id"], marketplace=marketplace)
        done.append("order_cancelled")
    address = state.get("address")
    if action == "update_address" and order is not None and address:

        def change() -> dict[str, Any]:
            result = services.business.change_address(
                order["order_id"], address, marketplace=marketplace, actor=actor
            )
            if "error" in result:
                raise ActionFailed(f"address change refused: {result['error']}")
            return {"address": address}

        # Once per confirmed question (a second yes changes nothing), else once per message.
        question = (state.get("settle") or {}).get("id")
        perform_once(
            services.sessions,
            key=f"address:{order['order_id']}:"
            + (f"confirmation:{question}" if question else state["message_id"]),
            action="shipment.address_change",
            payload={"thread": state["thread_id"], "order": order["order_id"]},
            act=change,
            actor_type=actor_type,
            actor=actor,
            marketplace=marketplace,
        )
        done.append("address_changed")
    reply = state.get("reply")
    if reply:
        send_reply(state, runtime, reply)
        done.append("reply_sent")
    record_confirmation(state, runtime)
    return {"actions": done}


def record_confirmation(state: AgentState, runtime: Runtime[RunContext]) -> None:
    """The question sent with the reply is now pending; the answer acted on is settled. Both
    once: a retried run finds them recorded."""
    asked, answered = state.get("confirm"), state.get("settle")
    if not asked and not answered:
        return
    marketplace = marketplace_of(state)
    with transaction(runtime) as session:
        if answered:  # first: a question asked again supersedes the one answered
            settle(
                session, answered["id"], answered["status"],
                answered_by=state["message_id"], outcome=answered["outcome"],
            )  # fmt: skip
        if asked:
            ask(
                session, state["thread_id"], marketplace=marketplace,
                order_id=asked["order_id"], action=asked["action"], details=asked["details"],
                language=asked["language"], requested_by=state["message_id"],
                requested_at=datetime.fromisoformat(asked["requested_at"]),
                expires_at=datetime.fromisoformat(asked["expires_at"]),
            )  # fmt: skip


def cancel_on_mirakl(mirakl: BlockingMirakl, order: OrderFacts, how: str) -> dict[str, Any]:
    if how == "cancel_order":
        mirakl.call(lambda m: m.cancel_order(order["order_id"]))
    else:
        lines = [
            LineAmount(
                order_line_id=line["id"],
                quantity=line["qty"],
                amount=Decimal(line["price"]),
                currency_iso_code=order["currency"],
                reason_code="CUSTOMER_REQUEST",
            )
            for line in order["lines"]
            if line["state"] != "CANCELED"
        ]
        mirakl.call(lambda m: m.cancel_lines(order["order_id"], lines))
    return {"cancelled": order["order_id"], "how": how}


def cancelled_on_mirakl(
    mirakl: BlockingMirakl, order: OrderFacts, how: str
) -> dict[str, Any] | None:
    """The cancellation's result if Mirakl's order already shows it, else None."""
    current = mirakl.call(lambda m: m.get_order(order["order_id"]))
    if how == "cancel_order":
        done = current.order_state == "CANCELED"
    else:
        wanted = {line["id"] for line in order["lines"] if line["state"] != "CANCELED"}
        states = {line.order_line_id: line.order_line_state for line in current.order_lines}
        done = all(states.get(i) == "CANCELED" for i in wanted)
    return {"cancelled": order["order_id"], "how": how, "found_on_mirakl": True} if done else None


def send_reply(state: AgentState, runtime: Runtime[RunContext], reply: str) -> None:
    services = services_of(runtime)
    actor_type, actor = actor_of(state)
    thread_id = state["thread_id"]
    marketplace = marketplace_of(state)
    mirakl = services.mirakl_for(marketplace)

    def post() -> dict[str, Any]:
        to = tuple(state.get("reply_to") or ("CUSTOMER",))
        result = mirakl.call(lambda m: m.reply(thread_id, reply, to=to))
        return {"message_id": result.message_id}

    def already_sent(since: datetime) -> dict[str, Any] | None:
        """This reply on Mirakl, posted after the customer's message (Mirakl's own clock) and
        since the first attempt began: an identical text sent earlier, e.g. to an earlier
        message, does not count."""
        thread = mirakl.call(lambda m: m.get_thread(thread_id))
        asked = next((m for m in thread.messages if m.id == state["message_id"]), None)
        after = max(since - CLOCK_SKEW, asked.date_created) if asked else since - CLOCK_SKEW
        posted = [m for m in thread.messages if m.author == "SHOP" and m.date_created > after]
        for message in posted:
            if message.body == reply:
                return {"message_id": message.id}
        if posted:
            # An earlier attempt for this message may have posted another text (the reviewer
            # edited it since): a second reply is not sent; a person decides.
            raise ActionFailed(
                f"a reply to this message may already be on Mirakl (message {posted[-1].id}, "
                "another text): not sending a second one; check the thread on Mirakl and ignore "
                "this review if it is answered"
            )
        return None

    result = perform_once(
        services.sessions,
        key=f"reply:{thread_id}:{state['message_id']}",
        action="reply.send",
        actor_type=actor_type,
        actor=actor,
        payload={"thread": thread_id, "reply_sha256": hashlib.sha256(reply.encode()).hexdigest()},
        act=post,
        already_done=already_sent,
        marketplace=marketplace,
    )
    # Stored under the reviewer's name when a person approved it, else the shop's.
    author = actor if actor_type == "human" else services.settings_for(marketplace).shop_name
    with transaction(runtime) as session:
        record_outbound(
            session, thread_id, result["message_id"], reply, author, marketplace=marketplace
        )


def close(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    actor_type, actor = actor_of(state)
    if state.get("decision") == "ignored":
        # A reviewer closed it: the customer's next message answers no question of csagent's.
        with transaction(runtime) as session:
            supersede(
                session, state["thread_id"], marketplace=marketplace_of(state),
                outcome=f"the thread was closed by {actor}",
            )  # fmt: skip
    perform_once(
        services_of(runtime).sessions,
        key=f"close:{state['thread_id']}:{state['message_id']}",
        action="thread.close",
        actor_type=actor_type,
        actor=actor,
        payload={"thread": state["thread_id"]},
        act=lambda: {"closed": True},
        marketplace=marketplace_of(state),
    )
    with transaction(runtime) as session:
        close_thread(session, state["thread_id"], marketplace=marketplace_of(state))
    return {"actions": [*state.get("actions", []), "thread_closed"]}


def after_act(state: AgentState) -> Literal["close", "human_review", "__end__"]:
    """Automated replies to status and cancellation requests end the conversation; an automated
    decision that could not be carried out waits for a person."""
    if state.get("act_error"):
        return "human_review"
    if state.get("decision") in ("accepted", "edited") or state.get("confirm"):
        return "__end__"  # a question asked waits for the customer's answer: not closed
    return "close" if state.get("route") in ("order_status", "cancellation_request") else "__end__"
