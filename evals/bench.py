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


def bench_classify(texts: list[str], echo: Callable[[str], None]) -> float:
    """Messages per second of the local classifier alone (embedding + model); also returned."""
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
    rate = len(texts) / total
    echo(
        f"classify: {len(texts)} messages, {rate:.1f} messages/s, p50 {statistics.median(latencies):.1f} ms, p95 {percentile(latencies, 0.95):.1f} ms, peak RSS {peak_rss_mb():.0f} MB"
    )
    return rate


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


# The stages of one message, as store/metrics.py records them; nested ones are indented.
# "mirakl" is every call to Mirakl, wherever it happens (verification, then actions).
STAGES = [
    ("queue.accept", 0), ("queue.store", 0), ("agent", 0), ("verify", 1), ("context", 1),
    ("classify", 1), ("embed", 2), ("classify.model", 2), ("draft", 1), ("retrieval", 2),
    ("act", 1), ("mirakl", 1),
]  # fmt: skip


Reading = dict[str, tuple[float, float]]


def stage_breakdown(
    wall: tuple[Reading, Reading], cpu: tuple[Reading, Reading], messages: int
) -> list[str]:
    """Mean milliseconds per message in each stage between two readings: wall time (waiting
    included) and the CPU time of the thread doing the work."""

    def spent(readings: tuple[Reading, Reading]) -> dict[str, float]:
        before, after = readings
        return {n: (after[n][1] - before.get(n, (0.0, 0.0))[1]) * 1000 / messages for n in after}

    wall_ms, cpu_ms = spent(wall), spent(cpu)
    lines = [f"  {'stage':<22} {'wall ms':>8} {'CPU ms':>8}   (per message)"]
    for name, depth in STAGES:
        label = f"{'  ' * depth}{name}"
        lines.append(f"  {label:<22} {wall_ms.get(name, 0.0):8.1f} {cpu_ms.get(name, 0.0):8.1f}")
    nodes = ("verify", "context", "classify", "draft", "act")
    rest = [ms.get("agent", 0.0) - sum(ms.get(n, 0.0) for n in nodes) for ms in (wall_ms, cpu_ms)]
    lines.append(f"  {'  graph engine, rest':<22} {rest[0]:8.1f} {rest[1]:8.1f}")
    return lines


def bench_ingest(
    stack: Any,
    serve: Callable[[Any], Any],
    messages: int,
    concurrency: int,
    texts: list[str],
    echo: Callable[[str], None],
) -> None:
    """On `stack` (a whole csagent on loopback, cli/stack.py): the classifier alone, then the
    webhook path with the agent, with where each message's time went; then a bare insert-only
    endpoint (served by `serve`) on the same database as the baseline."""
    classify_rate = bench_classify(texts, echo)
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
    total = _bench_agent(stack, client, url, bodies, concurrency, classify_rate, echo)
    base_total = _bench_bare_insert(stack.engine, serve, bodies, concurrency, echo)
    echo(f"overhead: the agent takes {total / base_total:.1f}x the time of a bare insert")
    echo(f"peak RSS {peak_rss_mb():.0f} MB")


def _bench_agent(
    stack: Any,
    client: httpx.Client,
    url: str,
    bodies: list[dict[str, Any]],
    concurrency: int,
    classify_rate: float,
    echo: Callable[[str], None],
) -> float:
    """Seconds the agent took over the webhook bodies (echoing the rate, the latencies per
    outcome and where a message's time went)."""
    from store.metrics import embeddings_total, stage_totals

    messages = len(bodies)
    metrics, cpu_metric = stack.metrics, "csagent_stage_cpu_seconds"
    wall_before, cpu_before = stage_totals(metrics), stage_totals(metrics, cpu_metric)
    embedded_before = embeddings_total(metrics).get("query", 0.0)
    total, by_outcome = timed_posts(client, url, bodies, concurrency)
    wall_after, cpu_after = stage_totals(metrics), stage_totals(metrics, cpu_metric)
    embedded_after = embeddings_total(metrics).get("query", 0.0)
    rate = messages / total
    where = "in this process" if stack.app is not None else "in its own server processes"
    echo(
        f"ingest (agent, API {where}): {messages} messages, concurrency {concurrency}: {rate:.1f} messages/s, {100 * rate / classify_rate:.0f} % of the classifier alone"
    )
    for outcome, latencies in sorted(by_outcome.items()):
        echo(
            f"  {outcome:<18} n={len(latencies):<4} p50 {statistics.median(latencies):7.1f} ms  p95 {percentile(latencies, 0.95):7.1f} ms  p99 {percentile(latencies, 0.99):7.1f} ms"
        )
    echo("where a message's time went (server side; the embedder's own threads not in CPU):")
    for line in stage_breakdown((wall_before, wall_after), (cpu_before, cpu_after), messages):
        echo(line)
    echo(f"embeddings per message: {(embedded_after - embedded_before) / messages:.2f}")
    return total


