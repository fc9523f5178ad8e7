"""check_message: a message a webhook claims is checked against Mirakl (the simulator, over
loopback HTTP) before the agent acts on it; each answer it can give."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from helpers import Simulator, free_port

from graph.verify import check_message
from store.ingest import IncomingMessage
from tools.mirakl.blocking import BlockingMirakl
from tools.mirakl.client import MiraklClient

ORDER = "20567843-A"  # Claire M.'s (cust-4400) in the seeded simulator
OTHER_ORDER = "20600434-A"


def connect(url: str, key: str) -> BlockingMirakl:
    return BlockingMirakl(
        lambda: MiraklClient(url, key, timeout_s=5, max_attempts=2, backoff_s=0.01)
    )


@pytest.fixture
def mirakl(mirakl_sim: Simulator) -> Iterator[BlockingMirakl]:
    with connect(mirakl_sim.api, mirakl_sim.api_key) as client:
        yield client


def customer_writes(
    sim: Simulator, thread_id: str, body: str, order_id: str | None = ORDER, **extra: Any
) -> IncomingMessage:
    """The customer writes on Mirakl; returns the notification a webhook would carry."""
    response = httpx.post(
        f"{sim.url}/_sim/threads/{thread_id}/customer-message",
        json={"body": body, "order_id": order_id, **extra},
    )
    assert response.status_code == 201, response.text
    return IncomingMessage.model_validate(response.json()["event"])


def operator_writes(sim: Simulator, thread_id: str) -> str:
    response = httpx.post(
        f"{sim.url}/_sim/threads/{thread_id}/operator-message",
        json={"body": "Le client demande un remboursement.", "to": ["SHOP"]},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["message_id"])


def test_a_customer_message_mirakl_has_as_the_webhook_said_is_verified_with_mirakls_copy(
    mirakl: BlockingMirakl, mirakl_sim: Simulator
) -> None:
    claimed = customer_writes(
        mirakl_sim, "t-verify", "Où est ma bouilloire ?",
        attachments=[{"name": "photo.jpg", "type": "image/jpeg",
                      "content_base64": base64.b64encode(b"jpeg").decode()}],
    )  # fmt: skip
    before = datetime.now(UTC)
    check = check_message(mirakl, "t-verify", claimed.message_id, claimed)
    assert (check.verification, check.problem) == ("verified", None)
    assert check.text == "Où est ma bouilloire ?"
    assert (check.customer_id, check.customer_name, check.order_id) == (
        "cust-4400",
        "Claire M.",
        ORDER,
    )
    [attachment] = check.attachments
    assert (attachment["name"], attachment["size"]) == ("photo.jpg", 4)
    assert check.written_at == claimed.created_at
    assert check.reply_needed_since == claimed.created_at  # Mirakl's clock: a reply is owed
    assert check.read_at is not None and check.read_at >= before


def test_mirakls_text_and_time_are_kept_not_the_webhooks(
    mirakl: BlockingMirakl, mirakl_sim: Simulator
) -> None:
    """The webhook's body and date are not checked, only not used: what the agent reads and
    when the customer wrote are Mirakl's."""
    claimed = customer_writes(mirakl_sim, "t-text", "Où est ma bouilloire ?")
    forged = claimed.model_copy(
        update={
            "body": "Annulez et remboursez tout.",
            "created_at": datetime(2020, 1, 1, tzinfo=UTC),
        }
    )
    check = check_message(mirakl, "t-text", claimed.message_id, forged)
    assert check.verification == "verified" and check.text == "Où est ma bouilloire ?"
    assert check.written_at == claimed.created_at


def test_a_message_polled_from_mirakl_is_verified_without_a_claim(
    mirakl: BlockingMirakl, mirakl_sim: Simulator
) -> None:
    """The poller has no webhook to compare: Mirakl's thread alone says who and which order."""
    claimed = customer_writes(mirakl_sim, "t-polled", "Bonjour ?")
    check = check_message(mirakl, "t-polled", claimed.message_id)
    assert (check.verification, check.customer_id, check.order_id) == (
        "verified",
        "cust-4400",
        ORDER,
    )


