"""The internal business API (/internal/v1) and the agent tools that call it over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import Internal, Simulator, free_port
from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import AuditEntry, Order, Shipment
from store.settings import DEFAULT_MARKETPLACE, Settings
from tools.business import DRAFTING_TOOLS, BusinessApi, make_business_tools
from tools.refunds import RefundRules

KEY = "internal-key"  # the conftest `internal` fixture's key
SHIPPED = "20567843-A"  # kettle 39.90 + 4.90 shipping, parcel in transit
PREPARING = "20573388-A"  # still in the warehouse
NEW_ADDRESS = {
    "firstname": "Sophie", "lastname": "Bernard", "street_1": "8 avenue Jean Jaurès",
    "zip_code": "33000", "city": "Bordeaux", "country": "FRA", "phone": "+33 6 11 22 33 44",
}  # fmt: skip


# -- each endpoint: happy path, 401, 404, 422 -----------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/inventory/KET-BLU-17", f"/orders/{SHIPPED}/cost", f"/shipments/{SHIPPED}"]
)
@pytest.mark.parametrize("key", [None, "wrong", "webhook-key"])
def test_every_endpoint_needs_the_internal_key(
    internal: Internal, path: str, key: str | None
) -> None:
    response = internal.get(path, key=key)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


def test_inventory(internal: Internal) -> None:
    assert internal.get("/inventory/KET-BLU-17").json() == {
        "sku": "KET-BLU-17", "available": 14, "reserved": 2, "restock_date": None,
    }  # fmt: skip
    out = internal.get("/inventory/BLD-PRO-2").json()
    assert (out["available"], out["restock_date"]) == (0, "2026-12-15")
    missing = internal.get("/inventory/NOPE-1")
    assert missing.status_code == 404 and missing.json()["message"] == "unknown SKU NOPE-1"
    assert internal.get("/inventory/bad sku!").status_code == 422


def test_order_cost_and_margin(internal: Internal) -> None:
    cost = internal.get(f"/orders/{SHIPPED}/cost").json()
    assert cost["items"] == [
        {"sku": "KET-BLU-17", "qty": 1, "unit_price": "39.90", "unit_cost": "19.15"}
    ]
    assert (cost["shipping_price"], cost["shipping_cost"], cost["marketplace_fee"]) == (
        "4.90",
        "6.40",
        "6.72",
    )
    # 39.90 + 4.90 paid, minus 19.15 goods, 6.40 carrier and 6.72 marketplace fee
    assert cost["margin"] == "12.53"
    assert internal.get("/orders/99999999-A/cost").status_code == 404
    invalid = internal.get("/orders/not-an-order/cost")
    assert invalid.status_code == 422 and invalid.json()["error"] == "invalid_request"


def test_shipment(internal: Internal) -> None:
    shipment = internal.get(f"/shipments/{SHIPPED}").json()
    assert shipment["carrier_code"] == "COLISSIMO" and shipment["tracking_number"].startswith("6A")
    assert shipment["status"] == "in_transit"
    assert [e["status"] for e in shipment["events"]] == ["shipped", "in_transit"]
    assert shipment["address"]["city"]
    assert internal.get("/shipments/99999999-A").status_code == 404
    assert internal.get("/shipments/abc").status_code == 422
    # The shapes of Mirakl's published examples are order ids: unknown here, not malformed.
    assert internal.get("/shipments/MIR-8EFZBFMN-A").status_code == 404
    assert internal.get("/shipments/Order_00010-A").status_code == 404


def test_address_change_before_shipment(internal: Internal, session: Session) -> None:
    response = internal.put(f"/shipments/{PREPARING}/address", NEW_ADDRESS)
    assert response.status_code == 200, response.text
    assert response.json()["address"]["street_1"] == "8 avenue Jean Jaurès"
    order = session.scalars(select(Order).where(Order.mirakl_order_id == PREPARING)).one()
    assert order.shipping_address is not None and order.shipping_address["zip_code"] == "33000"
    audit = session.scalars(select(AuditEntry)).one()
    assert (audit.action, audit.outcome, audit.order_id) == (
        "shipment.address_updated",
        "succeeded",
        order.id,
    )
    assert audit.payload["to"]["city"] == "Bordeaux" and audit.payload["from"]["city"] != "Bordeaux"


def test_address_change_after_shipment_is_409_with_the_reason(
    internal: Internal, session: Session
) -> None:
    response = internal.put(f"/shipments/{SHIPPED}/address", NEW_ADDRESS)
    assert response.status_code == 409
    assert "already left the warehouse (status in_transit)" in response.json()["message"]
    shipment = session.scalars(
        select(Shipment).join(Order).where(Order.mirakl_order_id == SHIPPED)
    ).one()
    assert shipment.address is not None and shipment.address["street_1"] != NEW_ADDRESS["street_1"]
    assert session.scalars(select(AuditEntry)).all() == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"country": "France"}, "country"),
        ({"street_1": ""}, "street_1"),
        ({"zip_code": "<script>"}, "zip_code"),
        ({"phone": "call me"}, "phone"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_invalid_address_is_422_with_reasons(
    internal: Internal, change: dict[str, Any], field: str
) -> None:
    response = internal.put(f"/shipments/{PREPARING}/address", {**NEW_ADDRESS, **change})
    assert response.status_code == 422
    assert field in response.json()["message"]
    assert internal.put("/shipments/99999999-A/address", NEW_ADDRESS).status_code == 404


# -- the tools ----------------------------------------------------------------------------------


def test_an_id_from_a_model_can_never_walk_to_another_resource(tools: dict[str, Any]) -> None:
    """A SKU or order id written by a model that follows instructions in a customer message:
    it stays one path segment, so `..` cannot reach another customer's shipment or costs."""
    shipment = tools["get_shipment"].invoke({"order_id": SHIPPED})
    assert shipment["status"] == "in_transit"  # what the walk would have read
    for sku in (
        f"../shipments/{SHIPPED}",
        f"..%2Fshipments%2F{SHIPPED}",
        "..",
        ".",
        f"../orders/{SHIPPED}/cost",
    ):
        answer = tools["check_inventory"].invoke({"sku": sku})
        assert "error" in answer and answer["status"] in (400, 404, 422), (sku, answer)
        assert "address" not in str(answer) and "margin" not in str(answer)
    answer = tools["get_order_cost"].invoke({"order_id": f"{SHIPPED}/../../shipments/{SHIPPED}"})
    assert "error" in answer and "address" not in str(answer)


