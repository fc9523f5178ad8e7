"""The real n8n between the Mirakl simulator and csagent: webhook -> reshape -> POST -> answer."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from helpers import Simulator, free_port, stop_process
from n8n_support import (
    CREDENTIAL_ID,
    POLL_WORKFLOW_ID,
    WORKFLOW_ID,
    ensure_n8n,
    n8n_env,
    postgres_env,
    prepare_poll_workflow,
    prepare_workflow,
)
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.app import create_app
from store.db import with_database
from store.models import InboundEvent, Message, Thread
from store.settings import Settings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
KEY = "n8n-e2e-key"


@pytest.fixture
def csagent_url(
    db_url: str, serve_app: Callable[..., AbstractContextManager[str]]
) -> Iterator[str]:
    app = create_app(Settings(api_key=SecretStr(KEY)), queue_worker=False)
    with serve_app(app, lifespan="on") as url:
        yield url


@contextmanager
def running_n8n(
    server_url: str, tmp_path: Path, files: tuple[Path, Path], workflow_id: str
) -> Iterator[tuple[subprocess.Popen[str], int, str]]:
    """The real n8n on a database of its own, with a credential file and a workflow imported
    and published; yields (its process, its port, its database URL) and removes it all after."""
    exe = ensure_n8n()
    database = f"n8n_e2e_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    n8n_url = with_database(server_url, database)
    port = free_port()
    env = n8n_env(tmp_path / "n8n", port, postgres_env(conninfo_to_dict(n8n_url)))
    workflow, credentials = files
    for args in (
        ("import:credentials", f"--input={credentials}"),
        ("import:workflow", f"--input={workflow}"),
        ("publish:workflow", f"--id={workflow_id}"),
    ):
        done = subprocess.run(
            [str(exe), *args], env=env, capture_output=True, text=True, timeout=180
        )
        assert done.returncode == 0, f"n8n {args[0]} failed:\n{done.stdout}\n{done.stderr}"
    log = (tmp_path / "n8n.log").open("w")
    process = subprocess.Popen(
        [str(exe), "start"], env=env, stdout=log, stderr=subprocess.STDOUT, text=True
    )
    try:
        yield process, port, n8n_url
    finally:
        stop_process(process)
        log.close()
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )


@pytest.fixture
def n8n(server_url: str, csagent_url: str, tmp_path: Path) -> Iterator[str]:
    """A running n8n with the shipped workflow imported and published; yields its webhook URL."""
    files = prepare_workflow(tmp_path, csagent_url, KEY)
    with running_n8n(server_url, tmp_path, files, WORKFLOW_ID) as (process, port, _):
        hook = f"http://127.0.0.1:{port}/webhook/mirakl-message"
        deadline = time.monotonic() + 180
        served = 0  # n8n may serve the hook once while it is still activating its workflows
        while True:
            assert process.poll() is None, (tmp_path / "n8n.log").read_text()[-3000:]
            try:
                answered = httpx.post(hook, json={"event_type": "PING"}, timeout=5).status_code
                served = served + 1 if answered != 404 else 0
                if served >= 3:  # three times in a row, a second apart: it stays up
                    break
            except httpx.HTTPError:
                served = 0
            assert time.monotonic() < deadline, (tmp_path / "n8n.log").read_text()[-3000:]
            time.sleep(1)
        yield hook


def test_a_customer_message_travels_simulator_n8n_csagent(
    mirakl_sim: Simulator, n8n: str, session: Session
) -> None:
    assert CREDENTIAL_ID  # the workflow reads the API key from this n8n credential
    mirakl_sim.state.webhook_url = n8n
    response = httpx.post(
        f"{mirakl_sim.url}/_sim/threads/e2e-thread-1/customer-message",
        json={"body": "Bonjour, ma commande n'est toujours pas arrivée.", "order_id": "20567843-A"},
        timeout=120,
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    webhook = result["webhook"]
    assert webhook["status_code"] == 200, webhook
    answer = webhook["response"]
    assert (answer["thread_id"], answer["status"], answer["duplicate"]) == (
        "e2e-thread-1",
        "stored",
        False,
    )

    message = session.scalars(
        select(Message).where(Message.mirakl_message_id == result["message_id"])
    ).one()
    assert message.body == "Bonjour, ma commande n'est toujours pas arrivée."
    thread = session.get(Thread, message.thread_id)
    assert thread is not None and thread.order is not None
    assert thread.order.mirakl_order_id == "20567843-A"

    # n8n's JavaScript mapping and csagent's Python mapping agree on every field n8n can know.
    def comparable(body: dict[str, Any]) -> dict[str, Any]:
        known = {k: v for k, v in body.items() if k not in ("locale", "marketplace")}
        return {**known, "created_at": datetime.fromisoformat(known["created_at"])}

    stored = session.scalars(select(InboundEvent.payload)).one()
    assert comparable(stored) == comparable(result["event"])

    # Mirakl re-delivering the same notification is harmless.
    thread_json = {
        k: v for k, v in mirakl_sim.state.threads["e2e-thread-1"].items() if k != "messages"
    }
    last = mirakl_sim.state.threads["e2e-thread-1"]["messages"][-1]
    again = httpx.post(
        n8n,
        json={"event_id": "evt-again", "event_type": "THREAD_MESSAGE_CREATED",
              "occurred_at": last["date_created"], "shop_id": "2001",
              "payload": {"thread": thread_json, "message": last}},
        timeout=60,
    ).json()  # fmt: skip
    assert again["duplicate"] is True and again["event_id"] == answer["event_id"]
    assert len(session.scalars(select(Message)).all()) == 1

    # Each marketplace's Mirakl is given the webhook URL with ?marketplace=<its name>: the
    # workflow passes it on, so the message is filed under that marketplace.
    mirakl_sim.state.webhook_url = f"{n8n}?marketplace=carrefour"
    response = httpx.post(
        f"{mirakl_sim.url}/_sim/threads/e2e-thread-2/customer-message",
        json={"body": "Bonjour, une question sur la garantie.", "customer_id": "c-e2e-2"},
        timeout=120,
    )
    webhook = response.json()["webhook"]
    assert webhook["status_code"] == 200, webhook
    session.expire_all()
    payload = session.scalars(
        select(InboundEvent.payload).where(InboundEvent.id == webhook["response"]["event_id"])
    ).one()
    assert payload["marketplace"] == "carrefour"


@pytest.fixture
def n8n_polling(
    server_url: str, csagent_url: str, mirakl_sim: Simulator, tmp_path: Path
) -> Iterator[tuple[str, str]]:
    """A running n8n with the shipped *polling* workflow (a seller's: Mirakl sends sellers no
    webhooks) published, every 3 seconds; yields (its database's URL, the workflow id)."""
    files = prepare_poll_workflow(
        tmp_path, mirakl_sim.url, csagent_url, KEY, mirakl_sim.api_key, seconds=3
    )
    with running_n8n(server_url, tmp_path, files, POLL_WORKFLOW_ID) as (_, _, n8n_url):
        yield n8n_url, POLL_WORKFLOW_ID


def test_the_sellers_polling_workflow_sends_each_customer_message_once(
    mirakl_sim: Simulator, n8n_polling: tuple[str, str], session: Session, tmp_path: Path
) -> None:
    mirakl_sim.state.reset(seed=False)
    n8n_db, workflow_id = n8n_polling

    def write(thread_id: str, body: str, **extra: Any) -> str:
        answer = httpx.post(
            f"{mirakl_sim.url}/_sim/threads/{thread_id}/customer-message",
            json={"body": body, **extra}, timeout=30,
        )  # fmt: skip
        assert answer.status_code == 201, answer.text
        return str(answer.json()["message_id"])

    def stored_ids() -> set[str]:
        session.expire_all()
        return set(session.scalars(select(Message.mirakl_message_id)))

    def wait_for(ids: set[str], timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if ids <= stored_ids():
                return True
            time.sleep(1)
        return False

    first = {
        write("poll-a", "Bonjour, où en est ma commande ?", order_id="20567843-A"),
        write("poll-a", "Je précise : commande passée lundi."),
        write("poll-b", "Hello, can I change the colour of my kettle?", customer_id="c-b"),
    }
    # The operator writes too: the workflow sends customers' messages only.
    httpx.post(
        f"{mirakl_sim.url}/_sim/threads/poll-b/operator-message",
        json={"body": "Le vendeur va vous répondre sous 24 h.", "to": ["CUSTOMER", "SHOP"]},
    ).raise_for_status()
    assert wait_for(first, timeout_s=240), (tmp_path / "n8n.log").read_text()[-3000:]

    later = {write("poll-c", "Bonjour, avez-vous reçu mes photos ?", customer_id="c-c")}
    assert wait_for(later, timeout_s=60), (tmp_path / "n8n.log").read_text()[-3000:]
    time.sleep(7)  # two more passes re-read the overlap: nothing is stored twice
    session.expire_all()
    authors = session.scalars(select(Message.author_type)).all()
    assert sorted(authors) == ["CUSTOMER"] * 4
    assert stored_ids() == first | later
    assert len(session.scalars(select(InboundEvent.id)).all()) == 4
    # The workflow keeps its cursor (the newest date_updated it read) in its static data.
    with psycopg.connect(n8n_db) as conn:
        static = conn.execute(
            'SELECT "staticData" FROM workflow_entity WHERE id = %s', (workflow_id,)
        ).fetchone()
    assert static is not None and static[0]["global"]["miraklLastUpdated"] == max(
        t["date_updated"] for t in mirakl_sim.state.threads.values()
    )
