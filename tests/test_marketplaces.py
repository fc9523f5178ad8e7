"""Several marketplaces in one csagent: a Fnac-like and a Carrefour-like Mirakl side by side (one
simulator process, one path each), whose thread and order ids collide on purpose.

Each test builds its world through the simulators' API only, and posts notifications as a
per-marketplace n8n workflow would (with `marketplace` set). What csagent stores, sends and
cancels must stay on the marketplace it came from.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from helpers import (
    LOW_THRESHOLDS,
    REVIEWER,
    Csagent,
    csagent_settings,
    serve,
    serve_csagent,
)
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from test_mirakl_truth import order_json
from typer.testing import CliRunner

from api.app import create_app
from cli.local_server import free_port
from cli.main import app as cli
from graph.processor import config_of
from knowledge.ingest import KnowledgeBase
from store.db import get_engine
from store.models import AuditEntry, InboundEvent, Message, Order, SyncCursor, Thread
from store.settings import DEFAULT_MARKETPLACE, Settings
from store.threads import ThreadRef, thread_key
from tools.mirakl.simulator.app import create_marketplaces_simulator
from tools.mirakl.sync import sync_marketplaces

COLLIDING_ORDER = "43000001-A"
COLLIDING_THREAD = "t-1"


@pytest.fixture(scope="module")
def mirakls() -> Iterator[str]:
    with serve(create_marketplaces_simulator(["fnac", "carrefour"])) as url:
        yield url


def marketplaces(sim: str, **carrefour: Any) -> list[dict[str, Any]]:
    return [
        {"name": "fnac", "base_url": f"{sim}/fnac/api", "api_key": "sim-shop-key",
         "default": True},
        {"name": "carrefour", "base_url": f"{sim}/carrefour/api", "api_key": "sim-shop-key",
         "sla_hours": 12, "shop_name": "Maison Électro (Carrefour)", **carrefour},
    ]  # fmt: skip


def settings_for(sim: str, port: int, **overrides: Any) -> Settings:
    settings: Settings = csagent_settings(port, **{
        "marketplaces": marketplaces(sim), "automation_thresholds": LOW_THRESHOLDS, **overrides,
    })  # fmt: skip
    return settings


@pytest.fixture
def two(knowledge: KnowledgeBase, mirakls: str) -> Iterator[Csagent]:
    for name in ("fnac", "carrefour"):
        httpx.post(f"{mirakls}/{name}/_sim/reset", json={"seed": False})
        httpx.delete(f"{mirakls}/{name}/_sim/faults")
    with serve_csagent(
        mirakls, marketplaces=marketplaces(mirakls), automation_thresholds=LOW_THRESHOLDS
    ) as two:
        yield two


def threads(session: Session, thread_id: str) -> dict[str, Thread]:
    session.expire_all()
    rows = session.scalars(select(Thread).where(Thread.mirakl_thread_id == thread_id))
    return {t.marketplace: t for t in rows}


def test_colliding_threads_and_orders_stay_on_their_own_marketplace(
    two: Csagent, session: Session
) -> None:
    # The same order id and thread id on both marketplaces, two different customers and parcels.
    fnac = order_json(COLLIDING_ORDER, "fnac-cust", "SHIPPED", tracking="6AFNAC0000001",
                      first="Claire")  # fmt: skip
    two.create_order(fnac, marketplace="fnac")
    carrefour = order_json(COLLIDING_ORDER, "crf-cust", "SHIPPED", tracking="6ACRF00000002",
                           first="Marc")  # fmt: skip
    two.create_order(carrefour, marketplace="carrefour")
    on_fnac = two.customer_writes(
        COLLIDING_THREAD, "Bonjour, où est ma commande ?", COLLIDING_ORDER, marketplace="fnac"
    )
    on_crf = two.customer_writes(
        COLLIDING_THREAD, "Bonjour, où en est ma commande ?", COLLIDING_ORDER,
        marketplace="carrefour",
    )  # fmt: skip
    assert on_fnac["status"] == on_crf["status"] == "auto_replied", (on_fnac, on_crf)
    # Each answer rests on its own marketplace's order, and is posted there only.
    [fnac_reply] = two.shop_messages(COLLIDING_THREAD, marketplace="fnac")
    [crf_reply] = two.shop_messages(COLLIDING_THREAD, marketplace="carrefour")
    assert "6AFNAC0000001" in fnac_reply and "6ACRF00000002" not in fnac_reply
    assert "6ACRF00000002" in crf_reply and "6AFNAC0000001" not in crf_reply
    # Stored apart: two threads, two orders, each message on its marketplace.
    stored = threads(session, COLLIDING_THREAD)
    assert set(stored) == {"default", "carrefour"}
    orders = session.scalars(select(Order).where(Order.mirakl_order_id == COLLIDING_ORDER)).all()
    assert {(o.marketplace, o.state) for o in orders} == {
        ("default", "SHIPPED"),
        ("carrefour", "SHIPPED"),
    }
    bodies = {
        t.marketplace: [
            m.body for m in session.scalars(select(Message).where(Message.thread_id == t.id))
        ]
        for t in stored.values()
    }
    assert "Bonjour, où est ma commande ?" in bodies["default"]
    assert "Bonjour, où en est ma commande ?" in bodies["carrefour"]
    assert "Bonjour, où est ma commande ?" not in bodies["carrefour"]
    # Csagent checkpoints: each thread's run state is its own.
    agent = two.app.state.pipeline.processor
    fnac_state = agent.graph.get_state(config_of(ThreadRef(COLLIDING_THREAD, "default"))).values
    crf_state = agent.graph.get_state(config_of(ThreadRef(COLLIDING_THREAD, "carrefour"))).values
    assert fnac_state["text"] == "Bonjour, où est ma commande ?"
    assert crf_state["text"] == "Bonjour, où en est ma commande ?"
    assert crf_state["marketplace"] == "carrefour"
    # The Carrefour reply is signed as configured for Carrefour.
    assert "Maison Électro (Carrefour)" in crf_reply
    assert "Maison Électro (Carrefour)" not in fnac_reply


def test_the_same_thread_id_on_two_marketplaces_never_shares_a_lock() -> None:
    engine = get_engine()
    with engine.connect() as first, engine.connect() as second:
        key = thread_key(COLLIDING_THREAD, "carrefour")
        assert key != thread_key(COLLIDING_THREAD, "default")

        def take(conn: Any, k: str) -> bool:
            return bool(
                conn.execute(
                    text("SELECT pg_try_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": k}
                ).scalar()
            )

        with first.begin():
            assert take(first, thread_key(COLLIDING_THREAD, "default"))
            with second.begin():
                # The Carrefour thread of the same id is free while the Fnac one is held...
                assert take(second, key)
            with second.begin():
                # ...and the Fnac one is not.
                assert not take(second, thread_key(COLLIDING_THREAD, "default"))


def test_a_cancellation_reaches_only_its_own_marketplace(two: Csagent, session: Session) -> None:
    order_id = "43000002-A"
    for name, customer in (("fnac", "fnac-c2"), ("carrefour", "crf-c2")):
        order = order_json(order_id, customer, "WAITING_ACCEPTANCE", age=timedelta(hours=2))
        two.create_order(order, marketplace=name)
    answer = two.customer_writes(
        "t-cancel", "Please cancel my order.", order_id, marketplace="carrefour"
    )
    assert (answer["status"], answer["confirmation"]) == ("auto_replied", "asked"), answer
    # The same thread id on Fnac has no question pending: its customer's own request is a
    # request, asked back in turn, not an answer to Carrefour's question.
    answer = two.customer_writes(
        "t-cancel", "Please cancel my order.", order_id, marketplace="fnac"
    )
    assert answer["confirmation"] == "asked", answer
    answer = two.customer_writes("t-cancel", "Yes please.", order_id, marketplace="carrefour")
    assert answer["confirmation"] == "yes", answer
    assert two.order_state(order_id, marketplace="carrefour") == "CANCELED"
    assert two.order_state(order_id, marketplace="fnac") == "WAITING_ACCEPTANCE"  # untouched
    # The Fnac customer's yes is its own cancellation: not "already done" because the same
    # order id was cancelled on Carrefour.
    answer = two.customer_writes("t-cancel", "Yes please.", order_id, marketplace="fnac")
    assert answer["confirmation"] == "yes", answer
    assert two.order_state(order_id, marketplace="fnac") == "CANCELED"
    session.expire_all()
    rows = session.scalars(select(AuditEntry).where(AuditEntry.action == "order.cancel")).all()
    assert {(r.marketplace, r.outcome) for r in rows} == {
        ("default", "succeeded"),
        ("carrefour", "succeeded"),
    }


def test_each_marketplace_says_how_a_cancellation_is_done(
    knowledge: KnowledgeBase, mirakls: str, tmp_path: Path
) -> None:
    """From the seller's marketplaces file: Carrefour's cancellations are approved by a person,
    Fnac's are asked back to the customer (the default); an unknown intent is refused."""
    for name in ("fnac", "carrefour"):
        httpx.post(f"{mirakls}/{name}/_sim/reset", json={"seed": False})
    listed = marketplaces(mirakls, action_modes={"cancellation_request": "review"})
    path = tmp_path / "marketplaces.yaml"
    path.write_text(yaml.safe_dump({"marketplaces": listed}), encoding="utf-8")
    port = free_port()
    app = create_app(
        settings_for(mirakls, port, marketplaces=[], marketplaces_file=path), queue_worker=False
    )
    order_id = "43000009-A"
    with serve(app, lifespan="on", port=port) as url:
        two = Csagent(url, mirakls, app)
        for name, customer in (("fnac", "fnac-c9"), ("carrefour", "crf-c9")):
            two.create_order(
                order_json(order_id, customer, "WAITING_ACCEPTANCE", age=timedelta(hours=2)),
                marketplace=name,
            )
        fnac = two.customer_writes(
            "t-modes", "Please cancel my order.", order_id, marketplace="fnac"
        )
        carrefour = two.customer_writes(
            "t-modes", "Please cancel my order.", order_id, marketplace="carrefour"
        )
    assert fnac["confirmation"] == "asked"
    assert (
        carrefour["status"] == "awaiting_approval" and "action mode review" in carrefour["reason"]
    )
    assert two.order_state(order_id, marketplace="carrefour") == "WAITING_ACCEPTANCE"
    listed[1]["action_modes"] = {"order_status": "direct"}
    path.write_text(yaml.safe_dump({"marketplaces": listed}), encoding="utf-8")
    with pytest.raises(ValueError, match="action_modes: order_status unknown"):
        Settings(marketplaces_file=path)


