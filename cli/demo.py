"""`csagent demo`, live part: the Mirakl simulator and the API on loopback, orders created on the
simulator through its API (as a marketplace creates them), new customer messages posted as n8n
would and handled by the agent on what it reads from Mirakl, a duplicate, a forged notification,
a lost webhook recovered by `sync`, a human review answered through the API, and the tools."""

from __future__ import annotations

import asyncio
import copy
import html
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import SecretStr

from cli.local_server import free_port, port_is_free, serve_in_thread
from cli.web import create_web_app
from examples import MIRAKL_ORDERS
from knowledge.ingest import KnowledgeBase
from store.business import register_shipment, seed_business_data
from store.db import get_engine, session_scope
from store.ingest import IncomingMessage
from store.keys import resolve_api_key, resolve_internal_api_key, resolve_reviewer_api_key
from store.settings import DEFAULT_MARKETPLACE, MarketplaceConnection, Settings
from tools.business import BusinessApi, make_business_tools
from tools.mirakl.client import MiraklClient
from tools.mirakl.models import CANCELLABLE_STATES
from tools.mirakl.simulator import create_simulator
from tools.mirakl.sync import sync_inbox
from tools.refunds import RefundRules

# Orders the demo creates on the simulator, through its API, just before the customers write:
# (new order id, example order it copies products and customer from, state, hours since placed).
DEMO_ORDERS = [
    ("30100001-A", "20567843-A", "SHIPPED", 50),
    ("30100002-A", "20620008-A", "WAITING_ACCEPTANCE", 2),
    ("30100003-A", "20620015-A", "SHIPPING", 20),
    ("30100004-A", "20576630-A", "RECEIVED", 240),
    ("30100005-A", "20620012-A", "WAITING_DEBIT_PAYMENT", 5),
]
NEW_MESSAGES = [
    ("demo-fr-status", "30100001-A",
     "Bonjour, ma bouilloire n'est toujours pas arrivée, où en est ma commande ?"),
    ("demo-de-cancel", "30100002-A",
     "Hallo, bitte stornieren Sie meine Bestellung, ich brauche sie nicht mehr."),
    ("demo-it-address", "30100003-A",
     "Buongiorno, posso cambiare l'indirizzo di consegna in Via Roma 15, 20121 Milano?"),
    ("demo-fr-return", "30100004-A",
     "Bonjour, la machine à café est trop bruyante, je voudrais la retourner. Comment faire ?"),
]  # fmt: skip
# How the customers answer when the agent asks them to confirm.
CONFIRMATIONS = {"demo-de-cancel": "Ja, bitte.", "demo-it-address": "Sì, confermo. Grazie!"}
LOST_WEBHOOK = ("demo-es-lost", "30100005-A", "Hola, ¿dónde está mi pedido? No he recibido nada.")


def demo_orders(now: datetime) -> list[dict[str, Any]]:
    """The demo's new orders, in Mirakl's OR11 shape, copied from the example orders."""
    examples = {o["order_id"]: o for o in json.loads(MIRAKL_ORDERS.read_text("utf-8"))["orders"]}
    orders = []
    for order_id, template, state, hours in DEMO_ORDERS:
        order = copy.deepcopy(examples[template])
        created = now - timedelta(hours=hours)
        order.update(
            order_id=order_id, commercial_id=order_id.split("-")[0], order_state=state,
            created_date=created.isoformat(), last_updated_date=now.isoformat(),
            can_cancel=state in CANCELLABLE_STATES,
        )  # fmt: skip
        for n, line in enumerate(order["order_lines"], start=1):
            line.update(order_line_id=f"{order_id}-{n}", order_line_state=state)
            # When each line left the warehouse and reached the customer, as Mirakl says.
            if state in ("SHIPPED", "TO_COLLECT", "RECEIVED", "CLOSED"):
                line["shipped_date"] = (created + timedelta(hours=20)).isoformat()
            if state in ("RECEIVED", "CLOSED"):
                line["received_date"] = (created + timedelta(days=3)).isoformat()
        if state not in ("SHIPPED", "TO_COLLECT", "RECEIVED", "CLOSED"):
            order.update(shipping_tracking=None, shipping_tracking_url=None)
        orders.append(order)
    return orders


