"""`csagent bench`: figures, not assertions. Throughput and latency of ingestion (with a bare
insert-only endpoint measured on the same database as the baseline), classification, retrieval."""

from __future__ import annotations

import resource
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from evals.stats import percentile


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_classify(texts: list[str], echo: Callable[[str], None]) -> None:
    from graph.classify.model import LocalIntentModel

    model = LocalIntentModel()
    model.predict("warm up")  # trains or loads the cached model
    started = time.perf_counter()
    latencies = []
    for text in texts:
        t = time.perf_counter()
        model.predict(text)
        latencies.append((time.perf_counter() - t) * 1000)
    total = time.perf_counter() - started
    echo(
        f"classify: {len(texts)} messages, {len(texts) / total:.1f} messages/s, p50 {statistics.median(latencies):.1f} ms, p95 {percentile(latencies, 0.95):.1f} ms, peak RSS {peak_rss_mb():.0f} MB"
    )


def bench_retrieval(questions: list[str], echo: Callable[[str], None]) -> None:
    from knowledge.ingest import KnowledgeBase
    from knowledge.retriever import Retriever
    from store.db import get_engine
    from store.settings import get_settings

    settings = get_settings()
    retriever = Retriever(KnowledgeBase(settings, get_engine(settings)))
    retriever.kb.ingest(settings.knowledge_dir)
    for mode in ("vector", "fulltext", "hybrid"):
        latencies = [retriever.search(q, k=5, mode=mode).latency_ms for q in questions]  # type: ignore[arg-type]
        total = sum(latencies) / 1000
        echo(
            f"retrieval {mode:<8}: {len(questions)} questions, {len(questions) / total:.1f} queries/s, p50 {statistics.median(latencies):.1f} ms, p95 {percentile(latencies, 0.95):.1f} ms"
        )
    echo(f"peak RSS {peak_rss_mb():.0f} MB")


def timed_posts(
    client: httpx.Client, url: str, bodies: list[dict[str, Any]], concurrency: int
) -> tuple[float, dict[str, list[float]]]:
    """POST every body with `concurrency` senders: (seconds in all, latencies in ms by answer
    status)."""
    by_status: dict[str, list[float]] = defaultdict(list)

    def post(body: dict[str, Any]) -> None:
        started = time.perf_counter()
        answer = client.post(url, json=body).json()
        by_status[str(answer.get("status", "error"))].append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(post, bodies))
    return time.perf_counter() - started, by_status


def bench_ingest(
    messages: int, concurrency: int, texts: list[str], echo: Callable[[str], None]
) -> None:
    """Its own stack (throwaway embedded PostgreSQL, simulator, API with the agent), then a bare
    insert-only endpoint on the same database as the baseline."""
    from fastapi import FastAPI
    from sqlalchemy import text as sql

    from api.local_server import serve_in_thread
    from evals.stack import throwaway_stack

    with throwaway_stack("bench") as stack:
        orders = list(stack.simulator.state.sim.orders.values())

        # The customers write first (on the simulator, so the threads exist on "Mirakl");
        # only csagent's handling of the webhook bodies is timed.
        def customer_writes(thread_id: str, i: int) -> dict[str, Any]:
            order = orders[i % len(orders)]
            return dict(
                httpx.post(
                    f"{stack.sim_url}/_sim/threads/{thread_id}/customer-message",
                    json={"body": texts[i % len(texts)], "order_id": order["order_id"]},
                ).json()["event"]
            )

        bodies = [customer_writes(f"bench-{i % max(1, messages // 2)}", i) for i in range(messages)]
        client = httpx.Client(timeout=300, headers=stack.headers)
        url = f"{stack.api_url}/api/v1/messages"
        client.post(url, json=customer_writes("bench-warm-up", 0))  # model load, connections
        total, by_outcome = timed_posts(client, url, bodies, concurrency)
        echo(
            f"ingest (agent): {messages} messages, concurrency {concurrency}: {messages / total:.1f} messages/s"
        )
        for outcome, latencies in sorted(by_outcome.items()):
            echo(
                f"  {outcome:<18} n={len(latencies):<4} p50 {statistics.median(latencies):7.1f} ms  p95 {percentile(latencies, 0.95):7.1f} ms  p99 {percentile(latencies, 0.99):7.1f} ms"
            )

        engine = stack.engine
        with engine.begin() as conn:
            conn.execute(
                sql(
                    "INSERT INTO threads (mirakl_thread_id) VALUES ('bench-baseline') ON CONFLICT DO NOTHING"
                )
            )
            thread_pk = conn.execute(
                sql("SELECT id FROM threads WHERE mirakl_thread_id = 'bench-baseline'")
            ).scalar_one()
        bare = FastAPI()

        @bare.post("/messages")
        def insert_only(body: dict[str, Any]) -> dict[str, str]:
            with engine.begin() as conn:
                conn.execute(
                    sql(
                        "INSERT INTO messages (mirakl_message_id, thread_id, direction, author_type, body, created_at) VALUES (:m, :t, 'inbound', 'CUSTOMER', :b, now())"
                    ),
                    {"m": "base-" + body["message_id"], "t": thread_pk, "b": body["body"]},
                )
            return {"status": "stored"}

        with serve_in_thread(bare) as bare_url:
            base_total, base = timed_posts(
                httpx.Client(timeout=60), f"{bare_url}/messages", bodies, concurrency
            )
        latencies = [ms for values in base.values() for ms in values]
        echo(
            f"baseline (bare insert, same database): {messages / base_total:.1f} messages/s, p50 {statistics.median(latencies):.1f} ms, p95 {percentile(latencies, 0.95):.1f} ms"
        )
        echo(f"overhead: the agent takes {total / base_total:.1f}x the time of a bare insert")
        echo(f"peak RSS {peak_rss_mb():.0f} MB")
