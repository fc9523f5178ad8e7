"""Mirakl's published seller OpenAPI is the contract: the client reads the spec's own examples,
the models hold against the spec's schemas, and the simulator answers (and refuses) as the spec
documents. Nothing here was written by csagent but the code under test."""

from __future__ import annotations

import json
import types
import typing
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from helpers import Simulator
from pydantic import AwareDatetime, BaseModel

from store.mirakl_models import (
    InboxMessage,
    InboxThread,
    MessageSender,
    NoStoreReplyNeeded,
    Order,
    OrderCustomer,
    OrderLine,
    Participant,
    ReplyInput,
    ShippingAddress,
    Shop,
    ThreadMetadata,
    Topic,
)
from store.settings import DEFAULT_MARKETPLACE
from tools.mirakl.client import MiraklClient
from tools.mirakl.errors import MiraklRejected
from tools.mirakl.events import incoming_from_mirakl
from tools.mirakl.models import Entity, OrderPage, ReplyResult, ThreadPage
from tools.mirakl.spec import (
    enum_values,
    operation,
    response_differences,
    response_examples,
    schemas,
)

# -- the spec's examples through the client's real HTTP path ------------------------------------


def spec_mirakl(operation_id: str, example: str) -> httpx.MockTransport:
    """A transport answering each of the spec's paths with its published example body."""
    routes = {
        "/api/inbox/threads": "M11",
        "/api/orders": "OR11",
        "/api/account": "A01",
    }

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        op = routes.get(path) or ("M10" if path.startswith("/api/inbox/threads/") else None)
        if op != operation_id:
            return httpx.Response(404, json={"status": 404, "message": f"no example for {path}"})
        return httpx.Response(200, json=response_examples(op)[example])

    return httpx.MockTransport(answer)


EXAMPLES = ["application/json-0", "application/json-auto"]


@pytest.mark.asyncio
@pytest.mark.parametrize("example", EXAMPLES)
async def test_client_reads_both_published_m11_examples(example: str) -> None:
    published = response_examples("M11")[example]
    async with MiraklClient(
        "https://x.mirakl.net/api", "k", transport=spec_mirakl("M11", example)
    ) as client:
        page = await client.list_threads(with_messages=True)
    thread = page.data[0]
    raw = published["data"][0]
    assert thread.id == raw["id"]
    assert thread.date_updated == datetime.fromisoformat(raw["date_updated"])
    assert page.next_page_token == published.get("next_page_token")
    assert thread.metadata is not None
    assert thread.metadata.total_count == raw["metadata"]["total_count"]
    assert thread.metadata.last_sender is not None
    assert thread.metadata.last_sender.type == raw["metadata"]["last_sender"]["type"]
    since = raw["metadata"]["shop_reply_needed_since"]
    assert thread.reply_needed_since == (datetime.fromisoformat(since) if since else None)
    customer = next((p for p in raw["current_participants"] if p["type"] == "CUSTOMER"), None)
    assert (thread.customer.id if thread.customer else None) == (customer or {}).get("id")
    for message, raw_message in zip(thread.messages, raw.get("messages", []), strict=True):
        assert message.sender.type == raw_message["from"]["type"]
        assert message.author == raw_message["from"]["type"].removesuffix("_USER")
        assert message.body == raw_message["body"]


@pytest.mark.asyncio
@pytest.mark.parametrize("example", EXAMPLES)
async def test_client_reads_both_published_m10_examples(example: str) -> None:
    published = response_examples("M10")[example]
    async with MiraklClient(
        "https://x.mirakl.net/api", "k", transport=spec_mirakl("M10", example)
    ) as client:
        thread = await client.get_thread(published["id"])
    assert thread.id == published["id"]
    assert [m.id for m in thread.messages] == [m["id"] for m in published["messages"]]
    authors = [m.author for m in thread.messages]
    assert authors == [m["from"]["type"].removesuffix("_USER") for m in published["messages"]]
    assert len(thread.no_store_reply_needed) == len(published.get("no_store_reply_needed", []))


