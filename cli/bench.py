"""`csagent bench`: benchmarks that print figures."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import require_current_schema

bench_app = typer.Typer(help="Benchmarks that print figures.", no_args_is_help=True)


def _test_texts() -> list[str]:
    from evals.intents import DATASET, load_labelled

    return [row["text"] for row in load_labelled(DATASET)]


@bench_app.command("classify")
def bench_classify_command() -> None:
    """Messages per second of the local classifier (embedding + model), on the test set."""
    from evals.bench import bench_classify

    bench_classify(_test_texts(), typer.echo)


@bench_app.command("hostile")
def bench_hostile_command(
    size: Annotated[int, typer.Option(min=100, max=64_000, help="Message length.")] = 20_000,
) -> None:
    """Seconds the readers of customer text and the local classifier take on long hostile
    messages (patterns that backtrack would take minutes)."""
    from evals.bench import bench_hostile

    bench_hostile(size, typer.echo)


@bench_app.command("retrieval")
def bench_retrieval_command() -> None:
    """Queries per second and latency of vector, full-text and hybrid search."""
    from evals.bench import bench_retrieval
    from evals.retrieval import DATASET, load_questions

    require_current_schema()
    bench_retrieval([row["question"] for row in load_questions(DATASET)], typer.echo)


@bench_app.command("ingest")
def bench_ingest_command(
    messages: Annotated[int, typer.Option(min=1, max=100_000, help="Messages to post.")] = 200,
    concurrency: Annotated[int, typer.Option(min=1, max=256, help="Concurrent senders.")] = 8,
    processes: Annotated[
        int, typer.Option(min=1, max=64, help="API server processes (1: in this process).")
    ] = 1,
) -> None:
    """Throughput and latency per outcome of POST /api/v1/messages with the agent, on a stack of
    its own, against a bare insert-only endpoint on the same database; peak RSS."""
    from cli.local_server import serve_in_thread
    from cli.stack import throwaway_stack
    from evals.bench import bench_ingest

    with throwaway_stack("bench", processes) as stack:
        bench_ingest(stack, serve_in_thread, messages, concurrency, _test_texts(), typer.echo)


@bench_app.command("intake")
def bench_intake_command(
    messages: Annotated[int, typer.Option(min=1, max=10_000, help="Customer messages.")] = 30,
    interval: Annotated[
        float, typer.Option(min=1, help="Polling interval (s); the simulator is on loopback.")
    ] = 5.0,
) -> None:
    """The seller's intake: customers write on the simulator while csagent polls its inbox; the
    latency from writing to stored in csagent, and Mirakl calls per message."""
    from cli.stack import throwaway_stack
    from evals.bench import bench_intake

    with throwaway_stack("bench-intake") as stack:
        stack.simulator.state.sim.reset(seed=False)
        bench_intake(stack, messages, interval, typer.echo)
