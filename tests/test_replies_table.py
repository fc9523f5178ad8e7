"""`decide`, one intent at a time: the decision a reply states first for each state of the order,
with the facts its sentence quotes and the policy passage it cites."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest

from graph.classify.intents import INTENTS
from graph.replies import DECIDERS, Decision, decide
from graph.state import Conversation
from store.facts import OrderFacts
from store.settings import Settings
from tools.refunds import RefundRules

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
ADDRESS = {"lastname": "Dupont", "street_1": "1 rue de la Paix", "zip_code": "75001",
           "city": "Paris", "country": "FRA"}  # fmt: skip


def _order(state: str, **facts: Any) -> OrderFacts:
    order: dict[str, Any] = {
        "order_id": "42000010-A", "customer_id": "c", "state": state,
        "created": "2026-11-24T20:00:00+00:00", "currency": "EUR",
        "lines": [{"id": "L1", "product": "Kettle Deluxe", "qty": 1, "price": "49.90",
                   "state": None}],
        "shipment_status": None, "carrier": None, "tracking_number": None, "tracking_url": None,
        "address": None, "source": "mirakl", "fetched_at": NOW.isoformat(),
        "shipping_price": "4.90",
    }  # fmt: skip
    order.update(facts)
    return cast(OrderFacts, order)


def _conversation(*inbound: str, photos: int = 0, since: str | None = None) -> Conversation:
    return {"thread_id": "t", "customer_name": None, "language": "en",
            "history": [("inbound", m) for m in inbound], "question": inbound[-1],
            "search_query": inbound[-1], "photos": photos, "waiting_since": since}  # fmt: skip


def _decide(intent: str, text: str, order: OrderFacts | None, **kw: Any) -> Decision | None:
    conversation = _conversation(text, photos=kw.pop("photos", 0), since=kw.pop("since", None))
    return decide(intent, text, order, conversation, now=NOW, lang="en", **kw)


SHIPPED = "2026-11-08T09:00:00+00:00"
DELIVERED = "2026-11-10T09:00:00+00:00"  # the return window ends on 24 November


@pytest.mark.parametrize(
    ("intent", "order", "kind", "values", "policy"),
    [
        ("cancellation_request", _order("CANCELED"), "cancel_already", {}, None),
        ("cancellation_request", _order("SHIPPED", shipped=SHIPPED), "cancel_refused_shipped",
         {"date": "8 November 2026"}, ("cancellations", 2, 1, 2)),
        ("cancellation_request", _order("SHIPPING", shipment_status="in_transit"),
         "cancel_refused_shipped_nodate", {}, ("cancellations", 2, 1, 2)),
        ("cancellation_request", _order("RECEIVED"), "cancel_refused_shipped_nodate", {},
         ("returns", 0, 0, 1)),
        ("cancellation_request", _order("RECEIVED", shipped=SHIPPED, delivered=DELIVERED),
         "cancel_refused_shipped_delivered_closed",
         {"date": "8 November 2026", "deadline": "24 November 2026"}, ("warranty", 0, 0, 1)),
        ("cancellation_request", _order("WAITING_ACCEPTANCE"), "cancel_possible", {},
         ("cancellations", 0, 1, 2)),
        ("cancellation_request", _order("SHIPPING", created="2026-11-20T08:00:00+00:00"),
         "cancel_refused_window", {"date": "20 November 2026", "hours": "24"}, None),
        ("return_request", _order("RECEIVED", delivered=DELIVERED), "return_closed",
         {"date": "24 November 2026"}, ("warranty", 0, 0, 1)),
        ("return_request", _order("SHIPPING"), "return_not_delivered", {}, None),
        ("delivery_issue", _order("SHIPPED"), "order_state", {}, None),
        ("address_update", _order("RECEIVED"), "address_refused_delivered", {}, None),
        ("address_update", _order("SHIPPED", tracking_number="6A123", carrier="Colissimo"),
         "address_refused_shipped", {"tracking": "6A123", "carrier": "Colissimo"},
         ("cancellations", 4, 2, 3)),
        ("address_update", _order("SHIPPING", shipment_status="shipped"),
         "address_refused_nodate", {"tracking": "", "carrier": ""}, None),
        ("address_update", _order("SHIPPING"), "address_needed", {}, None),
        ("invoice_request", _order("SHIPPED"), "invoice_available", {}, ("invoices", 0, 1, 2)),
        ("invoice_request", _order("SHIPPING"), "invoice_later", {}, None),
        ("order_status", _order("SHIPPING"), "order_state", {}, None),
    ],
)  # fmt: skip
def test_each_intent_states_the_decision_the_order_allows(
    intent: str,
    order: OrderFacts,
    kind: str,
    values: dict[str, str],
    policy: tuple[str, int, int, int] | None,
) -> None:
    decision = _decide(intent, "please", order)
    assert decision is not None
    assert (decision.kind, decision.values, decision.policy) == (
        kind, {"order": "42000010-A", **values}, policy
    )  # fmt: skip


@pytest.mark.parametrize(
    ("intent", "state"),
    [("cancellation_request", "REFUSED"), ("address_update", "CANCELED"),
     ("invoice_request", "REFUSED"), ("return_request", "CANCELED")],
)  # fmt: skip
def test_an_order_the_shop_refused_or_cancelled_is_explained_by_a_person(
    intent: str, state: str
) -> None:
    assert _decide(intent, "please", _order(state)) is None


def test_a_cancellation_asked_in_the_return_window_points_to_the_return() -> None:
    order = _order("RECEIVED", shipped=SHIPPED, delivered=DELIVERED)
    d = _decide("cancellation_request", "cancel it", order, since="2026-11-20T10:00:00+00:00")
    assert d is not None and d.kind == "cancel_refused_shipped_delivered"
    assert d.policy == ("returns", 1, 0, 1) and d.values["deadline"] == "24 November 2026"


def test_an_order_still_in_the_warehouse_without_a_creation_date_is_left_to_a_person() -> None:
    assert _decide("cancellation_request", "cancel it", _order("SHIPPING", created=None)) is None


def test_a_new_address_not_yet_shipped_is_read_back_in_one_line() -> None:
    d = _decide("address_update", "please send it to 1 rue de la Paix", _order("SHIPPING"),
                address=ADDRESS)  # fmt: skip
    assert d is not None and d.kind == "address_possible"
    assert "1 rue de la Paix" in d.values["address"] and "Paris" in d.values["address"]


def test_a_company_invoice_cites_the_company_passage_before_and_after_shipping() -> None:
    text = "I need the invoice in my company's name, VAT number FR123"
    for state in ("SHIPPED", "SHIPPING"):
        d = _decide("invoice_request", text, _order(state))
        assert d is not None and d.policy == ("invoices", 1, 0, 2), state


def test_damage_reported_in_time_without_photos_asks_for_them_by_a_date() -> None:
    order = _order("RECEIVED", shipped=SHIPPED, delivered="2026-11-20T09:00:00+00:00")
    d = _decide("delivery_issue", "The kettle arrived broken", order)
    assert d is not None and d.kind == "damaged_photos_needed"
    assert d.values["date"] == "27 November 2026" and d.policy == ("damaged-items", 0, 1, 3)


@pytest.mark.parametrize(
    ("text", "kind", "amount"),
    [("The kettle arrived cracked.", "damaged_photos_received", "€54.80"),
     ("The kettle arrived cracked, I would prefer a refund.", "damaged_photos_received_refund",
      "€54.80"),
     ("The kettle arrived cracked, I would like a replacement.",
      "damaged_photos_received_replace", "€54.80")],
)  # fmt: skip
def test_damage_with_photos_offers_what_the_customer_asked_for(
    text: str, kind: str, amount: str
) -> None:
    rules = RefundRules.load(Settings().refund_rules_path)
    order = _order("RECEIVED", delivered="2026-11-20T09:00:00+00:00")
    d = _decide("delivery_issue", text, order, photos=2, refund_rules=rules)
    assert d is not None and d.kind == kind and d.values.get("amount") == amount


def test_no_order_is_asked_for_or_being_checked() -> None:
    assert getattr(_decide("order_status", "where is it", None), "kind", None) == "order_needed"
    d = _decide("return_request", "return", None, unverified="Mirakl did not answer")
    assert d is not None and d.kind == "order_checking" and "Mirakl did not answer" in d.why


def test_only_requests_about_an_order_state_a_decision() -> None:
    assert set(DECIDERS) < set(INTENTS)
    for intent in (*set(INTENTS) - set(DECIDERS), None, "unknown"):
        assert _decide(intent, "The kettle arrived broken", _order("SHIPPED")) is None  # type: ignore[arg-type]