@pytest.mark.asyncio
@pytest.mark.parametrize("example", EXAMPLES)
async def test_client_reads_both_published_or11_examples(example: str) -> None:
    published = response_examples("OR11")[example]
    async with MiraklClient(
        "https://x.mirakl.net/api", "k", transport=spec_mirakl("OR11", example)
    ) as client:
        page = await client.list_orders()
    assert page.total_count == published["total_count"]
    order, raw = page.orders[0], published["orders"][0]
    assert (order.order_id, order.order_state) == (raw["order_id"], raw["order_state"])
    assert order.total_price == Decimal(str(raw["total_price"]))
    assert order.customer is not None
    assert order.customer.customer_id == raw["customer"]["customer_id"]
    address = raw["customer"]["shipping_address"]
    assert order.customer.shipping_address is not None
    assert order.customer.shipping_address.city == address["city"]
    assert order.customer.shipping_address.country_iso_code == address["country_iso_code"]
    assert [ln.order_line_id for ln in order.order_lines] == [
        ln["order_line_id"] for ln in raw["order_lines"]
    ]


@pytest.mark.asyncio
@pytest.mark.parametrize("example", EXAMPLES)
async def test_client_reads_both_published_a01_examples(example: str) -> None:
    published = response_examples("A01")[example]
    async with MiraklClient(
        "https://x.mirakl.net/api", "k", transport=spec_mirakl("A01", example)
    ) as client:
        shop = await client.get_shop()
    assert (shop.shop_id, shop.shop_name) == (published["shop_id"], published["shop_name"])


def test_an_operator_message_is_never_taken_for_the_customers() -> None:
    # The spec's complete M11 example: one message, written by an OPERATOR_USER.
    thread = ThreadPage.model_validate(response_examples("M11")["application/json-auto"]).data[0]
    (message,) = thread.messages
    assert message.author == "OPERATOR"
    assert message.author != "CUSTOMER"
    # The customer is the thread's CUSTOMER participant; this thread has none.
    assert thread.customer is None


def test_new_fields_and_new_enum_values_still_parse() -> None:
    raw = json.loads(json.dumps(response_examples("M10")["application/json-0"]))
    raw["brand_new_field"] = {"x": 1}
    raw["topic"]["type"] = "SOMETHING_NEW"
    raw["entities"][0]["type"] = "MMP_NEW_ENTITY"
    raw["messages"][0]["from"]["type"] = "BOT_USER"
    raw["messages"][0]["from"]["new_flag"] = True
    raw["current_participants"].append({"type": "AGENT", "display_name": "a bot"})
    thread = InboxThread.model_validate(raw)
    assert thread.model_extra == {"brand_new_field": {"x": 1}}
    # A sender type Mirakl adds later is nobody we know: never the customer.
    assert thread.messages[0].author is None


# -- the models against the spec's schemas -------------------------------------------------------

MODELS: list[tuple[type[BaseModel], list[str]]] = [
    (ThreadPage, ["M11_Response_200"]),
    (InboxThread, ["M11_Response_200_Data", "M10_Response_200"]),
    (InboxMessage, ["M11_Response_200_Data_Messages", "M10_Response_200_Messages"]),
    (MessageSender, ["M11_Response_200_Data_Messages_From", "M10_Response_200_Messages_From"]),
    (Participant, ["M11_Response_200_Data_CurrentParticipants", "M10_Response_200_Messages_To"]),
    (Topic, ["M11_Response_200_Data_Topic", "M12_Request_MultipartFormData_MessageInput_Topic"]),
    (Entity, ["M11_Response_200_Data_Entities"]),
    (ThreadMetadata, ["M11_Response_200_Data_Metadata", "M10_Response_200_Metadata"]),
    (NoStoreReplyNeeded, ["M11_Response_200_Data_NoStoreReplyNeeded"]),
    (ReplyInput, ["M12_Request_MultipartFormData_MessageInput"]),
    (ReplyResult, ["M12_Response_201"]),
    (OrderPage, ["OR11_Response_200"]),
    (Order, ["OR11_Response_200_Orders"]),
    (OrderLine, ["OR11_Response_200_Orders_OrderLines"]),
    (OrderCustomer, ["OR11_Response_200_Orders_Customer"]),
    (ShippingAddress, ["OR11_Response_200_Orders_Customer_ShippingAddress"]),
    (Shop, ["A01_Response_200"]),
]

# Where the spec marks nothing required but csagent cannot work without the field; each is listed
# in docs/mirakl-contract.md, "Where the spec is silent".
ASSUMED_REQUIRED = {
    ("ReplyResult", "message_id"),  # M12's 201 lists no required field
    ("ReplyResult", "thread_id"),
    ("Topic", "type"),  # required in M10/M11, not in M12's optional topic
    ("Topic", "value"),
}

