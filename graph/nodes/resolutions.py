"""The automated resolutions: order status, cancellation, address change. Each decides by
policy code and writes the reply; `act` carries the decision out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from langgraph.runtime import Runtime

from graph.address import parse_address
from graph.drafting import PHRASES, greeting, order_sentence, reply_language, sign_off
from graph.policies import PolicyDecision, address_policy, cancellation_policy
from graph.services import RunContext, services_of
from graph.state import AgentState, marketplace_of
from store.facts import Address, OrderFacts, one_line, whole_address
from store.mirakl_models import CANCELLABLE_STATES


def compose(state: AgentState, runtime: Runtime[RunContext], *sentences: str) -> str:
    lang = reply_language(state.get("language") or "en")
    shop = services_of(runtime).settings_for(marketplace_of(state)).shop_name
    conversation = state.get("conversation")
    title = conversation.get("title") if conversation else None
    return "\n\n".join(
        [greeting(state.get("customer_name"), lang, title), *sentences, *sign_off(lang, shop)]
    )


def _order(state: AgentState) -> OrderFacts:
    order = state.get("order")
    assert order is not None, "automated branches run only when the order was found"
    return order


def _to_review(reason: str) -> dict[str, Any]:
    return {"route": "draft", "reason": reason, "action": None}


# Order states csagent may describe by itself (an honest sentence in five languages exists and a
# customer asking where the order is gets a complete answer). Every other state goes to a human,
# with why; see graph.drafting.order_sentence for the sentences.
DESCRIBED_STATES = frozenset(
    {"STAGING", "WAITING_ACCEPTANCE", "WAITING_DEBIT", "WAITING_DEBIT_PAYMENT", "SHIPPING",
     "SHIPPED", "TO_COLLECT", "CANCELED"}
)  # fmt: skip
WHY_A_HUMAN = {
    "RECEIVED": "Mirakl says it was delivered, yet the customer asks about it",
    "CLOSED": "Mirakl says it was delivered and the order is closed, yet the customer asks",
    "REFUSED": "the order was refused: the customer deserves the reason",
    "INCIDENT_OPEN": "an incident is open on it",
    "INCIDENT_CLOSED": "an incident was handled on it",
    "WAITING_REFUND": "a refund is waiting",
    "WAITING_REFUND_PAYMENT": "a refund is being paid",
    "REFUNDED": "it was refunded",
}


def order_status(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    order = _order(state)
    lang = reply_language(state.get("language") or "en")
    sentence = order_sentence(order, lang) if order["state"] in DESCRIBED_STATES else None
    if sentence is None:
        why = WHY_A_HUMAN.get(
            order["state"],
            "it has no tracking number on Mirakl"
            if order["state"] in ("SHIPPED", "TO_COLLECT")
            else "csagent has no sentence for this state",
        )
        return _to_review(
            f"order {order['order_id']} is {order['state']} on Mirakl and {why}: "
            "nothing is stated automatically"
        )
    return {"reply": compose(state, runtime, sentence), "action": "send_reply"}


def cancellation(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    order = _order(state)
    created = datetime.fromisoformat(order["created"]) if order["created"] else None
    decision = cancellation_policy(
        order["state"],
        created,
        order["shipment_status"],
        datetime.now(UTC),
        services_of(runtime).settings_for(marketplace_of(state)).cancellation_window_hours,
    )
    if not decision.allowed:
        # What Mirakl would still accept, for a reviewer who decides otherwise.
        proposal = (
            "cancel_order"
            if order["state"] in CANCELLABLE_STATES
            else "cancel_lines"
            if order["state"] == "SHIPPING"
            else None
        )
        lang = reply_language(state.get("language") or "en")
        confirm = PHRASES[lang]["cancel_done"].format(order=order["order_id"])
        return {
            **_to_review(f"cancellation refused by policy: {decision.reason}"),
            "proposal": proposal,
            "proposal_reply": compose(state, runtime, confirm) if proposal else None,
        }
    lang = reply_language(state.get("language") or "en")
    sentence = PHRASES[lang]["cancel_done"].format(order=order["order_id"])
    done = compose(state, runtime, sentence)
    how, why = how_to_act(state, runtime, "cancellation_request")
    if how == "review":
        return {
            **_to_review(f"{decision.reason}; cancellations are approved by a person here "
                         f"({why})"),
            "proposal": decision.action,
            "proposal_reply": done,
        }  # fmt: skip
    if how == "confirm":
        asked = ask_to_confirm(state, runtime, decision.action or "cancel_order", order)
        return {**asked, "reason": f"{asked['reason']} ({why})"}
    return {
        "reply": done,
        "action": decision.action,  # cancel_order or cancel_lines, as the policy decided
        "reason": f"{decision.reason} ({why})",
    }


def how_to_act(
    state: AgentState, runtime: Runtime[RunContext], intent: str
) -> tuple[Literal["confirm", "direct", "review"], str]:
    """The marketplace's action mode for `intent`, and why. `direct` holds only when a second
    reading by the configured LLM agrees the customer explicitly asks for it now; without an
    LLM, or when it disagrees or fails, the customer is asked to confirm."""
    services = services_of(runtime)
    mode = services.settings_for(marketplace_of(state)).action_mode(intent)
    if mode != "direct":
        return mode, f"action mode {mode}"
    order = _order(state)
    opinion = services.classifier.second_opinion(state["text"], intent, order["order_id"])
    if opinion.agrees:
        return "direct", f"action mode direct: {opinion.why}"
    return "confirm", f"action mode direct, but {opinion.why}: the customer is asked"


def lines_text(lines: Iterable[Mapping[str, Any]], currency: str) -> str:
    """ "1 × Wireless headphones (59.90 EUR)": order lines, as a question recorded them."""
    return ", ".join(
        f"{line['qty']} × {line['product']} ({Decimal(line['price']):.2f} {currency})"
        for line in lines
    )


def ask_to_confirm(
    state: AgentState,
    runtime: Runtime[RunContext],
    action: str,
    order: OrderFacts,
    address: Address | None = None,
) -> dict[str, Any]:
    """Tell the customer exactly what will be done and ask for a yes; `act` records the
    question once the reply is sent, and the customer's answer is read by the `confirmation`
    node (graph/nodes/confirmation.py)."""
    if action == "update_address":
        assert address is not None
        details: dict[str, Any] = {"address": dict(address)}
    else:
        details = {
            "lines": [
                {"id": line["id"], "product": line["product"], "qty": line["qty"],
                 "price": line["price"]}
                for line in order["lines"] if line["state"] != "CANCELED"
            ],
            "currency": order["currency"],
        }  # fmt: skip
    return question(state, runtime, action, order["order_id"], details)


def question(
    state: AgentState,
    runtime: Runtime[RunContext],
    action: str,
    order_id: str,
    details: dict[str, Any],
    again: bool = False,
) -> dict[str, Any]:
    """The question, in the customer's language, with its deadline; `again`: asked once more,
    for a plain yes, after an answer that looked like a yes in words csagent does not read."""
    settings = services_of(runtime).settings_for(marketplace_of(state))
    # From when the customer wrote (Mirakl's date), so a retried run words the question alike.
    written = state.get("message_at")
    now = datetime.fromisoformat(written) if written else datetime.now(UTC)
    until = now + timedelta(hours=settings.confirmation_hours)
    lang = reply_language(state.get("language") or "en")
    address = details.get("address")
    phrase = ("confirm_again_" if again else "confirm_") + (
        "address" if action == "update_address" else "cancel"
    )
    sentence = PHRASES[lang][phrase].format(
        order=order_id,
        address=whole_address(address) if address else "",
        items=lines_text(details.get("lines", []), details.get("currency", "")),
        until=until.strftime("%Y-%m-%d %H:%M UTC"),
    )
    what = f"{action.replace('_', ' ')} of order {order_id}"
    return {
        "reply": compose(state, runtime, sentence),
        "action": "send_reply",
        "reason": f"asking the customer again, for a plain yes ({what})"
        if again
        else f"asking the customer to confirm ({what}) before doing it",
        "confirm": {
            "order_id": order_id,
            "action": action,
            "details": {**details, "again": True} if again else details,
            "language": lang,
            "requested_at": now.isoformat(),
            "expires_at": until.isoformat(),
        },
    }


def address_update(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    order = _order(state)
    current_address: dict[str, Any] = dict(order["address"] or {})
    reading = parse_address(state["text"], current_address.get("country"), state.get("language"))
    parsed = reading.fields() if reading.complete else None
    address = new_address(order, parsed) if parsed else None
    lang = reply_language(state.get("language") or "en")
    # Refused below, the parsed address still goes to the reviewer, who may correct and apply it.
    proposal: dict[str, Any] = {}
    if address is not None:
        where = one_line(address)
        confirm = PHRASES[lang]["address_done"].format(order=order["order_id"], address=where)
        proposal = {
            "proposal": "update_address",
            "address": address,
            "proposal_reply": compose(state, runtime, confirm),
        }
    decision, unconfirmed = redirect_decision(state, runtime, order, parsed)
    if unconfirmed:
        return {**_to_review(unconfirmed), **proposal}
    if reading.problems:
        shown = ", ".join(f"{k} {v}" for k, v in reading.fields().items()) or "nothing"
        return _to_review(
            f"the new address could not be read safely ({'; '.join(reading.problems)}); "
            f"read: {shown}"
        )
    if not decision.allowed or address is None:
        return {**_to_review(f"address change refused by policy: {decision.reason}"), **proposal}
    lang = reply_language(state.get("language") or "en")
    where = one_line(address)
    sentence = PHRASES[lang]["address_done"].format(order=order["order_id"], address=where)
    how, why = how_to_act(state, runtime, "address_update")
    if how == "review":
        return {
            **_to_review(f"{decision.reason}; address changes are approved by a person here "
                         f"({why})"),
            **proposal,
        }  # fmt: skip
    if how == "confirm":
        asked = ask_to_confirm(state, runtime, "update_address", order, address)
        return {**asked, "address": address, "reason": f"{asked['reason']} ({why})"}
    return {
        "reply": compose(state, runtime, sentence),
        "address": address,
        "action": decision.action,
        "reason": f"{decision.reason} ({why})",
    }


def redirect_decision(
    state: AgentState,
    runtime: Runtime[RunContext],
    order: OrderFacts,
    address: dict[str, Any] | None,
) -> tuple[PolicyDecision, str | None]:
    """May the parcel go to `address`? Mirakl's state (read in this run) first; then the
    warehouse, which redirects the parcel, must say it has not left, now (the seller's internal
    API). The second value says why the warehouse could not be asked (a person redirects)."""
    decision = address_policy(order["shipment_status"], address)
    if not decision.allowed:
        return decision, None
    shipment = services_of(runtime).business.shipment(
        order["order_id"], marketplace=marketplace_of(state)
    )
    if "error" in shipment:
        return decision, (
            f"the warehouse system could not confirm the shipment of order "
            f"{order['order_id']} ({shipment['error']}): a person redirects it"
        )
    return address_policy(shipment.get("status"), address), None


def new_address(order: OrderFacts, parsed: dict[str, str]) -> Address:
    """The new address as read, with the recipient of the current one; its apartment line and
    phone are kept unless the message gives new ones."""
    current: dict[str, Any] = dict(order["address"] or {})
    return Address(
        firstname=current.get("firstname"),
        lastname=current.get("lastname") or "Customer",
        street_1=parsed["street_1"],
        # The old apartment line belongs to the old building: kept only for the same street.
        street_2=parsed.get("street_2")
        or (current.get("street_2") if parsed["street_1"] == current.get("street_1") else None),
        zip_code=parsed["zip_code"],
        city=parsed["city"],
        country=parsed["country"],
        phone=parsed.get("phone") or current.get("phone"),
    )


def after_automation(
    state: AgentState, runtime: Runtime[RunContext]
) -> Literal["draft", "human_review", "act"]:
    """A decision taken by policy code is carried out, unless it is for a person or shadowed."""
    if state.get("route") == "draft":
        return "draft"
    if services_of(runtime).settings.automation_mode == "shadow":
        return "human_review"
    return "act"