def test_a_message_naming_an_unknown_marketplace_is_kept_and_nothing_is_sent(
    two: Csagent, session: Session
) -> None:
    created = httpx.post(
        f"{two.sim_url('fnac')}/_sim/threads/t-darty/customer-message",
        json={"body": "Bonjour, où est ma commande ?", "customer_id": "c-d"},
    ).json()
    event = {**created["event"], "marketplace": "darty"}
    answer = two.notify(event)
    assert answer["status"] == "unverified" and "unknown marketplace 'darty'" in answer["reason"]
    thread = threads(session, "t-darty")["darty"]
    assert thread.status == "needs_attention" and "darty" in (thread.attention or "")
    assert two.shop_messages("t-darty", marketplace="fnac") == []
    # Shown in the inbox as it is, under its own name.
    listed = httpx.get(
        f"{two.api}/api/v1/threads", params={"q": "t-darty"}, headers=REVIEWER
    ).json()
    assert [(t["thread_id"], t["marketplace"]) for t in listed["threads"]] == [("t-darty", "darty")]


def test_each_marketplace_keeps_its_reply_deadline(two: Csagent, session: Session) -> None:
    two.customer_writes(
        "t-sla",
        "Bonjour, une question sur la garantie ?",
        customer_id="c-s",
        marketplace="carrefour",
    )
    two.customer_writes(
        "t-sla", "Bonjour, une question sur la garantie ?", customer_id="c-s", marketplace="fnac"
    )
    stored = threads(session, "t-sla")
    for name, hours in (("carrefour", 12), ("default", 24)):
        thread = stored[name]
        assert thread.sla_due_at is not None and thread.last_message_at is not None
        assert thread.sla_due_at - thread.last_message_at == timedelta(hours=hours), name