JSON_TYPES = {
    bool: "boolean",  # before int: bool is an int in Python
    str: "string",
    datetime: "string",
    int: "integer",
    Decimal: "number",
    float: "number",
    list: "array",
    dict: "object",
}


def json_type(annotation: Any) -> set[str]:
    """The JSON types a field annotation accepts (None is ignored: Mirakl sends nulls)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return set().union(*(json_type(a) for a in typing.get_args(annotation)))
    if origin is typing.Annotated:
        return json_type(typing.get_args(annotation)[0])
    if annotation is type(None):
        return set()
    if origin is list:
        return {"array"}
    if origin is typing.Literal:
        return {"string"}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {"object"}
    if annotation is AwareDatetime:
        return {"string"}
    for python, name in JSON_TYPES.items():
        if isinstance(annotation, type) and issubclass(annotation, python):
            return {name}
    raise AssertionError(f"no JSON type known for {annotation!r}")


@pytest.mark.parametrize(("model", "names"), MODELS, ids=[m.__name__ for m, _ in MODELS])
def test_each_model_holds_against_its_published_schema(
    model: type[BaseModel], names: list[str]
) -> None:
    for name in names:
        schema = schemas()[name]
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        for field_name, field in model.model_fields.items():
            wire = field.alias or field_name
            assert wire in properties, f"{model.__name__}.{wire} is not in {name}"
            spec_type = properties[wire].get("type") or (
                "object" if "$ref" in properties[wire] else None
            )
            assert spec_type in json_type(field.annotation), (
                f"{model.__name__}.{wire}: spec says {spec_type}, model {field.annotation}"
            )
            # Never demand more than Mirakl guarantees (or than docs/mirakl-contract.md says
            # csagent assumes where the spec is silent).
            if field.is_required() and (model.__name__, wire) not in ASSUMED_REQUIRED:
                assert wire in required, f"{model.__name__}.{wire} is required, {name} does not"


def test_the_sender_types_csagent_knows_are_the_published_ones() -> None:
    published = enum_values("M11_Response_200_Data_Messages_From", "type")
    assert published == {"CUSTOMER_USER", "SHOP_USER", "OPERATOR_USER"}
    participants = enum_values("M11_Response_200_Data_CurrentParticipants", "type")
    assert participants == {"CUSTOMER", "SHOP", "OPERATOR"}
    assert enum_values("M12_Request_MultipartFormData_MessageInput_To", "type") == participants


# -- the simulator answers as the spec documents ---------------------------------------------------


def get(sim: Simulator, path: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{sim.api}{path}", params=params, headers={"Authorization": sim.api_key})


def test_simulator_answers_validate_against_the_published_schemas(mirakl_sim: Simulator) -> None:
    thread_id = "spec-thread"
    made = httpx.post(
        f"{mirakl_sim.url}/_sim/threads/{thread_id}/customer-message",
        json={"body": "Bonjour, où est ma commande ?", "order_id": "20567843-A"},
    )
    assert made.status_code == 201, made.text
    httpx.post(
        f"{mirakl_sim.url}/_sim/threads/{thread_id}/operator-message",
        json={"body": "Le vendeur va vous répondre.", "to": ["CUSTOMER", "SHOP"]},
    ).raise_for_status()
    httpx.post(
        f"{mirakl_sim.url}/_sim/threads/{thread_id}/no-reply-needed", json={"user_type": "OPERATOR"}
    ).raise_for_status()
    checked = 0
    for with_messages in ("true", "false"):
        params: dict[str, Any] = {"limit": 7, "with_messages": with_messages}
        while True:
            page = get(mirakl_sim, "/inbox/threads", **params)
            assert page.status_code == 200
            assert response_differences("M11", page.json()) == []
            checked += len(page.json()["data"])
            if "next_page_token" not in page.json():
                break
            params = {"page_token": page.json()["next_page_token"]}
    assert checked == 2 * len(mirakl_sim.state.threads)
    for some in [*list(mirakl_sim.state.threads)[:10], thread_id]:
        answer = get(mirakl_sim, f"/inbox/threads/{some}").json()
        assert response_differences("M10", answer) == []
    orders = get(mirakl_sim, "/orders", max=100).json()
    assert len(orders["orders"]) == 55
    assert response_differences("OR11", orders) == []
    assert response_differences("A01", get(mirakl_sim, "/account").json()) == []
    reply = httpx.post(
        f"{mirakl_sim.api}/inbox/threads/{thread_id}/message",
        headers={"Authorization": mirakl_sim.api_key},
        files={
            "message_input": (None, json.dumps({"body": "Merci !", "to": [{"type": "CUSTOMER"}]}))
        },
    )
    assert reply.status_code == 201
    assert response_differences("M12", reply.json(), status="201") == []


def test_simulator_keeps_mirakls_reply_clock(mirakl_sim: Simulator) -> None:
    thread_id = "clock-thread"
    httpx.post(
        f"{mirakl_sim.url}/_sim/threads/{thread_id}/customer-message", json={"body": "Bonjour ?"}
    ).raise_for_status()
    first = get(mirakl_sim, f"/inbox/threads/{thread_id}").json()
    asked = first["messages"][0]["date_created"]
    assert first["messages"][0]["from"] == {
        "type": "CUSTOMER_USER",
        "display_name": first["current_participants"][0]["display_name"],
    }  # no id: the customer is the thread's CUSTOMER participant
    assert first["metadata"]["shop_reply_needed_since"] == asked
    assert first["metadata"]["last_sender"]["type"] == "CUSTOMER_USER"
    httpx.post(
        f"{mirakl_sim.url}/_sim/threads/{thread_id}/customer-message", json={"body": "Allô ?"}
    ).raise_for_status()
    again = get(mirakl_sim, f"/inbox/threads/{thread_id}").json()
    assert again["metadata"]["shop_reply_needed_since"] == asked  # the first unanswered one
    httpx.post(
        f"{mirakl_sim.api}/inbox/threads/{thread_id}/message",
        headers={"Authorization": mirakl_sim.api_key},
        files={
            "message_input": (None, json.dumps({"body": "Bonjour !", "to": [{"type": "CUSTOMER"}]}))
        },
    ).raise_for_status()
    answered = get(mirakl_sim, f"/inbox/threads/{thread_id}").json()
    assert answered["metadata"]["shop_reply_needed_since"] is None
    assert answered["metadata"]["last_sender"]["type"] == "SHOP_USER"


@pytest.mark.parametrize(
    ("message_input", "why"),
    [
        ({"body": "ok", "to": [{"type": "CUSTOMER"}]}, "3 to 50000"),
        ({"body": "x" * 50_001, "to": [{"type": "CUSTOMER"}]}, "3 to 50000"),
        ({"body": "Bonjour", "to": []}, "recipients"),
        ({"body": "Bonjour", "to": [{"type": "NOBODY"}]}, "recipients"),
        ({"to": [{"type": "CUSTOMER"}]}, "body is required"),
    ],
)
def test_simulator_refuses_replies_mirakl_refuses(
    mirakl_sim: Simulator, message_input: dict[str, Any], why: str
) -> None:
    thread_id = next(iter(mirakl_sim.state.threads))
    before = len(mirakl_sim.state.threads[thread_id]["messages"])
    refused = httpx.post(
        f"{mirakl_sim.api}/inbox/threads/{thread_id}/message",
        headers={"Authorization": mirakl_sim.api_key},
        files={"message_input": (None, json.dumps(message_input))},
    )
    assert refused.status_code == 400 and why in refused.json()["message"]
    assert len(mirakl_sim.state.threads[thread_id]["messages"]) == before


def test_simulator_refuses_entity_id_without_entity_type(mirakl_sim: Simulator) -> None:
    refused = get(mirakl_sim, "/inbox/threads", entity_id="20567843-A")
    assert refused.status_code == 400 and "entity_type" in refused.json()["message"]
    found = get(mirakl_sim, "/inbox/threads", entity_id="20567843-A", entity_type="MMP_ORDER")
    assert [e["id"] for t in found.json()["data"] for e in t["entities"]] == ["20567843-A"]


def test_simulator_cancels_only_in_the_states_mirakl_allows(mirakl_sim: Simulator) -> None:
    shipped = next(o for o in mirakl_sim.state.orders.values() if o["order_state"] == "SHIPPED")
    refused = httpx.put(
        f"{mirakl_sim.api}/orders/{shipped['order_id']}/cancel",
        headers={"Authorization": mirakl_sim.api_key},
    )
    assert refused.status_code == 400 and shipped["order_state"] == "SHIPPED"
    listed = get(mirakl_sim, "/orders", order_ids=shipped["order_id"]).json()["orders"][0]
    assert listed["can_cancel"] is False


@pytest.mark.asyncio
async def test_client_refuses_a_reply_mirakl_would_refuse_before_sending(
    mirakl_sim: Simulator,
) -> None:
    thread_id = next(iter(mirakl_sim.state.threads))
    before = len(mirakl_sim.state.threads[thread_id]["messages"])
    async with MiraklClient(mirakl_sim.api, mirakl_sim.api_key) as client:
        with pytest.raises(MiraklRejected, match="at least 3 characters"):
            await client.reply(thread_id, "ok")
        sent = await client.reply(thread_id, "Bonjour à vous deux.", to=("CUSTOMER", "OPERATOR"))
    message = mirakl_sim.state.threads[thread_id]["messages"][-1]
    assert (
        message["id"] == sent.message_id
        and len(mirakl_sim.state.threads[thread_id]["messages"]) == before + 1
    )
    assert sorted(r["type"] for r in message["to"]) == ["CUSTOMER", "OPERATOR"]


def test_the_ingestion_body_names_the_threads_customer_not_the_sender() -> None:
    raw = json.loads(json.dumps(response_examples("M10")["application/json-0"]))
    thread = InboxThread.model_validate(raw)
    customer_message = next(m for m in thread.messages if m.author == "CUSTOMER")
    body = incoming_from_mirakl(thread, customer_message)
    assert body.customer.id == next(
        p["id"] for p in raw["current_participants"] if p["type"] == "CUSTOMER"
    )
    assert body.created_at == customer_message.date_created.astimezone(UTC)


def test_the_spec_file_is_miraklss_and_names_the_operations_csagent_uses() -> None:
    for operation_id in ("A01", "M10", "M11", "M12", "OR11", "OR29", "OR30", "OR23", "OR28"):
        method, path, _ = operation(operation_id)
        assert path.startswith("/api/")


def test_a_thread_longer_than_m11_lists_is_read_whole_with_m10(
    db_url: str, mirakl_sim: Simulator
) -> None:
    import asyncio

    from sqlalchemy import select

    from store.db import session_scope
    from store.ingest import IncomingMessage
    from store.models import Message
    from tools.mirakl.sync import sync_inbox

    mirakl_sim.state.reset(seed=False)
    # 120 messages answering each other, then 10 the shop has not answered yet.
    messages = [
        {"id": f"long-{n:03d}", "from": {"type": "CUSTOMER" if n % 2 == 0 or n >= 120 else "SHOP"},
         "to": [], "body": f"message {n}", "date_created": f"2026-11-{1 + n // 24:02d}T{n % 24:02d}:00:00Z"}
        for n in range(130)
    ]  # fmt: skip
    mirakl_sim.state.add_thread(
        {"id": "long-thread", "current_participants": [{"type": "CUSTOMER", "id": "c-long"}],
         "date_created": "2026-11-01T00:00:00Z", "messages": messages}
    )  # fmt: skip
    listed = get(mirakl_sim, "/inbox/threads", with_messages="true").json()["data"][0]
    assert len(listed["messages"]) == 100 and listed["metadata"]["total_count"] == 130

    ingested: list[IncomingMessage] = []

    def ingest(message: IncomingMessage) -> str:
        ingested.append(message)
        return "stored"

    async def one_pass() -> Any:
        async with MiraklClient(mirakl_sim.api, mirakl_sim.api_key) as client:
            return await sync_inbox(
                client, session_scope, ingest, sla_hours=24, marketplace=DEFAULT_MARKETPLACE
            )

    report = asyncio.run(one_pass())
    assert report.threads_read_whole == 1
    # Only what awaits the shop's reply is processed, including beyond M11's last 100...
    assert [m.message_id for m in ingested] == [f"long-{n:03d}" for n in range(120, 130)]
    # ...and the 120 messages before, the oldest ones only M10 gave, are kept as history.
    with session_scope() as session:
        stored = set(session.scalars(select(Message.mirakl_message_id)))
    assert stored == {f"long-{n:03d}" for n in range(120)}


# -- csagent mirakl check: what a seller runs first with a real key ---------------------------------


@pytest.fixture
def pointed_at(monkeypatch: pytest.MonkeyPatch) -> Any:
    from store.settings import get_settings

    def point(base_url: str, key: str = "sim-shop-key") -> None:
        monkeypatch.setenv("CSAGENT_MIRAKL_BASE_URL", base_url)
        monkeypatch.setenv("CSAGENT_MIRAKL_API_KEY", key)
        get_settings.cache_clear()

    yield point
    get_settings.cache_clear()


def test_mirakl_check_reads_the_shop_inbox_and_orders_and_finds_no_difference(
    mirakl_sim: Simulator, pointed_at: Any
) -> None:
    from typer.testing import CliRunner

    from cli.main import app as cli

    pointed_at(mirakl_sim.api)
    result = CliRunner().invoke(cli, ["mirakl", "check"])
    assert result.exit_code == 0, result.output
    assert "shop: Maison Électro (id 2001, state OPEN)" in result.output
    for name in ("A01", "M11", "OR11"):
        assert f"{name}: matches Mirakl's published schema" in result.output
    assert "orders: 55 in all" in result.output
    assert "Mirakl calls made: 3" in result.output


def test_mirakl_check_lists_every_difference_and_refuses_what_csagent_cannot_read(
    mirakl_sim: Simulator, pointed_at: Any, serve_app: Any
) -> None:
    """A Mirakl that answers in the shapes csagent's old notes assumed (no metadata.last_sender,
    senders without _USER, orders without most required fields)."""
    from fastapi import FastAPI
    from typer.testing import CliRunner

    from cli.main import app as cli

    old = FastAPI()
    shop = get(mirakl_sim, "/account").json()
    thread = json.loads(
        json.dumps(get(mirakl_sim, "/inbox/threads/6a57c866-5d9a-59fd-ac38-59e53af24d90").json())
    )
    del thread["metadata"]["last_sender"]
    for message in thread["messages"]:
        message["from"]["type"] = message["from"]["type"].removesuffix("_USER")
    order = {k: v for k, v in mirakl_sim.state.orders["20567843-A"].items()}

    @old.get("/api/account")
    def account() -> Any:
        return shop

    @old.get("/api/inbox/threads")
    def threads() -> Any:
        return {"data": [thread]}

    @old.get("/api/orders")
    def orders() -> Any:
        return {"orders": [order], "total_count": 1}

    with serve_app(old) as url:
        pointed_at(f"{url}/api")
        result = CliRunner().invoke(cli, ["mirakl", "check"])
    assert result.exit_code == 0, result.output  # csagent reads it, and says how it differs
    assert "M11: 1 difference(s)" in result.output and "last_sender" in result.output
    assert "OR11:" in result.output and "'can_shop_ship' is a required property" in result.output

    thread["date_created"] = "yesterday"  # csagent cannot read a thread without its date
    with serve_app(old) as url:
        pointed_at(f"{url}/api")
        result = CliRunner().invoke(cli, ["mirakl", "check"])
    assert result.exit_code == 1
    assert "csagent cannot read the inbox (M11)" in result.output


def test_mirakl_check_says_plainly_when_the_key_is_wrong(
    mirakl_sim: Simulator, pointed_at: Any
) -> None:
    from typer.testing import CliRunner

    from cli.main import app as cli

    pointed_at(mirakl_sim.api, key="not-the-key")
    result = CliRunner().invoke(cli, ["mirakl", "check"])
    assert result.exit_code == 1
    assert "Mirakl refused the credentials (401" in result.output


@pytest.mark.asyncio
async def test_m13_downloads_what_the_customer_attached(mirakl_sim: Simulator) -> None:
    """The published M13: GET /api/inbox/threads/{attachment_id}/download answers the file as
    application/octet-stream; an unknown id is a 404."""
    import base64

    photo = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    created = httpx.post(
        f"{mirakl_sim.url}/_sim/threads/m13-thread/customer-message",
        json={"body": "Photos attached.", "attachments": [
            {"name": "damage.png", "type": "image/png",
             "content_base64": base64.b64encode(photo).decode()},
        ]},
    )  # fmt: skip
    assert created.status_code in (200, 201), created.text
    [listed] = get(mirakl_sim, "/inbox/threads/m13-thread").json()["messages"][-1]["attachments"]
    assert (listed["name"], listed["size"]) == ("damage.png", len(photo))
    raw = get(mirakl_sim, f"/inbox/threads/{listed['id']}/download")
    assert raw.headers["content-type"] == "application/octet-stream" and raw.content == photo
    assert get(mirakl_sim, "/inbox/threads/nope/download").status_code == 404
    async with MiraklClient(mirakl_sim.api, mirakl_sim.api_key) as client:
        assert await client.download_attachment(listed["id"], max_bytes=10_000) == photo
        with pytest.raises(MiraklRejected, match="more than 100"):
            await client.download_attachment(listed["id"], max_bytes=100)