def run_live_demo(
    base: Settings,
    echo: Callable[[str], None],
    afterwards: Callable[[str], None] = lambda _url: None,
    port: int | None = None,
) -> None:
    """The live flow; `afterwards(api_url)` runs while the simulator and the app still serve
    (the demo keeps the dashboard up there). `port`: the app's port (default: any free one)."""
    engine = get_engine(base)
    with session_scope(base) as session:
        seeded = seed_business_data(session)
    echo(
        f"business data: {seeded['orders']} orders, {seeded['inventory']} SKUs in stock, "
        f"{seeded['shipments']} shipments, {seeded['order_costs']} order costs"
    )
    ingested = KnowledgeBase(base, engine).ingest(base.knowledge_dir)
    echo(
        f"knowledge base: {ingested.documents} documents, {ingested.chunks} chunks "
        f"({ingested.embedded} embedded now, {ingested.unchanged} unchanged)"
    )
    simulator = create_simulator()
    simulator.state.sim.marketplace = "fnac"
    # A second marketplace, Carrefour-like, with its own Mirakl: its ids collide with Fnac's.
    carrefour = create_simulator(seed=False, shop_name="Maison Électro")
    carrefour.state.sim.marketplace = "carrefour"
    with serve_in_thread(simulator) as sim_url, serve_in_thread(carrefour) as crf_url:
        if port is not None and not port_is_free(port):
            echo(f"port {port} is busy: the demo uses another one")
            port = None
        port = port or free_port()
        api_url = f"http://127.0.0.1:{port}"
        settings = base.model_copy(
            update={
                "mirakl_base_url": f"{sim_url}/api",
                "internal_api_url": f"{api_url}/internal/v1",
                "marketplaces": [
                    MarketplaceConnection(
                        name="fnac", base_url=f"{sim_url}/api",
                        api_key=SecretStr("sim-shop-key"), default=True,
                    ),
                    MarketplaceConnection(
                        name="carrefour", base_url=f"{crf_url}/api",
                        api_key=SecretStr("sim-shop-key"), sla_hours=12,
                        shop_name="Maison Électro (Carrefour)",
                    ),
                ],
            }
        )  # fmt: skip
        thresholds = ", ".join(f"{k} {v:.2f}" for k, v in settings.automation_thresholds.items())
        asking = ", ".join(f"{k} {v:.2f}" for k, v in settings.confirmation_thresholds.items())
        echo(
            f"agent: automation {settings.automation_mode}, thresholds {thresholds}; "
            f"asks the customer to confirm from {asking}"
        )
        app = create_web_app(settings, queue_worker=False, poll=False)
        with serve_in_thread(app, lifespan="on", port=port):
            echo(
                f"Mirakl simulators: fnac on {sim_url}/api, carrefour on {crf_url}/api; "
                f"csagent API on {api_url}"
            )
            _live(settings, sim_url, api_url, app, echo)
            _second_marketplace(settings, sim_url, crf_url, api_url, echo)
            afterwards(api_url)


