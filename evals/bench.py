"""`csagent bench`: figures, not assertions. Throughput and latency of ingestion (with a bare
insert-only endpoint measured on the same database as the baseline), classification, retrieval."""

from __future__ import annotations

import resource
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


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


def bench_ingest(
    messages: int, concurrency: int, texts: list[str], echo: Callable[[str], None]
) -> None:
    """Its own stack: throwaway embedded PostgreSQL, simulator, API with the agent; then the
    bare insert-only baseline on the same database."""
    from fastapi import FastAPI
    from sqlalchemy import text as sql

    from api.app import create_app
    from api.local_server import free_port, serve_in_thread
    from knowledge.ingest import KnowledgeBase
    from store import migrate
    from store.business import seed_business_data
    from store.db import get_engine, session_scope, start_embedded_server
    from store.settings import get_settings
    from tools.mirakl.simulator import create_simulator

    with tempfile.TemporaryDirectory(prefix="csagent-bench-") as tmp:
        url = start_embedded_server(Path(tmp), "bench")
        migrate.upgrade(url)
        simulator = create_simulator()
        with serve_in_thread(simulator) as sim_url:
            port = free_port()
            settings = get_settings().model_copy(update={
                "database_url": url, "processing": "agent", "api_key": SecretStr("bench"),
                "mirakl_base_url": f"{sim_url}/api", "internal_api_url": f"http://127.0.0.1:{port}/internal/v1",
            })  # fmt: skip
            engine = get_engine(settings)
            with session_scope(settings) as session:
                seed_business_data(session)
            KnowledgeBase(settings, engine).ingest(settings.knowledge_dir)
            orders = list(simulator.state.sim.orders.values())
            # The customers write first (on the simulator, so the threads exist on "Mirakl");
            # only csagent's handling of the webhook bodies is timed.
            bodies = []
            for i in range(messages):
                order = orders[i % len(orders)]
                created = httpx.post(
                    f"{sim_url}/_sim/threads/bench-{i % max(1, messages // 2)}/customer-message",
                    json={"body": texts[i % len(texts)], "order_id": order["order_id"]},
                ).json()
                bodies.append(created["event"])
            app = create_app(settings, queue_worker=False)
            with serve_in_thread(app, lifespan="on", port=port) as api_url:
                client = httpx.Client(timeout=300, headers={"X-API-Key": "bench"})
                # Warm-up (model load, first connections), not timed.
                warm = httpx.post(
                    f"{sim_url}/_sim/threads/bench-warm-up/customer-message",
                    json={"body": texts[0], "order_id": orders[0]["order_id"]},
                ).json()["event"]
                client.post(f"{api_url}/api/v1/messages", json=warm)
                by_outcome: dict[str, list[float]] = defaultdict(list)

                def post(body: dict[str, Any]) -> None:
                    t = time.perf_counter()
                    answer = client.post(f"{api_url}/api/v1/messages", json=body).json()
                    by_outcome[answer.get("status", "error")].append(
                        (time.perf_counter() - t) * 1000
                    )

                started = time.perf_counter()
                with ThreadPoolExecutor(max_workers=concurrency) as pool:
                    list(pool.map(post, bodies))
                total = time.perf_counter() - started
                echo(
                    f"ingest (agent): {messages} messages, concurrency {concurrency}: {messages / total:.1f} messages/s"
                )
                for outcome, latencies in sorted(by_outcome.items()):
                    echo(
                        f"  {outcome:<18} n={len(latencies):<4} p50 {statistics.median(latencies):7.1f} ms  p95 {percentile(latencies, 0.95):7.1f} ms  p99 {percentile(latencies, 0.99):7.1f} ms"
                    )

            bare = FastAPI()
            with engine.begin() as conn:
                conn.execute(
                    sql(
                        "INSERT INTO threads (mirakl_thread_id) VALUES ('bench-baseline') ON CONFLICT DO NOTHING"
                    )
                )
                thread_pk = conn.execute(
                    sql("SELECT id FROM threads WHERE mirakl_thread_id = 'bench-baseline'")
                ).scalar_one()

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
                latencies: list[float] = []
                bare_client = httpx.Client(timeout=60)

                def post_bare(body: dict[str, Any]) -> None:
                    t = time.perf_counter()
                    bare_client.post(f"{bare_url}/messages", json=body)
                    latencies.append((time.perf_counter() - t) * 1000)

                started = time.perf_counter()
                with ThreadPoolExecutor(max_workers=concurrency) as pool:
                    list(pool.map(post_bare, bodies))
                base_total = time.perf_counter() - started
            echo(
                f"baseline (bare insert, same database): {messages / base_total:.1f} messages/s, p50 {statistics.median(latencies):.1f} ms, p95 {percentile(latencies, 0.95):.1f} ms"
            )
            echo(f"overhead: the agent takes {total / base_total:.1f}x the time of a bare insert")
            echo(f"peak RSS {peak_rss_mb():.0f} MB")
