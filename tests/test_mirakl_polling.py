"""The seller's intake with no webhook at all: csagent reads the simulator's inbox (M11) while
customers write there, and every customer message is stored and processed exactly once; also
with a webhook sender posting the same messages at the same time, across page boundaries and
equal `date_updated` values, and through a storm of 429s. Mirakl's reply clock becomes the
deadline, and an operator's message is stored as the operator's, never answered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import Simulator, free_port
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.app import create_app
from cli.local_server import wait_for_health
from store.models import InboundEvent, Message, Thread
from store.settings import Settings

KEY = "poll-key"
REVIEWER = "poll-reviewer"
CSAGENT = Path(sys.executable).with_name("csagent")
INTERVAL_S = 1.0


def customer_writes(sim: Simulator, thread_id: str, body: str, **extra: Any) -> dict[str, Any]:
    answer = httpx.post(
        f"{sim.url}/_sim/threads/{thread_id}/customer-message", json={"body": body, **extra}
    )
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


def wait_until(check: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def count(session: Session, statement: Any) -> int:
    session.expire_all()
    return int(session.scalar(statement) or 0)


@pytest.fixture
def polling_csagent(
    db_url: str,
    mirakl_sim: Simulator,
    serve_app: Callable[..., AbstractContextManager[str]],
) -> Iterator[str]:
    """`csagent serve`'s app polling the simulator every second (loopback only), storing and
    queueing messages (processing=store keeps the agent out of what is measured here)."""
    mirakl_sim.state.reset(seed=False)
    settings = Settings(
        api_key=SecretStr(KEY),
        reviewer_api_key=SecretStr(REVIEWER),
        mirakl_base_url=mirakl_sim.api,
        mirakl_poll_interval_s=INTERVAL_S,
        mirakl_max_retry_after_s=5,
        processing="store",
        sla_hours=24,
    )
    app = create_app(settings, poll=True, queue_worker=True)
    with serve_app(app, lifespan="on") as url:
        yield url


def test_polling_alone_stores_every_customer_message_once(
    polling_csagent: str, mirakl_sim: Simulator, session: Session
) -> None:
    # 130 threads appear at once: two M11 pages of 100, and 45 of them updated at the same
    # instant (the page boundary falls among them).
    now = datetime.now(UTC)
    threads, written = [], {}
    for n in range(130):
        at = now - timedelta(seconds=60) if 40 <= n < 85 else now - timedelta(seconds=130 - n)
        stamp = at.isoformat().replace("+00:00", "Z")
        thread_id, message_id = f"poll-{n:03d}", f"poll-m-{n:03d}"
        customer = {"type": "CUSTOMER", "id": f"c-{n}", "display_name": f"Client {n}"}
        threads.append({
            "id": thread_id, "topic": {"type": "FREE_TEXT", "value": "Commande"},
            "current_participants": [customer], "date_created": stamp, "date_updated": stamp,
            "messages": [{"id": message_id, "from": {"type": "CUSTOMER", "display_name": "C"},
                          "to": [], "body": f"Bonjour, où en est ma commande {n} ?",
                          "date_created": stamp}],
        })  # fmt: skip
        written[message_id] = thread_id
    httpx.post(f"{mirakl_sim.url}/_sim/threads", json={"threads": threads}).raise_for_status()
    # A webhook sender posts a share of the same messages at the same time.
    posted: list[int] = []

    def webhook() -> None:
        for result_id, thread_id in list(written.items())[::3]:
            body = {
                "thread_id": thread_id, "message_id": result_id, "customer": {"id": "c-x"},
                "body": "Bonjour", "created_at": datetime.now(UTC).isoformat(),
            }  # fmt: skip
            answer = httpx.post(
                f"{polling_csagent}/api/v1/messages", json=body, headers={"X-API-Key": KEY}
            )
            posted.append(answer.status_code)

    sender = threading.Thread(target=webhook)
    sender.start()
    stored = select(func.count()).select_from(Message).where(Message.direction == "inbound")
    assert wait_until(lambda: count(session, stored) == 130, timeout_s=30), count(session, stored)
    sender.join()
    assert set(posted) == {200}
    ids = session.scalars(select(Message.mirakl_message_id)).all()
    assert sorted(ids) == sorted(written)  # each once, none invented
    events = select(func.count()).select_from(InboundEvent)
    assert count(session, events) == 130
    processed = (
        select(func.count()).select_from(InboundEvent).where(InboundEvent.status != "received")
    )
    assert wait_until(lambda: count(session, processed) == 130, timeout_s=20)

    # Customers keep writing: each new message arrives within about one interval.
    late = customer_writes(mirakl_sim, "poll-007", "Toujours rien reçu, pouvez-vous vérifier ?")
    started = time.monotonic()
    new = select(func.count()).where(Message.mirakl_message_id == late["message_id"])
    assert wait_until(lambda: count(session, new) == 1, timeout_s=10)
    assert time.monotonic() - started < 3 * INTERVAL_S + 2

    health = httpx.get(f"{polling_csagent}/healthz").json()["marketplaces"]["default"]
    assert health["inbox_poller"] == "this process"
    assert health["inbox_lag_s"] is not None and health["inbox_lag_s"] < 10
    assert health["replies_owed"] == 130  # Mirakl's clock runs on every thread


def test_polling_gets_through_a_storm_of_429s_without_losing_a_message(
    polling_csagent: str, mirakl_sim: Simulator, session: Session
) -> None:
    stored = select(func.count()).select_from(Message)
    customer_writes(mirakl_sim, "storm-0", "Bonjour, une question sur ma facture.")
    assert wait_until(lambda: count(session, stored) == 1, timeout_s=10)
    httpx.post(
        f"{mirakl_sim.url}/_sim/faults",
        json={"status": 429, "count": 12, "retry_after": 0.3, "path_prefix": "/inbox"},
    ).raise_for_status()
    for n in range(1, 6):
        customer_writes(mirakl_sim, f"storm-{n}", f"Message numéro {n} pendant la tempête.")
    assert wait_until(lambda: count(session, stored) == 6, timeout_s=40), count(session, stored)
    assert sum(f.remaining for f in mirakl_sim.state.faults) == 0  # every 429 was met
    ids = session.scalars(select(Message.mirakl_message_id)).all()
    assert len(ids) == len(set(ids)) == 6


def test_mirakls_reply_clock_is_the_deadline_and_an_operator_is_never_answered(
    polling_csagent: str, mirakl_sim: Simulator, session: Session
) -> None:
    first = customer_writes(mirakl_sim, "clock-1", "Bonjour, où est mon colis ?")
    customer_writes(mirakl_sim, "clock-2", "Bonjour, une facture svp.")
    asked = datetime.fromisoformat(
        mirakl_sim.state.threads["clock-1"]["metadata"]["shop_reply_needed_since"]
    )
    two = select(func.count()).select_from(Thread).where(Thread.sla_due_at.is_not(None))
    assert wait_until(lambda: count(session, two) == 2, timeout_s=10)
    thread = session.scalars(select(Thread).where(Thread.mirakl_thread_id == "clock-1")).one()
    assert thread.sla_due_at == asked + timedelta(hours=24)
    assert first["message_id"] in session.scalars(select(Message.mirakl_message_id)).all()

    # The operator marks clock-2 as needing no reply: nothing is owed any more.
    httpx.post(
        f"{mirakl_sim.url}/_sim/threads/clock-2/no-reply-needed", json={"user_type": "OPERATOR"}
    ).raise_for_status()
    no_deadline = select(Thread.sla_due_at).where(Thread.mirakl_thread_id == "clock-2")
    assert wait_until(
        lambda: (session.expire_all(), session.scalar(no_deadline))[1] is None, timeout_s=10
    )

    # The operator writes in clock-1: stored as the operator's, never processed as a customer's.
    httpx.post(
        f"{mirakl_sim.url}/_sim/threads/clock-1/operator-message",
        json={"body": "Bonjour, le client attend depuis deux jours.", "to": ["SHOP"]},
    ).raise_for_status()
    operator = select(func.count()).select_from(Message).where(Message.author_type == "OPERATOR")
    assert wait_until(lambda: count(session, operator) == 1, timeout_s=10)
    assert count(session, select(func.count()).select_from(InboundEvent)) == 2
    shop_replies = [
        m
        for m in mirakl_sim.state.threads["clock-1"]["messages"]
        if m["from"]["type"] == "SHOP_USER"
    ]
    assert shop_replies == []


def test_a_reviewer_addresses_a_reply_to_the_operator(
    polling_csagent: str, mirakl_sim: Simulator, session: Session
) -> None:
    customer_writes(mirakl_sim, "ops-1", "Bonjour, mon colis est arrivé abîmé.")
    httpx.post(
        f"{mirakl_sim.url}/_sim/threads/ops-1/operator-message",
        json={"body": "Merci d'indiquer au service client la date d'expédition.", "to": ["SHOP"]},
    ).raise_for_status()
    operator = select(func.count()).select_from(Message).where(Message.author_type == "OPERATOR")
    assert wait_until(lambda: count(session, operator) == 1, timeout_s=10)
    headers = {"X-API-Key": REVIEWER, "X-Actor": "lea"}
    refused = httpx.post(
        f"{polling_csagent}/api/v1/threads/ops-1/reply",
        json={"text": "Expédié le 2 décembre.", "to": ["SHOP"]}, headers=headers,
    )  # fmt: skip
    assert refused.status_code == 422
    sent = httpx.post(
        f"{polling_csagent}/api/v1/threads/ops-1/reply",
        json={"text": "Expédié le 2 décembre par Colissimo.", "to": ["OPERATOR"]},
        headers=headers, timeout=30,
    )  # fmt: skip
    assert sent.status_code == 200, sent.text
    last = mirakl_sim.state.threads["ops-1"]["messages"][-1]
    assert last["id"] == sent.json()["message_id"]
    assert [r["type"] for r in last["to"]] == ["OPERATOR"]
    both = httpx.post(
        f"{polling_csagent}/api/v1/threads/ops-1/reply",
        json={"text": "Nous vous envoyons un colis de remplacement.", "to": ["CUSTOMER", "OPERATOR"]},
        headers=headers, timeout=30,
    )  # fmt: skip
    assert both.status_code == 200, both.text
    recipients = mirakl_sim.state.threads["ops-1"]["messages"][-1]["to"]
    assert sorted(r["type"] for r in recipients) == ["CUSTOMER", "OPERATOR"]
    # The shop replied: Mirakl's clock stops, and so does csagent's deadline.
    assert mirakl_sim.state.threads["ops-1"]["metadata"]["shop_reply_needed_since"] is None
    session.expire_all()
    thread = session.scalars(select(Thread).where(Thread.mirakl_thread_id == "ops-1")).one()
    assert thread.sla_due_at is None


@pytest.mark.slow
def test_two_serve_processes_poll_with_one_poller_and_a_kill_hands_it_over(
    migrated_url: str, db_url: str, mirakl_sim: Simulator, session: Session, tmp_path: Path
) -> None:
    """Two `csagent serve` on one database: one polls; kill -9 it and the other takes over,
    and no message written meanwhile is lost."""
    mirakl_sim.state.reset(seed=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSAGENT_")}
    env.update(
        DATABASE_URL=db_url, CSAGENT_DATA_DIR=str(tmp_path), CSAGENT_API_KEY=KEY,
        CSAGENT_MIRAKL_BASE_URL=mirakl_sim.api, CSAGENT_MIRAKL_POLL_INTERVAL_S="1",
        CSAGENT_PROCESSING="store",
    )  # fmt: skip
    servers = []
    for n in (1, 2):
        port = free_port()
        log = (tmp_path / f"serve-{n}.log").open("wb")
        process = subprocess.Popen(
            [str(CSAGENT), "serve", "--port", str(port)],
            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        servers.append((process, f"http://127.0.0.1:{port}"))
    try:
        for process, url in servers:
            assert wait_for_health(url, process, timeout_s=240), url

        def pollers() -> list[str]:
            return [
                httpx.get(f"{url}/healthz").json()["marketplaces"]["default"]["inbox_poller"]
                for _, url in servers
            ]

        assert wait_until(lambda: sorted(pollers()) == ["another process", "this process"], 20)
        stored = select(func.count()).select_from(Message)
        for n in range(5):
            customer_writes(mirakl_sim, f"ha-{n}", f"Bonjour, message {n} avant la panne.")
        assert wait_until(lambda: count(session, stored) == 5, timeout_s=15)

        polling = pollers().index("this process")
        victim, _ = servers[polling]
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        for n in range(5, 10):
            customer_writes(mirakl_sim, f"ha-{n}", f"Bonjour, message {n} pendant la panne.")
        _, survivor = servers[1 - polling]
        assert wait_until(
            lambda: (
                httpx.get(f"{survivor}/healthz").json()["marketplaces"]["default"]["inbox_poller"]
                == "this process"
            ),
            timeout_s=30,
        )
        assert wait_until(lambda: count(session, stored) == 10, timeout_s=15)
        ids = session.scalars(select(Message.mirakl_message_id)).all()
        assert len(ids) == len(set(ids)) == 10
        events = select(func.count()).select_from(InboundEvent)
        assert count(session, events) == 10
    finally:
        for process, _ in servers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)


def test_one_marketplace_down_does_not_stop_the_others(
    db_url: str, session: Session, serve_app: Callable[..., AbstractContextManager[str]]
) -> None:
    """Two marketplaces polled side by side: Carrefour's Mirakl refuses every request (a 503
    storm) and Fnac's messages still arrive, filed under Fnac; /healthz says what is wrong."""
    from tools.mirakl.simulator.app import create_marketplaces_simulator

    sims = create_marketplaces_simulator(["fnac", "carrefour"])
    with serve_app(sims) as sim:
        httpx.post(
            f"{sim}/carrefour/_sim/faults", json={"status": 503, "count": 10_000}
        ).raise_for_status()
        settings = Settings(
            api_key=SecretStr(KEY), processing="store", mirakl_poll_interval_s=INTERVAL_S,
            mirakl_max_attempts=1, marketplaces=[
                {"name": "fnac", "base_url": f"{sim}/fnac/api", "api_key": "sim-shop-key",
                 "default": True},
                {"name": "carrefour", "base_url": f"{sim}/carrefour/api",
                 "api_key": "sim-shop-key"},
            ],
        )  # fmt: skip
        with serve_app(create_app(settings, poll=True, queue_worker=True), lifespan="on") as url:
            for n in range(3):
                written = httpx.post(
                    f"{sim}/fnac/_sim/threads/fnac-{n}/customer-message",
                    json={"body": f"Bonjour, ma commande {n} ?"},
                )
                assert written.status_code == 201
            fnac = select(func.count()).select_from(Message).where(Message.marketplace == "default")
            assert wait_until(lambda: count(session, fnac) == 3, timeout_s=15)
            health = httpx.get(f"{url}/healthz").json()
            assert health["status"] == "degraded"
            assert health["marketplaces"]["fnac"]["inbox_lag_s"] is not None
            carrefour = health["marketplaces"]["carrefour"]
            assert carrefour["inbox_lag_s"] is None and "503" in carrefour["inbox_poll_error"]
            assert any("carrefour" in p and "never been read" in p for p in health["problems"])


def test_polling_a_real_mirakl_more_often_than_once_a_minute_is_refused() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSAGENT_")}
    env.update(
        CSAGENT_MIRAKL_BASE_URL="https://fnac-prod.mirakl.net/api",
        CSAGENT_MIRAKL_POLL_INTERVAL_S="10",
    )
    done = subprocess.run(
        [str(CSAGENT), "serve"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "CSAGENT_MIRAKL_POLL_INTERVAL_S=10 is below 60 s" in done.stderr
    assert "Traceback" not in done.stderr
