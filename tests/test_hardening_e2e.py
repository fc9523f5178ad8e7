"""The served agent as an attacker would try it: a long hostile customer message is answered within
a budget while /healthz keeps answering (before, a 342-character message made /healthz answer in
50 s: the address reader backtracked with the GIL held); the webhook key reads outcomes, not the
replies sent to customers; /healthz, which is open, names no marketplace URL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from helpers import Simulator, served_agent
from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.ingest import KnowledgeBase
from store.models import InboundEvent

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def agent_url(knowledge: KnowledgeBase, mirakl_sim: Simulator) -> Iterator[str]:
    with served_agent(mirakl_sim) as url:
        yield url


@pytest.mark.parametrize(
    "shape",
    [
        "A-",  # hyphenated capitals before a postcode: the city pattern's blow-up
        "\n",  # line breaks: the condition check re-read them from each one
        "12345 ",  # a wall of postcodes
    ],
)
def test_a_long_hostile_message_is_answered_while_healthz_keeps_answering(
    agent_url: str, mirakl_sim: Simulator, session: Session, shape: str
) -> None:
    head = "Bonjour, changez l'adresse de livraison : 12 rue A, 75001 "
    tail = "# SW1A 2AA"
    body = head + shape * ((20_000 - len(head) - len(tail)) // len(shape)) + tail
    order_id = next(iter(mirakl_sim.state.orders))
    event = httpx.post(
        f"{mirakl_sim.url}/_sim/threads/hostile-1/customer-message",
        json={"body": body, "order_id": order_id},
    ).json()["event"]

    answer: dict[str, httpx.Response] = {}

    def post() -> None:
        answer["response"] = httpx.post(
            f"{agent_url}/api/v1/messages", json=event, headers={"X-API-Key": "k"}, timeout=300
        )

    health: list[float] = []
    sender = threading.Thread(target=post)
    started = time.perf_counter()
    sender.start()
    while sender.is_alive():
        t = time.perf_counter()
        assert httpx.get(f"{agent_url}/healthz", timeout=120).status_code in (200, 503)
        health.append(time.perf_counter() - t)
        time.sleep(0.05)
    sender.join()
    elapsed = time.perf_counter() - started
    response = answer["response"]
    assert response.status_code == 200, response.text
    print(f"{len(body)} chars of {shape!r}: answered in {elapsed:.2f} s, "
          f"slowest /healthz {max(health, default=0):.3f} s over {len(health)} checks")  # fmt: skip
    # Budgets an exponential or quadratic parser cannot meet (it took minutes); the real
    # figures are printed by `csagent bench hostile`.
    assert elapsed < 15, elapsed
    assert max(health, default=0) < 2, health
    session.expire_all()
    status = session.scalar(select(InboundEvent.status).order_by(InboundEvent.id.desc()))
    assert status == "processed"


def test_the_webhook_key_reads_outcomes_not_replies_and_healthz_names_no_url(
    agent_url: str, mirakl_sim: Simulator
) -> None:
    order_id = next(
        o for o, order in mirakl_sim.state.orders.items() if order["order_state"] == "SHIPPING"
    )
    event = httpx.post(
        f"{mirakl_sim.url}/_sim/threads/where-1/customer-message",
        json={"body": "Hello, where is my order? When will it arrive?", "order_id": order_id},
    ).json()["event"]
    answer = httpx.post(
        f"{agent_url}/api/v1/messages", json=event, headers={"X-API-Key": "k"}, timeout=300
    ).json()
    assert answer["reply"], answer  # the sender of a message gets its outcome and reply
    listed = httpx.get(f"{agent_url}/api/v1/events", headers={"X-API-Key": "k"}).json()
    one = httpx.get(
        f"{agent_url}/api/v1/events/{listed[0]['event_id']}", headers={"X-API-Key": "k"}
    ).json()
    assert listed and all(e["reply"] is None for e in listed) and one["reply"] is None
    assert listed[0]["intent"] == answer["intent"]  # the outcome is there
    health = httpx.get(f"{agent_url}/healthz").text
    assert mirakl_sim.api not in health and "127.0.0.1" not in health