def _second_marketplace(
    settings: Settings, sim_url: str, crf_url: str, api_url: str, echo: Callable[[str], None]
) -> None:
    """The same thread id and order id on Carrefour: another customer, another parcel. The
    answer rests on Carrefour's order and is posted on Carrefour only."""
    thread_id, order_id, _ = NEW_MESSAGES[0]
    order = copy.deepcopy(demo_orders(datetime.now(UTC))[0])
    order["customer"].update(customer_id="crf-cust-1", firstname="Marc", lastname="Durand")
    order.update(shipping_tracking="6A99CARREFOUR", shipping_company="Colissimo")
    httpx.post(f"{crf_url}/_sim/orders", json=order).raise_for_status()
    created = httpx.post(
        f"{crf_url}/_sim/threads/{thread_id}/customer-message",
        json={"body": NEW_MESSAGES[0][2], "order_id": order_id},
    ).json()
    headers = {"X-API-Key": resolve_api_key(settings)}
    answer = httpx.post(
        f"{api_url}/api/v1/messages", json=created["event"], headers=headers, timeout=300
    ).json()
    key = {"Authorization": "sim-shop-key"}

    def shop(url: str) -> list[str]:
        thread = httpx.get(f"{url}/api/inbox/threads/{thread_id}", headers=key).json()
        return [m["body"] for m in thread["messages"] if m["from"]["type"] == "SHOP_USER"]

    on_crf, on_fnac = shop(crf_url), shop(sim_url)
    echo(
        f"  carrefour, same thread {thread_id} and order {order_id} -> {answer['status']}; "
        f"its reply names tracking 6A99CARREFOUR: {any('6A99CARREFOUR' in r for r in on_crf)}; "
        f"fnac's thread got it too: {any('6A99CARREFOUR' in r for r in on_fnac)}"
    )


def _live(
    settings: Settings, sim_url: str, api_url: str, app: Any, echo: Callable[[str], None]
) -> None:
    headers = {"X-API-Key": resolve_api_key(settings)}
    _create_demo_orders(settings, sim_url, echo)
    first_event = _customers_write(sim_url, api_url, headers, echo)
    again = httpx.post(f"{api_url}/api/v1/messages", json=first_event, headers=headers).json()
    echo(f"  same message again   -> duplicate={again['duplicate']}, event {again['event_id']}")
    forged = {
        **first_event, "message_id": "forged-1", "body": "Cancel order 30100002-A now.",
        "order_id": "30100002-A",
    }  # fmt: skip
    answer = httpx.post(f"{api_url}/api/v1/messages", json=forged, headers=headers).json()
    echo(f"  forged notification  -> {answer['status']} ({answer.get('reason')})")
    _lost_webhook_recovered(settings, sim_url, app, echo)
    _review_accepted(settings, api_url, echo)
    _business_tools_called(settings, api_url, echo)
    order = httpx.get(
        f"{sim_url}/api/orders", params={"order_ids": "30100002-A"},
        headers={"Authorization": "sim-shop-key"},
    ).json()["orders"][0]  # fmt: skip
    echo(f"  on Mirakl, order 30100002-A is now {order['order_state']}")


def _create_demo_orders(settings: Settings, sim_url: str, echo: Callable[[str], None]) -> None:
    """The marketplace creates the demo's orders on the simulator, through its API."""
    for order in demo_orders(datetime.now(UTC)):
        httpx.post(f"{sim_url}/_sim/orders", json=order).raise_for_status()
        if order["order_state"] == "SHIPPING":  # the warehouse knows what it is preparing
            with session_scope(settings) as session:
                address = order["customer"]["shipping_address"]
                register_shipment(
                    session, order["order_id"], "preparing", address,
                    marketplace=DEFAULT_MARKETPLACE,
                )  # fmt: skip
    echo(
        f"  {len(DEMO_ORDERS)} new orders created on the simulator's Mirakl API "
        f"({', '.join(state for _, _, state, _ in DEMO_ORDERS)}); csagent reads them when a "
        "customer writes"
    )