def test_the_api_reads_and_answers_a_thread_on_its_marketplace(two: Csagent) -> None:
    for name in ("fnac", "carrefour"):
        two.customer_writes(
            "t-api", f"Bonjour, avez-vous la bouilloire bleue ? ({name})",
            customer_id=f"c-{name}", marketplace=name,
        )  # fmt: skip
    crf = httpx.get(
        f"{two.api}/api/v1/threads/t-api", params={"marketplace": "carrefour"}, headers=REVIEWER
    ).json()
    assert crf["marketplace"] == "carrefour"
    assert [m["body"] for m in crf["messages"]] == [
        "Bonjour, avez-vous la bouilloire bleue ? (carrefour)"
    ]
    fnac = httpx.get(
        f"{two.api}/api/v1/threads/t-api", params={"marketplace": "fnac"}, headers=REVIEWER
    ).json()
    assert fnac["marketplace"] == "fnac"
    # Left out, the marketplace of an id that exists on both is not guessed.
    ambiguous = httpx.get(f"{two.api}/api/v1/threads/t-api", headers=REVIEWER)
    assert ambiguous.status_code == 409 and ambiguous.json()["error"] == "ambiguous_thread"
    # Reviews list each marketplace's thread; answering one answers only that one.
    pending = httpx.get(f"{two.api}/api/v1/reviews", headers=REVIEWER).json()
    assert {(r["thread_id"], r["marketplace"]) for r in pending} >= {
        ("t-api", "fnac"),
        ("t-api", "carrefour"),
    }
    answered = httpx.post(
        f"{two.api}/api/v1/threads/t-api/review",
        params={"marketplace": "carrefour"},
        json={"type": "edit", "args": {"reply": "Oui, elle est en stock."}},
        headers=REVIEWER,
        timeout=60,
    )
    assert answered.status_code == 200, answered.text
    assert two.shop_messages("t-api", marketplace="carrefour") == ["Oui, elle est en stock."]
    assert two.shop_messages("t-api", marketplace="fnac") == []
    unknown = httpx.get(
        f"{two.api}/api/v1/threads/t-api", params={"marketplace": "nope"}, headers=REVIEWER
    )
    assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_marketplace"


