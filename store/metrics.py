"""Where a message's time goes: seconds per processing stage and embeddings computed, as
prometheus-client metrics of the process. `csagent bench ingest` prints them per message."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

STAGE_SECONDS = Histogram(
    "csagent_stage_seconds",
    "Seconds spent in one stage of handling a message",
    ["stage"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
STAGE_CPU_SECONDS = Histogram(
    "csagent_stage_cpu_seconds",
    "CPU seconds of the calling thread in one stage (wall time minus waiting, roughly)",
    ["stage"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
)
EMBEDDINGS = Counter("csagent_embeddings", "Texts embedded, by purpose", ["purpose"])
MESSAGES = Counter(
    "csagent_messages", "Messages processed, by final status and intent", ["status", "intent"]
)
MARKETPLACE_MESSAGES = Counter(
    "csagent_marketplace_messages",
    "Messages processed, by marketplace and final status",
    ["marketplace", "status"],
)
PROCESSING_SECONDS = Histogram(
    "csagent_message_processing_seconds",
    "Seconds from the start of a processing attempt to its outcome",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
MIRAKL_CALLS = Counter("csagent_mirakl_calls", "Calls to Mirakl, by outcome", ["outcome"])
QUEUE_DEPTH = Gauge(
    "csagent_queue_depth", "Events waiting to be processed", multiprocess_mode="max"
)
FAILED_EVENTS = Gauge("csagent_failed_events", "Events failed for good", multiprocess_mode="max")
MIRAKL_POLL_PASSES = Counter(
    "csagent_mirakl_poll_passes", "Passes over a marketplace's inbox, by outcome",
    ["marketplace", "outcome"],
)  # fmt: skip
MIRAKL_POLL_LAG = Gauge(
    "csagent_mirakl_poll_lag_seconds",
    "Seconds since the start of the last complete pass over a marketplace's inbox",
    ["marketplace"], multiprocess_mode="livemin",
)  # fmt: skip
REPLIES_OWED = Gauge(
    "csagent_replies_owed", "Open threads on which Mirakl's reply clock runs",
    ["marketplace"], multiprocess_mode="livemax",
)  # fmt: skip
REPLY_DUE_SECONDS = Gauge(
    "csagent_next_reply_due_seconds",
    "Seconds until the most urgent reply deadline (negative: breached that long ago)",
    ["marketplace"], multiprocess_mode="livemin",
)  # fmt: skip


@contextmanager
def stage(name: str) -> Iterator[None]:
    started, cpu = time.perf_counter(), time.thread_time()
    try:
        yield
    finally:
        STAGE_SECONDS.labels(name).observe(time.perf_counter() - started)
        STAGE_CPU_SECONDS.labels(name).observe(time.thread_time() - cpu)


def stage_totals(
    registry: CollectorRegistry = REGISTRY, metric_name: str = "csagent_stage_seconds"
) -> dict[str, tuple[float, float]]:
    """{stage: (observations, seconds in all)} so far, wall time or (with
    `csagent_stage_cpu_seconds`) CPU time: this process's, or those of the server processes that
    write to a multiprocess directory (`multiprocess_registry`)."""
    counts: dict[str, float] = {}
    sums: dict[str, float] = {}
    for metric in registry.collect():
        if metric.name != metric_name:
            continue
        for sample in metric.samples:
            name = sample.labels.get("stage", "")
            if sample.name.endswith("_count"):
                counts[name] = sample.value
            elif sample.name.endswith("_sum"):
                sums[name] = sample.value
    return {name: (counts[name], sums.get(name, 0.0)) for name in counts}


def embeddings_total(registry: CollectorRegistry = REGISTRY) -> dict[str, float]:
    return {
        sample.labels["purpose"]: sample.value
        for metric in registry.collect()
        if metric.name == "csagent_embeddings"
        for sample in metric.samples
        if sample.name.endswith("_total")
    }


def multiprocess_registry(directory: Path) -> CollectorRegistry:
    """The metrics of every process started with PROMETHEUS_MULTIPROC_DIR=<directory>."""
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(directory))
    return registry