def _bench_bare_insert(
    engine: Any,
    serve: Callable[[Any], Any],
    bodies: list[dict[str, Any]],
    concurrency: int,
    echo: Callable[[str], None],
) -> float:
    """Seconds an endpoint that only inserts each message took over the same bodies, on the
    same database (echoing its rate and latencies): the baseline."""
    from fastapi import FastAPI

    from store.bench import bench_baseline_thread, insert_bare_message

    messages = len(bodies)
    thread_pk = bench_baseline_thread(engine)
    bare = FastAPI()

    @bare.post("/messages")
    def insert_only(body: dict[str, Any]) -> dict[str, str]:
        insert_bare_message(
            engine, message_id="base-" + body["message_id"], thread_pk=thread_pk, body=body["body"]
        )
        return {"status": "stored"}

    with serve(bare) as bare_url:
        base_total, base = timed_posts(
            httpx.Client(timeout=60), f"{bare_url}/messages", bodies, concurrency
        )
    latencies = [ms for values in base.values() for ms in values]
    echo(
        f"baseline (bare insert, same database): {messages / base_total:.1f} messages/s, p50 {statistics.median(latencies):.1f} ms, p95 {percentile(latencies, 0.95):.1f} ms"
    )
    return base_total


def bench_intake(stack: Any, messages: int, interval_s: float, echo: Callable[[str], None]) -> None:
    """The seller's intake on `stack`: csagent polls the simulator's inbox every `interval_s`
    while customers write there (spread over a few intervals); for each message, the time from
    the customer writing it on "Mirakl" to csagent having it stored (and queued for the agent),
    and the Mirakl calls spent per message."""
    import random
    import threading

    from store.bench import intake_delays_s
    from store.queue import Pipeline
    from tools.mirakl.poller import Poller

    settings = stack.settings.model_copy(update={"mirakl_poll_interval_s": interval_s})
    pipeline = Pipeline.from_settings(settings, engine=stack.engine)
    poller = Poller(settings, stack.engine, pipeline.enqueue)
    stop = threading.Event()
    running = poller.run_in_thread(stop)
    span = 3 * interval_s
    rng = random.Random(7)
    moments = sorted(rng.uniform(0, span) for _ in range(messages))
    started = time.monotonic()
    written: list[str] = []
    for i, at in enumerate(moments):
        time.sleep(max(0.0, at - (time.monotonic() - started)))
        answer = httpx.post(
            f"{stack.sim_url}/_sim/threads/intake-{i % max(1, messages // 3)}/customer-message",
            json={"body": f"Bonjour, question {i} sur ma commande."},
        )
        written.append(answer.json()["message_id"])
    deadline = time.monotonic() + 3 * interval_s + 30
    stored: dict[str, float] = {}
    while time.monotonic() < deadline and len(stored) < len(written):
        stored = intake_delays_s(stack.engine, written)
        time.sleep(0.2)
    stop.set()
    running.join(timeout=30)
    status = next(iter(poller.status.values()))
    latencies = sorted(stored.values())
    echo(
        f"intake by polling every {interval_s:g} s: {len(stored)}/{len(written)} messages stored, "
        f"written over {span:g} s"
    )
    if latencies:
        echo(
            f"  customer writes on Mirakl -> stored in csagent: p50 {statistics.median(latencies):.2f} s, "
            f"p95 {percentile(latencies, 0.95):.2f} s, max {latencies[-1]:.2f} s "
            f"(expected: about half an interval on average, at most one interval plus a pass)"
        )
    echo(
        f"  Mirakl calls: {status.mirakl_calls} in {status.passes} passes, "
        f"{status.mirakl_calls / max(1, len(stored)):.2f} per message here; at rest one M11 call per "
        f"pass: {3600 / interval_s:.0f} per hour per marketplace (+1 per 100 threads changed, "
        f"+1 M10 per thread of more than 100 messages)"
    )