def test_healthz_reports_each_marketplace(two: Csagent) -> None:
    health = httpx.get(f"{two.api}/healthz").json()
    assert set(health["marketplaces"]) == {"fnac", "carrefour"}
    assert health["marketplaces"]["fnac"]["key"] == "configured"
    # /healthz is open: it names no marketplace URL.
    assert "/carrefour/api" not in httpx.get(f"{two.api}/healthz").text


def test_sync_of_both_with_one_down_loses_nothing(
    knowledge: KnowledgeBase, mirakls: str, session: Session
) -> None:
    """No webhook at all: `sync` finds the messages of both marketplaces; while Carrefour is
    down, Fnac's are still synced, Carrefour's cursor does not move, and the next pass brings
    Carrefour's in."""
    for name in ("fnac", "carrefour"):
        httpx.post(f"{mirakls}/{name}/_sim/reset", json={"seed": False})
        httpx.delete(f"{mirakls}/{name}/_sim/faults")
        for i in range(2):  # the customers write; no notification reaches csagent
            httpx.post(
                f"{mirakls}/{name}/_sim/threads/s-{i}/customer-message",
                json={"body": f"Bonjour ({name} {i}), une question ?", "customer_id": f"c{i}"},
            ).raise_for_status()
    httpx.post(
        f"{mirakls}/carrefour/_sim/faults",
        json={"status": 503, "count": 1000, "path_prefix": "/inbox"},
    ).raise_for_status()
    settings = settings_for(mirakls, free_port(), processing="store", mirakl_max_attempts=1)
    from store.queue import Pipeline

    pipeline = Pipeline.from_settings(settings)

    def ingest(message: Any) -> str:
        return pipeline.ingest(message, source="sync")[0].status

    def sessions() -> Any:
        return pipeline.sessions.begin()

    first = asyncio.run(sync_marketplaces(settings, sessions, ingest))
    by_name = {r.marketplace: r for r in first}
    assert by_name["fnac"].error is None and by_name["fnac"].inbox is not None
    assert by_name["fnac"].inbox.ingested == 2
    assert by_name["carrefour"].error is not None and "503" in by_name["carrefour"].error
    session.expire_all()
    cursors = dict(session.execute(select(SyncCursor.name, SyncCursor.position)).all())
    assert "mirakl_inbox" in cursors and "mirakl_inbox@carrefour" not in cursors
    httpx.delete(f"{mirakls}/carrefour/_sim/faults")
    second = asyncio.run(sync_marketplaces(settings, sessions, ingest))
    by_name = {r.marketplace: r for r in second}
    assert by_name["carrefour"].inbox is not None and by_name["carrefour"].inbox.ingested == 2
    assert by_name["fnac"].error is None and by_name["fnac"].inbox is not None
    assert by_name["fnac"].inbox.ingested == 0  # nothing new there: its cursor had moved
    session.expire_all()
    stored = session.execute(
        select(Thread.marketplace, Thread.mirakl_thread_id).where(
            Thread.mirakl_thread_id.in_(["s-0", "s-1"])
        )
    ).all()
    assert sorted(stored) == [
        ("carrefour", "s-0"),
        ("carrefour", "s-1"),
        ("default", "s-0"),
        ("default", "s-1"),
    ]
    events = session.scalars(
        select(InboundEvent.dedupe_key).where(InboundEvent.marketplace == "carrefour")
    ).all()
    assert all(k.startswith("carrefour/") for k in events) and len(events) >= 2


