"""kill -9 in the middle of real traffic: the API and a worker (the agent on, replies going to the
simulated Mirakl) are killed while messages and duplicates are in flight, then restarted.
Nothing accepted is lost, nothing is done twice."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import Simulator, free_port
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cli.local_server import wait_for_health
from store.business import seed_business_data
from store.db import session_scope
from store.models import InboundEvent, Message

CSAGENT = Path(sys.executable).with_name("csagent")
REPO = Path(__file__).resolve().parents[1]
SHIPPED = ["20567843-A", "20581001-A", "20585556-A", "20587778-A", "20590101-A"]
QUESTIONS = [
    "Bonjour, où en est ma commande ? Je n'ai toujours rien reçu.",
    "Hi, where is my order? I still have nothing.",
    "Hallo, wo ist meine Bestellung? Ich warte immer noch.",
    "Hola, ¿dónde está mi pedido? Sigo esperando.",
]
MESSAGES, DUPLICATES = 120, 60


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(CSAGENT), *args], env=env, cwd=log.parent,
        stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def wait_until(condition: Any, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def messages_by_thread(sim: Simulator, sender: str) -> Counter[str]:
    """How many messages of `sender` (SHOP, CUSTOMER) each crash- thread has on Mirakl."""
    return Counter(
        thread_id
        for thread_id, thread in sim.state.threads.items()
        if thread_id.startswith("crash-")
        for m in thread["messages"]
        if m["from"]["type"] == f"{sender}_USER"
    )


def count(session: Session, *where: Any, model: Any = InboundEvent) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


@pytest.mark.slow
def test_kill_9_of_api_and_worker_loses_nothing_and_replies_once(
    db_url: str, session: Session, mirakl_sim: Simulator, tmp_path: Path
) -> None:
    with session_scope() as s:
        seed_business_data(s)  # the orders and shipments the status replies are built from
    models = REPO / ".csagent" / "models"
    if models.is_dir():  # spare the restarted processes a retraining (same cache key)
        shutil.copytree(models, tmp_path / "models")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": db_url, "CSAGENT_DATA_DIR": str(tmp_path), "CSAGENT_PROCESSING": "agent",
        "CSAGENT_API_KEY": "k", "CSAGENT_MIRAKL_BASE_URL": mirakl_sim.api,
        "CSAGENT_QUEUE_RETRY_DELAY_S": "0.2", "CSAGENT_QUEUE_MAX_ATTEMPTS": "5",
        # The webhook path under kill -9 is what is measured (polling has its own tests).
        "CSAGENT_MIRAKL_POLL": "false",
    }  # fmt: skip
    log = tmp_path / "processes.log"
    events = [
        httpx.post(
            f"{mirakl_sim.url}/_sim/threads/crash-{i % 40}/customer-message",
            json={"body": QUESTIONS[i % len(QUESTIONS)], "order_id": SHIPPED[i % len(SHIPPED)]},
        ).json()["event"]
        for i in range(MESSAGES)
    ]
    traffic = events + events[:DUPLICATES]

    def post(event: dict[str, Any]) -> int:
        try:
            mode = "async" if event["message_id"][-1] in "02468ace" else "sync"
            return httpx.post(
                f"{url}/api/v1/messages?mode={mode}", json=event,
                headers={"X-API-Key": "k"}, timeout=60,
            ).status_code  # fmt: skip
        except httpx.HTTPError:
            return 0  # the server was killed under this request: the sender will retry

    api = start(["serve", "--port", str(port)], env, log)
    worker = start(["worker", "--concurrency", "2"], env, log)
    try:
        assert wait_for_health(url, api, 120), log.read_text()[-3000:]
        with ThreadPoolExecutor(max_workers=8) as senders:
            sent = [senders.submit(post, e) for e in traffic]
            assert wait_until(lambda: count(session, InboundEvent.status == "processed") >= 20, 120)
            api.send_signal(signal.SIGKILL)
            worker.send_signal(signal.SIGKILL)
            api.wait(10)
            worker.wait(10)
            codes = Counter(f.result() for f in sent)
        assert count(session, InboundEvent.status != "processed") > 0, "killed too late to matter"

        # Restart, and the sender (n8n retries) posts again whatever got no answer.
        api = start(["serve", "--port", str(port)], env, log)
        worker = start(["worker"], env, log)
        assert wait_for_health(url, api, 120), log.read_text()[-3000:]
        with ThreadPoolExecutor(max_workers=8) as senders:
            again = Counter(senders.map(post, traffic))
        assert set(again) == {200, 202}, again
        assert wait_until(lambda: count(session, InboundEvent.status == "received") == 0, 180)
    finally:
        for process in (api, worker):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(60)
    assert codes[0] > 0, codes  # requests were in flight when the processes died
    # Every message stored once, every event finished (none failed), one reply per message.
    assert count(session, Message.direction == "inbound", model=Message) == MESSAGES
    assert count(session) == MESSAGES
    assert count(session, InboundEvent.status == "processed") == MESSAGES
    replies, customer = (messages_by_thread(mirakl_sim, sender) for sender in ("SHOP", "CUSTOMER"))
    assert all(replies[t] <= customer[t] for t in customer), (replies, customer)
    assert sum(replies.values()) > 0