# Shapes that make backtracking patterns and windowed embedders work hardest, each repeated over a
# long message after the start of an address request.
HOSTILE_SHAPES = ("A-", "Ab-", "\n", " \n", "12345 ", "A-A 75001 ", "1.", "de la ", "É-", "a, ")
HOSTILE_HEAD = "Bonjour, changez l'adresse de livraison : 12 rue A, 75001 "
HOSTILE_TAIL = "# SW1A 2AA"


def hostile_message(shape: str, size: int) -> str:
    body = size - len(HOSTILE_HEAD) - len(HOSTILE_TAIL)
    return HOSTILE_HEAD + (shape * (body // len(shape) + 1))[:body] + HOSTILE_TAIL


def hostile_readers() -> dict[str, Callable[[str], Any]]:
    """Every reader of customer text, by name, each run the ways the agent runs it (several
    languages and current countries): what `bench hostile` times and the fuzz tests bound."""
    from graph.address import parse_address
    from graph.claims import unsupported_claims
    from graph.classify.answers import known_words, read_answer
    from graph.classify.courtesy import core_text
    from graph.classify.explicit import conditional, explicit_request
    from graph.policies import extract_order_ids
    from graph.replies import says_received, wants
    from knowledge.language import detect_language

    languages = ("en", "fr", "de", "es", "it", None)

    def addresses(text: str) -> None:
        for current, language in (("FRA", "fr"), ("GBR", "en"), ("DEU", None), (None, None)):
            parse_address(text, current, language)

    def explicit(text: str) -> None:
        for intent in ("cancellation_request", "address_update", "order_status"):
            for language in (None, "it"):  # None reads with every language's patterns but it
                explicit_request(text, intent, language)

    def wanted(text: str) -> set[str]:
        return wants(
            {"thread_id": "t", "customer_name": None, "language": "en",
             "history": [("inbound", text)], "question": text, "search_query": text},
            text,
        )  # fmt: skip

    return {
        "address": addresses,
        "order ids": extract_order_ids,
        "explicit request": explicit,
        "condition": lambda t: [conditional(t, lang) for lang in languages],
        "language": detect_language,
        "claims (draft)": lambda t: unsupported_claims(t, ["Commande 20567843-A, 54,80 EUR"]),
        "claims (sources)": lambda t: unsupported_claims("Le 4 novembre, 12 EUR.", [t]),
        "received": says_received,
        "wants": wanted,
        "courtesy": core_text,
        "confirmation answer": lambda t: [
            read_answer(t, "20481-A", lang, known_words("Wireless headphones"))
            for lang in languages
        ],
    }


def bench_hostile(size: int, echo: Callable[[str], None]) -> float:
    """Seconds every reader of customer text (`hostile_readers`) and the local classifier's
    embedding take on a long hostile message, per shape; the worst total is returned."""
    from graph.classify.model import LocalIntentModel

    readers = hostile_readers()
    model = LocalIntentModel()
    model.predict("warm up")
    worst = 0.0
    echo(f"hostile: messages of {size} characters, seconds per step")
    for shape in HOSTILE_SHAPES:
        text = hostile_message(shape, size)
        timings = {}
        for name, read in readers.items():
            t = time.perf_counter()
            read(text)
            timings[name] = time.perf_counter() - t
        t = time.perf_counter()
        model.predict(text)
        timings["classify (embedding)"] = time.perf_counter() - t
        total = sum(timings.values())
        worst = max(worst, total)
        slowest = max(timings, key=lambda k: timings[k])
        echo(f"  {shape!r:14} total {total:.3f} s, slowest {slowest} {timings[slowest]:.3f} s")
    echo(f"hostile: worst total {worst:.3f} s")
    return worst