def test_csagent_sync_reports_the_marketplace_that_failed(
    knowledge: KnowledgeBase, mirakls: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    httpx.post(
        f"{mirakls}/carrefour/_sim/faults",
        json={"status": 503, "count": 1000, "path_prefix": "/inbox"},
    ).raise_for_status()
    monkeypatch.setenv("CSAGENT_MARKETPLACES", json.dumps(marketplaces(mirakls)))
    monkeypatch.setenv("CSAGENT_PROCESSING", "store")
    monkeypatch.setenv("CSAGENT_MIRAKL_MAX_ATTEMPTS", "1")
    from store.settings import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["sync"])
    finally:
        get_settings.cache_clear()
        httpx.delete(f"{mirakls}/carrefour/_sim/faults")
    assert result.exit_code == 1, result.output
    assert "[fnac] threads read:" in result.output
    assert "[carrefour] sync failed, cursor not moved" in result.output
    assert "sync failed for carrefour; the others were synced" in result.output


def test_the_v1_import_takes_a_marketplace(
    tmp_path: Any, mirakls: str, monkeypatch: pytest.MonkeyPatch, session: Session
) -> None:
    import json

    record = {
        "id": "v1-collide", "topic": {"type": "FREE_TEXT", "value": "Retour"},
        "current_participants": [{"type": "CUSTOMER", "id": "c-v1", "display_name": "Ana V."}],
        "date_created": "2026-11-20T09:00:00Z",
        "messages": [{"id": "m-v1-1", "from": {"type": "CUSTOMER"},
                      "date_created": "2026-11-20T09:00:00Z", "body": "Bonjour"}],
    }  # fmt: skip
    path = tmp_path / "messages.json"
    path.write_text(json.dumps([record]), encoding="utf-8")
    monkeypatch.setenv("CSAGENT_MARKETPLACES", json.dumps(marketplaces(mirakls)))
    from store.settings import get_settings

    get_settings.cache_clear()
    try:
        for name in ("carrefour", "fnac"):
            result = CliRunner().invoke(cli, ["import-v1", str(path), "--marketplace", name])
            assert result.exit_code == 0, result.output
        unknown = CliRunner().invoke(cli, ["import-v1", str(path), "--marketplace", "darty"])
    finally:
        get_settings.cache_clear()
    assert unknown.exit_code == 2 and "unknown marketplace 'darty'" in unknown.output
    # The same thread and message ids, imported for two marketplaces: two threads.
    assert set(threads(session, "v1-collide")) == {"carrefour", "default"}


def test_a_long_unknown_marketplace_name_is_stored_as_a_short_one(
    two: Csagent, session: Session
) -> None:
    created = httpx.post(
        f"{two.sim_url('fnac')}/_sim/threads/t-lm/customer-message",
        json={"body": "Bonjour ?", "customer_id": "c-lm"},
    ).json()
    answer = two.notify({**created["event"], "marketplace": "Leroy Merlin France Marketplace FR"})
    assert answer["status"] == "unverified"
    [stored] = threads(session, "t-lm").values()
    assert stored.marketplace == "leroy-merlin-france-marketplace"
    assert len(stored.marketplace) <= 32 and stored.status == "needs_attention"


def test_the_llm_tools_read_the_order_of_the_threads_marketplace(
    two: Csagent, session: Session
) -> None:
    """A draft's tools look up the order on the thread's marketplace: the same order id on the
    other marketplace is another customer's parcel."""
    from store.business import register_shipment
    from tools.business import BusinessApi, make_business_tools
    from tools.refunds import RefundRules

    address = {"lastname": "Martin", "street_1": "1 rue A", "zip_code": "75001", "city": "Paris",
               "country": "FRA"}  # fmt: skip
    register_shipment(session, "43000009-A", "preparing", address, marketplace=DEFAULT_MARKETPLACE)
    register_shipment(session, "43000009-A", "shipped", address, marketplace="carrefour")
    session.commit()
    api = BusinessApi(f"{two.api}/internal/v1", "ik")
    rules = RefundRules.load(Settings().refund_rules_path)
    try:
        for marketplace, status in (("default", "preparing"), ("carrefour", "shipped")):
            tools = make_business_tools(api, rules, marketplace)
            found = tools["get_shipment"].invoke({"order_id": "43000009-A"})
            assert found["status"] == status, (marketplace, found)
    finally:
        api.close()
