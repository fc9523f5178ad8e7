"""`csagent demo`, live part: the Mirakl simulator and the API on loopback, new customer messages
posted as n8n would, a duplicate, a lost webhook recovered by `sync`, and the business tools."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from api.app import create_app
from api.local_server import serve_in_thread
from api.pipeline import Pipeline
from knowledge.drafts import DraftingService, load_thread_context
from knowledge.ingest import KnowledgeBase
from store.business import seed_business_data
from store.db import session_scope
from store.ingest import IncomingMessage
from store.keys import resolve_api_key, resolve_internal_api_key
from store.settings import Settings
from tools.business import BusinessApi, make_business_tools
from tools.mirakl.client import MiraklClient
from tools.mirakl.simulator import create_simulator
from tools.mirakl.sync import sync_inbox
from tools.refunds import RefundRules

NEW_MESSAGES = [
    ("demo-fr-status", "20567843-A",
     "Bonjour, ma bouilloire n'est toujours pas arrivée, où en est-elle ?"),
    ("demo-de-cancel", "20620008-A",
     "Hallo, bitte stornieren Sie meine Bestellung, ich brauche sie nicht mehr."),
    ("demo-it-address", "20620015-A",
     "Buongiorno, posso cambiare l'indirizzo di consegna? Mi sono trasferita."),
]  # fmt: skip
DRAFT_EXAMPLE = "3aadf5a8-2d73-5921-93b7-2fdc027e1302"  # V1 thread: Valeria asks about her refund
LOST_WEBHOOK = ("demo-es-lost", "20620012-A", "Hola, ¿cuándo sale mi pedido? No he recibido nada.")


def run_live_demo(settings: Settings, echo: Callable[[str], None]) -> None:
    with session_scope(settings) as session:
        seeded = seed_business_data(session)
    echo(
        f"business data: {seeded['orders']} orders, {seeded['inventory']} SKUs in stock, "
        f"{seeded['shipments']} shipments, {seeded['order_costs']} order costs"
    )
    api_key = resolve_api_key(settings)
    simulator = create_simulator()
    app = create_app(settings, queue_worker=False)
    with serve_in_thread(simulator) as sim_url, serve_in_thread(app, lifespan="on") as api_url:
        echo(f"Mirakl simulator on {sim_url}/api, csagent API on {api_url}")
        headers = {"X-API-Key": api_key}
        first_event: dict[str, Any] | None = None
        for thread_id, order_id, body in NEW_MESSAGES:
            created = httpx.post(
                f"{sim_url}/_sim/threads/{thread_id}/customer-message",
                json={"body": body, "order_id": order_id},
            ).json()
            event = created["event"]
            first_event = first_event or event
            answer = httpx.post(f"{api_url}/api/v1/messages", json=event, headers=headers).json()
            echo(f"  POST {thread_id:<16} -> {answer['status']} (event {answer['event_id']})")
        assert first_event is not None
        again = httpx.post(f"{api_url}/api/v1/messages", json=first_event, headers=headers).json()
        echo(f"  same message again   -> duplicate={again['duplicate']}, event {again['event_id']}")

        thread_id, order_id, body = LOST_WEBHOOK
        httpx.post(
            f"{sim_url}/_sim/threads/{thread_id}/customer-message",
            json={"body": body, "order_id": order_id},
        )
        pipeline = Pipeline.from_settings(settings, engine=app.state.pipeline.engine)

        def ingest(message: IncomingMessage) -> None:
            pipeline.ingest(message, source="sync")

        async def reconcile() -> Any:
            async with MiraklClient(f"{sim_url}/api", "sim-shop-key") as client:
                since = datetime.now(UTC) - timedelta(minutes=5)
                return await sync_inbox(
                    client, lambda: session_scope(settings), ingest, since=since
                )

        report = asyncio.run(reconcile())
        echo(
            f"  webhook lost for {thread_id}: sync read {report.threads_seen} threads, "
            f"ingested {report.ingested}, already known {report.already_known}"
        )

        business = BusinessApi(f"{api_url}/internal/v1", resolve_internal_api_key(settings))
        tools = make_business_tools(business, RefundRules.load(settings.refund_rules_path))
        stock = tools["check_inventory"].invoke({"sku": "VAC-CYC-900"})
        echo(f"  tool check_inventory(VAC-CYC-900) -> {stock['available']} available")
        quote = tools["compute_partial_refund"].invoke(
            {"order_id": "20567843-A", "reason": "late_delivery"}
        )
        echo(
            f"  tool compute_partial_refund(20567843-A, late_delivery) -> {quote['currency']} "
            f"{quote['amount']} ({quote['rule_applied']}; "
            f"approval needed: {quote['needs_approval']})"
        )
        business.close()

    kb = KnowledgeBase(settings, app.state.pipeline.engine)
    ingested = kb.ingest(settings.knowledge_dir)
    echo(
        f"knowledge base: {ingested.documents} documents, {ingested.chunks} chunks "
        f"({ingested.embedded} embedded now, {ingested.unchanged} unchanged)"
    )
    drafting = DraftingService(settings, app.state.pipeline.engine)
    for thread_id in ("demo-fr-status", DRAFT_EXAMPLE):
        with session_scope(settings) as session:
            context = load_thread_context(session, thread_id)
        draft = drafting.draft(context)
        cited = ", ".join(sorted({s.path for s in draft.sources}))
        echo(f"draft ({draft.generator}, {draft.language}) for {thread_id}, citing {cited}:")
        echo("    " + draft.text.replace("\n", "\n    "))