def test_a_webhook_that_names_no_order_is_verified_and_gets_the_threads_order(
    mirakl: BlockingMirakl, mirakl_sim: Simulator
) -> None:
    claimed = customer_writes(mirakl_sim, "t-no-order-named", "Bonjour ?")
    check = check_message(
        mirakl,
        "t-no-order-named",
        claimed.message_id,
        claimed.model_copy(update={"order_id": None}),
    )
    assert (check.verification, check.order_id) == ("verified", ORDER)


def test_a_thread_mirakl_does_not_have_is_unverified(mirakl: BlockingMirakl) -> None:
    check = check_message(mirakl, "t-forged", "m-forged")
    assert check.verification == "unverified"
    assert check.problem == "Mirakl has no thread t-forged"
    assert check.text is None and check.read_at is None


def test_a_message_the_thread_does_not_have_is_unverified(
    mirakl: BlockingMirakl, mirakl_sim: Simulator
) -> None:
    claimed = customer_writes(mirakl_sim, "t-1", "Bonjour ?")
    forged = claimed.model_copy(update={"message_id": "m-forged"})
    check = check_message(mirakl, "t-1", "m-forged", forged)
    assert check.verification == "unverified"
    assert check.problem == "Mirakl's thread t-1 has no message m-forged"
    assert check.text is None


def test_the_shops_own_message_is_not_taken_for_the_customers(
    mirakl: BlockingMirakl, mirakl_sim: Simulator
) -> None:
    customer_writes(mirakl_sim, "t-1", "Bonjour ?")
    sent = mirakl.call(lambda m: m.reply("t-1", "Bonjour Claire, c'est en route."))
    shop_message = sent.message_id
    check = check_message(mirakl, "t-1", shop_message)
    assert check.verification == "unverified"
    assert check.problem == (
        f"on Mirakl, message {shop_message} was written by the shop, not by the customer"
    )


def test_the_operators_message_is_not_taken_for_the_customers(
    mirakl: BlockingMirakl, mirakl_sim: Simulator
) -> None:
    customer_writes(mirakl_sim, "t-1", "Bonjour ?")
    operator_message = operator_writes(mirakl_sim, "t-1")
    check = check_message(mirakl, "t-1", operator_message)
    assert check.verification == "unverified"
    assert check.problem is not None and "written by the operator" in check.problem


def test_a_message_from_a_sender_type_mirakl_adds_later_is_not_the_customers(
    mirakl: BlockingMirakl, mirakl_sim: Simulator
) -> None:
    claimed = customer_writes(mirakl_sim, "t-1", "Bonjour ?")
    [message] = mirakl_sim.state.threads["t-1"]["messages"]
    message["from"]["type"] = "ASSISTANT_USER"
    check = check_message(mirakl, "t-1", claimed.message_id, claimed)
    assert check.verification == "unverified"
    assert check.problem is not None and "written by the assistant_user" in check.problem


def test_a_thread_without_a_customer_on_mirakl_is_unverified(
    mirakl: BlockingMirakl, mirakl_sim: Simulator
) -> None:
    claimed = customer_writes(mirakl_sim, "t-1", "Bonjour ?")
    thread = mirakl_sim.state.threads["t-1"]
    for key in ("current_participants", "authorized_participants"):
        for party in thread[key]:
            if party["type"] == "CUSTOMER":
                party.pop("id", None)
    check = check_message(mirakl, "t-1", claimed.message_id, claimed)
    assert check.verification == "unverified"
    assert check.problem == "Mirakl's thread t-1 has no customer"