def test_tools_return_api_answers_and_readable_errors(tools: dict[str, Any]) -> None:
    assert tools["check_inventory"].invoke({"sku": "VAC-CYC-900"})["available"] == 3
    assert tools["check_inventory"].invoke({"sku": "NOPE-1"}) == {
        "error": "unknown SKU NOPE-1",
        "status": 404,
    }
    assert tools["get_shipment"].invoke({"order_id": SHIPPED})["status"] == "in_transit"
    refused = tools["update_shipping_address"].invoke({"order_id": SHIPPED, "address": NEW_ADDRESS})
    assert refused["status"] == 409 and "already left the warehouse" in refused["error"]
    done = tools["update_shipping_address"].invoke({"order_id": PREPARING, "address": NEW_ADDRESS})
    assert done["address"]["city"] == "Bordeaux"


def test_refund_tool_quotes_from_the_order_and_the_rules(tools: dict[str, Any]) -> None:
    refund = tools["compute_partial_refund"]
    damaged = refund.invoke({"order_id": SHIPPED, "reason": "damaged"})
    assert (damaged["amount"], damaged["needs_approval"]) == ("44.80", False)
    assert damaged["rule_applied"].startswith("damaged: 100 % of the price paid")
    partial = refund.invoke(
        {"order_id": SHIPPED, "reason": "missing_part", "items": [{"sku": "KET-BLU-17", "qty": 1}]}
    )
    assert partial["amount"] == "11.97"
    assert refund.invoke(
        {"order_id": SHIPPED, "reason": "damaged", "items": [{"sku": "KET-BLU-17", "qty": 3}]}
    ) == {"error": f"order {SHIPPED} has only 1 x KET-BLU-17"}
    assert (
        "unknown reason 'changed_mind'"
        in refund.invoke({"order_id": SHIPPED, "reason": "changed_mind"})["error"]
    )
    assert refund.invoke({"order_id": "99999999-A", "reason": "damaged"})["status"] == 404