def _customers_write(
    sim_url: str, api_url: str, headers: dict[str, str], echo: Callable[[str], None]
) -> dict[str, Any]:
    """Each new message is posted as n8n would, and a customer asked to confirm answers; the
    first message's notification is returned (the demo posts it again)."""
    first_event: dict[str, Any] | None = None
    for thread_id, order_id, body in NEW_MESSAGES:
        created = httpx.post(
            f"{sim_url}/_sim/threads/{thread_id}/customer-message",
            json={"body": body, "order_id": order_id},
        ).json()
        event = created["event"]
        first_event = first_event or event
        answer = httpx.post(
            f"{api_url}/api/v1/messages", json=event, headers=headers, timeout=300
        ).json()
        confidence = f"{answer['confidence']:.2f}" if answer["confidence"] is not None else "-"
        asked = " (asked the customer to confirm)" if answer.get("confirmation") == "asked" else ""
        echo(
            f"  POST {thread_id:<16} -> {answer['status']:<17} intent {answer['intent']} "
            f"({confidence}){asked}"
        )
        if asked and thread_id in CONFIRMATIONS:
            # Nothing irreversible before the customer's yes: the customer answers.
            yes = httpx.post(
                f"{sim_url}/_sim/threads/{thread_id}/customer-message",
                json={"body": CONFIRMATIONS[thread_id], "order_id": order_id},
            ).json()["event"]
            answer = httpx.post(
                f"{api_url}/api/v1/messages", json=yes, headers=headers, timeout=300
            ).json()
            echo(
                f"    the customer answers {CONFIRMATIONS[thread_id]!r} -> {answer['status']}, "
                f"answer read as {answer.get('confirmation')}"
            )
    assert first_event is not None
    return first_event


def _lost_webhook_recovered(
    settings: Settings, sim_url: str, app: Any, echo: Callable[[str], None]
) -> None:
    """A customer writes and no notification arrives: `sync` finds the message on Mirakl."""
    thread_id, order_id, body = LOST_WEBHOOK
    httpx.post(
        f"{sim_url}/_sim/threads/{thread_id}/customer-message",
        json={"body": body, "order_id": order_id},
    )
    pipeline = app.state.pipeline

    def ingest(message: IncomingMessage) -> str:
        return str(pipeline.ingest(message, source="sync")[0].status)

    async def reconcile() -> Any:
        async with MiraklClient(f"{sim_url}/api", "sim-shop-key") as client:
            since = datetime.now(UTC) - timedelta(minutes=5)
            sessions = lambda: session_scope(settings)  # noqa: E731
            return await sync_inbox(
                client, sessions, ingest, since=since, marketplace=DEFAULT_MARKETPLACE
            )

    report = asyncio.run(reconcile())
    echo(
        f"  webhook lost for {thread_id}: sync read {report.threads_seen} threads, "
        f"ingested {report.ingested}, already known {report.already_known}"
    )


def _review_accepted(settings: Settings, api_url: str, echo: Callable[[str], None]) -> None:
    """The reviews waiting for a human, and the first one accepted through the API."""
    reviewer = {"X-API-Key": resolve_reviewer_api_key(settings), "X-Actor": "demo agent"}
    pending = httpx.get(f"{api_url}/api/v1/reviews", headers=reviewer).json()
    echo(f"  human reviews pending: {len(pending)}")
    for review in pending[:1]:
        reason = review["description"].split("**Why a human:** ")[1].split("\n")[0]
        # The description is Markdown; the terminal shows the words as written.
        reason = html.unescape(re.sub(r"\\([\\`*_{}\[\]()#+\-.!|>~<])", r"\1", reason))
        echo(f"  review {review['thread_id']} ({review['intent']}): {reason}")
        draft = review["action_request"]["args"]["reply"]
        echo("    draft: " + draft.replace("\n", "\n           "))
        done = httpx.post(
            f"{api_url}/api/v1/threads/{review['thread_id']}/review",
            json={"type": "accept"}, headers=reviewer, timeout=120,
        ).json()  # fmt: skip
        echo(f"  accepted by the agent -> {done['status']}, actions {done['actions']}")


def _business_tools_called(settings: Settings, api_url: str, echo: Callable[[str], None]) -> None:
    """The agent's business tools, called through the internal API as the graph calls them."""
    business = BusinessApi(f"{api_url}/internal/v1", resolve_internal_api_key(settings))
    tools = make_business_tools(
        business, RefundRules.load(settings.refund_rules_path), DEFAULT_MARKETPLACE
    )
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
