"""The simulator keeps the contract's error shapes; `csagent sync` ingests missed messages once."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from helpers import Simulator
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cli.main import app as cli
from store.db import session_scope
from store.ingest import IncomingMessage
from store.models import InboundEvent, Message, Order, Thread
from store.queue import Outcome, Pipeline
from store.settings import DEFAULT_MARKETPLACE, get_settings
from tools.mirakl.client import MiraklClient
from tools.mirakl.sync import sync_inbox

REPO = Path(__file__).resolve().parents[1]
AUTH = {"Authorization": "sim-shop-key"}


def test_wrong_key_gets_401_with_mirakls_error_body(mirakl_sim: Simulator) -> None:
    response = httpx.get(f"{mirakl_sim.api}/inbox/threads", headers={"Authorization": "nope"})
    assert response.status_code == 401
    assert response.json() == {"status": 401, "message": "Unauthorized: invalid or missing API key"}


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("/inbox/threads", {"limit": 101}, "limit must be between 1 and 100"),
        ("/inbox/threads", {"page_token": "garbage!"}, "Invalid page_token"),
        ("/inbox/threads", {"updated_since": "yesterday"}, "Invalid date for parameter"),
        ("/orders", {"max": 500}, "max must be between 1 and 100"),
    ],
)
def test_bad_parameters_get_400(
    mirakl_sim: Simulator, path: str, params: dict[str, Any], message: str
) -> None:
    response = httpx.get(f"{mirakl_sim.api}{path}", params=params, headers=AUTH)
    assert response.status_code == 400
    assert response.json()["status"] == 400 and message in response.json()["message"]


def test_reply_without_body_is_400(mirakl_sim: Simulator) -> None:
    thread_id = next(iter(mirakl_sim.state.threads))
    response = httpx.post(
        f"{mirakl_sim.api}/inbox/threads/{thread_id}/message",
        headers=AUTH,
        files={"message_input": (None, json.dumps({"to": [{"type": "CUSTOMER"}]}))},
    )
    assert response.status_code == 400
    assert response.json()["message"] == "message_input.body is required"


def test_sim_orders_create_an_order_readable_through_the_api(mirakl_sim: Simulator) -> None:
    order = copy.deepcopy(mirakl_sim.state.orders["20620000-A"])
    order.update(order_id="99999999-A", order_state="SHIPPING", can_cancel=False)
    assert httpx.post(f"{mirakl_sim.url}/_sim/orders", json=order).status_code == 201
    listed = httpx.get(f"{mirakl_sim.api}/orders", params={"order_ids": "99999999-A"}, headers=AUTH)
    assert listed.json()["total_count"] == 1
    assert listed.json()["orders"][0]["order_state"] == "SHIPPING"
    invalid = httpx.post(f"{mirakl_sim.url}/_sim/orders", json={"order_id": "x"})
    assert invalid.status_code == 422


def customer_message(sim: Simulator, thread_id: str, **body: Any) -> dict[str, Any]:
    response = httpx.post(f"{sim.url}/_sim/threads/{thread_id}/customer-message", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_customer_message_returns_an_ingestible_event(mirakl_sim: Simulator) -> None:
    result = customer_message(
        mirakl_sim, "new-thread-1", body="Wo ist meine Bestellung?", order_id="20620008-A",
        locale="de_DE",
    )  # fmt: skip
    event = IncomingMessage.model_validate(result["event"])
    assert (event.thread_id, event.message_id) == ("new-thread-1", result["message_id"])
    assert (event.order_id, event.customer.id, event.locale) == ("20620008-A", "cust-6008", "de_DE")
    assert event.marketplace == "mediamarkt-de"
    thread = httpx.get(f"{mirakl_sim.api}/inbox/threads/new-thread-1", headers=AUTH).json()
    assert thread["messages"][-1]["body"] == "Wo ist meine Bestellung?"


@pytest.fixture
def webhook_receiver(
    serve_app: Callable[[FastAPI], AbstractContextManager[str]],
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []
    receiver = FastAPI()

    @receiver.post("/hook")
    async def hook(request: Request) -> dict[str, str]:
        received.append(await request.json())
        return {"ok": "yes"}

    with serve_app(receiver) as url:
        yield f"{url}/hook", received


def test_customer_message_posts_the_mirakl_style_webhook(
    mirakl_sim: Simulator, webhook_receiver: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = webhook_receiver
    mirakl_sim.state.webhook_url = url
    result = customer_message(mirakl_sim, "new-thread-2", body="Ciao, dov'è il mio ordine?")
    assert result["webhook"]["status_code"] == 200
    [envelope] = received
    assert envelope["event_type"] == "THREAD_MESSAGE_CREATED"
    assert envelope["payload"]["message"]["id"] == result["message_id"]
    assert "messages" not in envelope["payload"]["thread"]


# -- sync --------------------------------------------------------------------------------------


def run_sync(sim: Simulator, since: Any = None, pipeline: Pipeline | None = None) -> Any:
    pipeline = pipeline or Pipeline.from_settings()

    def ingest(message: IncomingMessage) -> str:
        return pipeline.ingest(message, source="sync")[0].status

    async def go() -> Any:
        async with MiraklClient(sim.api, sim.api_key, backoff_s=0.01) as client:
            return await sync_inbox(
                client,
                session_scope,
                ingest,
                since=since,
                page_size=10,
                marketplace=DEFAULT_MARKETPLACE,
            )

    return asyncio.run(go())


def customer_messages_in(sim: Simulator) -> int:
    return sum(
        1
        for t in sim.state.threads.values()
        for m in t["messages"]
        if m["from"]["type"] == "CUSTOMER_USER"
    )


def awaiting_reply_in(sim: Simulator) -> int:
    """Customer messages Mirakl says still await the shop's reply (at or after each thread's
    shop_reply_needed_since): the ones the agent must process."""
    return sum(
        1
        for t in sim.state.threads.values()
        for m in t["messages"]
        if m["from"]["type"] == "CUSTOMER_USER"
        and t["metadata"]["shop_reply_needed_since"] is not None
        and m["date_created"] >= t["metadata"]["shop_reply_needed_since"]
    )


def messages_in(sim: Simulator) -> int:
    return sum(len(t["messages"]) for t in sim.state.threads.values())


def test_sync_twice_ingests_each_missed_message_once(
    db_url: str, session: Session, mirakl_sim: Simulator
) -> None:
    first = run_sync(mirakl_sim)
    total, awaiting = customer_messages_in(mirakl_sim), awaiting_reply_in(mirakl_sim)
    assert 0 < awaiting < total
    # What still awaits a reply is processed; what the shop already answered, and the shop's
    # own messages, are stored as history and never processed.
    assert (first.threads_seen, first.ingested, first.customer_messages) == (46, awaiting, total)
    assert session.scalar(select(func.count()).select_from(Message)) == messages_in(mirakl_sim)
    assert session.scalar(select(func.count()).select_from(InboundEvent)) == awaiting

    second = run_sync(mirakl_sim)
    assert second.ingested == 0
    assert session.scalar(select(func.count()).select_from(Message)) == messages_in(mirakl_sim)

    # A webhook that never arrived: the next pass picks up exactly that message.
    result = customer_message(mirakl_sim, next(iter(mirakl_sim.state.threads)), body="Any news?")
    third = run_sync(mirakl_sim)
    # Only what changed since the cursor is read (plus the thread at the cursor: inclusive).
    assert third.ingested == 1 and third.threads_seen <= 2
    stored = session.scalars(
        select(Message).where(Message.mirakl_message_id == result["message_id"])
    )
    assert stored.one().body == "Any news?"
    assert third.cursor_after > first.cursor_after


def test_sync_does_not_reprocess_messages_from_the_v1_import(
    db_url: str, session: Session, mirakl_sim: Simulator, tmp_path: Path
) -> None:
    sample = tmp_path / "messages.json"
    sample.write_bytes((REPO / "examples" / "v1" / "messages.json").read_bytes())
    assert CliRunner().invoke(cli, ["import-v1", str(sample)]).exit_code == 0
    report = run_sync(mirakl_sim)
    assert report.ingested == 0 and report.already_known == customer_messages_in(mirakl_sim)
    assert session.scalar(select(func.count()).select_from(InboundEvent)) == 0


def test_a_failed_pass_does_not_move_the_cursor(
    db_url: str, session: Session, mirakl_sim: Simulator
) -> None:
    run_sync(mirakl_sim)
    from store.sync_state import read_cursor

    cursor = read_cursor(session)
    customer_message(mirakl_sim, "late-thread", body="Hello?")
    httpx.post(f"{mirakl_sim.url}/_sim/faults", json={"status": 503, "count": 50})
    with pytest.raises(Exception, match="gave up after"):
        run_sync(mirakl_sim)
    session.expire_all()
    assert read_cursor(session) == cursor
    mirakl_sim.state.faults.clear()
    assert run_sync(mirakl_sim).ingested == 1


def test_sync_never_counts_a_failed_message_as_done(
    db_url: str, session: Session, mirakl_sim: Simulator
) -> None:
    def broken(session: Session, message: IncomingMessage, thread_pk: int) -> Outcome:
        raise RuntimeError("the knowledge base is empty")

    failing = Pipeline.from_settings(processor=broken)
    failing.max_attempts = 1
    first = run_sync(mirakl_sim, pipeline=failing)
    total, awaiting = customer_messages_in(mirakl_sim), awaiting_reply_in(mirakl_sim)
    assert (first.failed, first.ingested) == (awaiting, 0)
    # Stored and visible, but not done: the next pass says so instead of "already known".
    second = run_sync(mirakl_sim, since=datetime(2000, 1, 1, tzinfo=UTC))
    assert (second.failed, second.already_known, second.ingested) == (awaiting, total - awaiting, 0)
    assert session.scalar(select(func.count()).select_from(Message)) == messages_in(mirakl_sim)


def test_sync_command_reports_counts(
    db_url: str, session: Session, mirakl_sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CSAGENT_MIRAKL_BASE_URL", mirakl_sim.api)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["sync", "--since", "2026-11-24T00:00:00Z"])
        assert result.exit_code == 0, result.output
        assert "ingested: " in result.output
        threads = session.scalar(select(func.count()).select_from(Thread))
        assert threads and threads < 46
        # Orders too: every order the simulator changed since then is now read from Mirakl.
        changed = [
            o for o in mirakl_sim.state.orders.values()
            if o.get("last_updated_date", o["created_date"]) >= "2026-11-24"
        ]  # fmt: skip
        assert f"orders read: {len(changed)} changed" in result.output
        mirakl_rows = session.scalar(
            select(func.count()).select_from(Order).where(Order.source == "mirakl")
        )
        assert mirakl_rows is not None and mirakl_rows >= len(changed) > 0
        bad = CliRunner().invoke(cli, ["sync", "--since", "last tuesday"])
        assert bad.exit_code == 2 and "--since must be an ISO-8601 date" in bad.output
    finally:
        monkeypatch.delenv("CSAGENT_MIRAKL_BASE_URL")
        get_settings.cache_clear()