def test_tools_survive_an_unreachable_api() -> None:
    api = BusinessApi(f"http://127.0.0.1:{free_port()}/internal/v1", KEY)
    tools = make_business_tools(
        api, RefundRules.load(Settings().refund_rules_path), DEFAULT_MARKETPLACE
    )
    assert tools["get_shipment"].invoke({"order_id": SHIPPED}) == {
        "error": "business API unreachable: ConnectError", "status": None,
    }  # fmt: skip


def test_drafting_tools_cannot_change_anything() -> None:
    assert "update_shipping_address" not in DRAFTING_TOOLS
    schema = make_business_tools(
        BusinessApi("http://x", "k"),
        RefundRules.load(Settings().refund_rules_path),
        DEFAULT_MARKETPLACE,
    )
    assert set(DRAFTING_TOOLS) < set(schema)
    assert "order_id" in schema["compute_partial_refund"].args


def test_ids_are_checked_and_quoted_in_one_place_for_every_url() -> None:
    """store/ids.py: what reaches a URL is one segment or one list item, or it is refused."""
    from store.ids import InvalidId, list_item, url_segment

    assert url_segment("../shipments/1-A") == "..%2Fshipments%2F1-A"
    assert url_segment("a?b#c%d") == "a%3Fb%23c%25d"
    for bad in ("", " ", ".", "..", "a\nb", "x" * 256, None):
        with pytest.raises(InvalidId):
            url_segment(bad)
    with pytest.raises(InvalidId):
        list_item("20567843-A,20567844-A")  # one id cannot become two in OR11's order_ids
    assert list_item("20567843-A") == "20567843-A"


def test_the_mirakl_client_refuses_an_id_that_would_become_two_orders(
    mirakl_sim: Simulator,
) -> None:
    from pydantic import SecretStr

    from tools.mirakl.blocking import BlockingMirakl
    from tools.mirakl.client import MiraklClient
    from tools.mirakl.errors import MiraklRejected

    settings = Settings(mirakl_base_url=mirakl_sim.api, mirakl_api_key=SecretStr("sim-shop-key"))
    some, other = list(mirakl_sim.state.orders)[:2]
    with BlockingMirakl(lambda: MiraklClient.from_settings(settings)) as client:
        with pytest.raises(MiraklRejected, match="no comma"):
            client.call(lambda c: c.get_order(f"{some},{other}"))
        with pytest.raises(MiraklRejected, match="invalid Mirakl id"):
            client.call(lambda c: c.get_thread(".."))
        assert client.call(lambda c: c.get_order(some)).order_id == some


def test_the_shipment_of_an_order_in_mirakls_published_shape_is_served(
    internal: Internal, mirakl_sim: Simulator
) -> None:
    """An order created on the simulator through its API carries the spec's address fields
    (company, state, additional_info, country_iso_code): the warehouse API still answers with
    its address (it answered 500, so no address change could ever be confirmed)."""
    import copy
    from datetime import UTC, datetime

    from store.business import record_mirakl_order
    from store.db import session_scope
    from store.mirakl_models import Order as MiraklOrder

    template = next(
        o for o in mirakl_sim.state.orders.values() if o["order_state"] == "WAITING_ACCEPTANCE"
    )
    order = copy.deepcopy(template)
    order["order_id"] = "77000001-A"
    address = order["customer"]["shipping_address"]
    address.update({"company": None, "state": None, "additional_info": "code 1234",
                    "country_iso_code": address.get("country_iso_code") or "FRA"})  # fmt: skip
    with session_scope() as session:  # as the agent records an order it read from Mirakl
        record_mirakl_order(
            session,
            MiraklOrder.model_validate(order),
            datetime.now(UTC),
            marketplace=DEFAULT_MARKETPLACE,
        )
    answer = internal.get("/shipments/77000001-A")
    assert answer.status_code == 200, answer.text
    served = answer.json()["address"]
    assert served["street_1"] == address["street_1"] and len(served["country"]) == 3
    assert "additional_info" not in served