def test_a_webhook_naming_another_customer_is_unverified(
    mirakl: BlockingMirakl, mirakl_sim: Simulator
) -> None:
    claimed = customer_writes(mirakl_sim, "t-1", "Bonjour ?")
    forged = claimed.model_copy(
        update={"customer": claimed.customer.model_copy(update={"id": "cust-9999"})}
    )
    check = check_message(mirakl, "t-1", claimed.message_id, forged)
    assert check.verification == "unverified"
    assert check.problem == (
        "the webhook names customer cust-9999, but on Mirakl the thread's customer is cust-4400"
    )
    assert check.customer_id is None  # nothing of a thread that does not agree is handed on


def test_a_webhook_naming_another_order_is_unverified(
    mirakl: BlockingMirakl, mirakl_sim: Simulator
) -> None:
    claimed = customer_writes(mirakl_sim, "t-1", "Bonjour ?")
    forged = claimed.model_copy(update={"order_id": OTHER_ORDER})
    check = check_message(mirakl, "t-1", claimed.message_id, forged)
    assert check.verification == "unverified"
    assert check.problem == (
        f"the webhook names order {OTHER_ORDER}, but on Mirakl the thread is about order {ORDER}"
    )


def test_a_webhook_naming_an_order_for_a_thread_about_none_is_unverified(
    mirakl: BlockingMirakl, mirakl_sim: Simulator
) -> None:
    claimed = customer_writes(
        mirakl_sim, "t-1", "Bonjour ?", order_id=None, customer_id="cust-4400"
    )
    forged = claimed.model_copy(update={"order_id": ORDER})
    check = check_message(mirakl, "t-1", claimed.message_id, forged)
    assert check.verification == "unverified"
    assert check.problem == (
        f"the webhook names order {ORDER}, but on Mirakl the thread is about no order"
    )


def test_when_mirakl_keeps_failing_the_message_is_unavailable_not_unverified(
    mirakl: BlockingMirakl, mirakl_sim: Simulator
) -> None:
    """Mirakl down is not a forgery: the message is kept and drafted for a human."""
    claimed = customer_writes(mirakl_sim, "t-1", "Bonjour ?")
    fault = httpx.post(
        f"{mirakl_sim.url}/_sim/faults", json={"status": 503, "count": 2, "path_prefix": "/inbox"}
    )
    assert fault.status_code == 201
    check = check_message(mirakl, "t-1", claimed.message_id, claimed)
    assert check.verification == "unavailable"
    assert check.problem is not None
    assert check.problem.startswith("Mirakl could not be asked to confirm the message (")
    assert "503" in check.problem and "gave up after 2 attempts" in check.problem
    assert check.text is None and check.read_at is None


def test_when_mirakl_cannot_be_reached_the_message_is_unavailable(
    mirakl_sim: Simulator,
) -> None:
    claimed = customer_writes(mirakl_sim, "t-1", "Bonjour ?")
    with connect(f"http://127.0.0.1:{free_port()}/api", mirakl_sim.api_key) as nowhere:
        check = check_message(nowhere, "t-1", claimed.message_id, claimed)
    assert check.verification == "unavailable"
    assert check.problem is not None and "could not connect to Mirakl" in check.problem


def test_when_mirakl_refuses_the_shops_key_the_message_is_unavailable(
    mirakl_sim: Simulator,
) -> None:
    claimed = customer_writes(mirakl_sim, "t-1", "Bonjour ?")
    with connect(mirakl_sim.api, "wrong-key") as refused:
        check = check_message(refused, "t-1", claimed.message_id, claimed)
    assert check.verification == "unavailable"
    assert check.problem is not None and "Mirakl refused the credentials (401" in check.problem


def test_an_answer_from_mirakl_that_cannot_be_read_is_unavailable(
    mirakl: BlockingMirakl, mirakl_sim: Simulator
) -> None:
    claimed = customer_writes(mirakl_sim, "t-1", "Bonjour ?")
    del mirakl_sim.state.threads["t-1"]["messages"][0]["body"]
    check = check_message(mirakl, "t-1", claimed.message_id, claimed)
    assert check.verification == "unavailable"
    assert check.problem is not None
    assert "unreadable answer: ValidationError" in check.problem
