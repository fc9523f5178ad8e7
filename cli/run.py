"""`csagent serve`, `worker`, `sync` and `mirakl-sim`: the long-running processes."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Annotated, Any

import typer

from api.server import PROTOCOL
from cli.common import database_url, exit_on_sigterm, fail, require_current_schema
from store import migrate
from store.db import session_scope
from store.ingest import IncomingMessage
from store.queue import Pipeline
from store.settings import Settings, get_settings


def single_threaded_embedder() -> None:
    """With several csagent processes on one machine, each embedder's OpenMP threads spin while
    they wait for the others' (measured: 2.5 embeddings/s with two processes of two threads,
    87/s with one thread each). Processes inherit this before the embedder loads; an explicit
    OMP_NUM_THREADS wins."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def ensure_knowledge_base(settings: Settings) -> None:
    """A fresh install drafts from the shipped policies rather than from nothing."""
    from sqlalchemy.orm import Session

    from knowledge.ingest import KnowledgeBase
    from store.db import get_engine

    kb = KnowledgeBase(settings, get_engine(settings))
    with Session(kb.engine) as session:
        if kb.collection(session) is not None:
            return
    typer.echo(f"the knowledge base is empty: ingesting {settings.knowledge_dir} (once)")
    report = kb.ingest(settings.knowledge_dir)
    typer.echo(f"knowledge base: {report.documents} documents, {report.chunks} chunks")


def agent_pipeline() -> Pipeline:
    """The queue with this process's processor: the agent graph (or storage only)."""
    from graph.composition import Composition

    return Composition.build(get_settings()).pipeline


def mirakl_sim(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8081,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    api_key: Annotated[str, typer.Option(help="Shop API key the simulator accepts.")] = (
        "sim-shop-key"
    ),
    shop_id: Annotated[str, typer.Option(help="The simulated shop's id.")] = "2001",
    webhook_url: Annotated[
        str | None, typer.Option(help="POST a Mirakl-style webhook here for each customer message.")
    ] = None,
    seed: Annotated[bool, typer.Option(help="Start with the examples/ threads and orders.")] = True,
    marketplaces: Annotated[
        str | None,
        typer.Option(
            help="Several marketplaces side by side, e.g. fnac,carrefour: each at /<name>/api "
            "with its own state (starts empty)."
        ),
    ] = None,
) -> None:
    """Run the Mirakl Seller API simulator (the contract in docs/mirakl-contract.md)."""
    import re

    import uvicorn

    from tools.mirakl.simulator import create_simulator
    from tools.mirakl.simulator.app import create_marketplaces_simulator

    if marketplaces:
        names = [n.strip() for n in marketplaces.split(",") if n.strip()]
        if not names or any(not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,31}", n) for n in names):
            raise fail("--marketplaces takes names like fnac,carrefour (a-z, 0-9, - and _)")
        simulator = create_marketplaces_simulator(
            names, api_key=api_key, shop_id=shop_id, webhook_url=webhook_url
        )
        for name in names:
            typer.echo(f"Mirakl simulator {name}: http://{host}:{port}/{name}/api "
                       f"(controls under /{name}/_sim)")  # fmt: skip
        uvicorn.run(simulator, host=host, port=port, log_level="warning")
        return
    simulator = create_simulator(
        api_key=api_key, shop_id=shop_id, seed=seed, webhook_url=webhook_url
    )
    typer.echo(f"Mirakl simulator: http://{host}:{port}/api (controls under /_sim, docs at /docs)")
    uvicorn.run(simulator, host=host, port=port, log_level="warning")


def parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise fail(f"--since must be an ISO-8601 date, got {value!r}") from None
    if parsed.tzinfo is None:
        raise fail("--since needs a time zone, e.g. 2026-11-20T00:00:00Z")
    return parsed


def sync(
    since: Annotated[
        str | None, typer.Option(help="Read threads updated since (ISO-8601); default: cursor.")
    ] = None,
    interval: Annotated[
        float | None, typer.Option(help="Keep running, one pass every INTERVAL seconds.")
    ] = None,
) -> None:
    """Reconcile with Mirakl: ingest customer messages that no webhook delivered, and bring
    orders up to date (changed ones, and those known only by reference)."""
    import asyncio
    import time

    from tools.mirakl.sync import sync_marketplaces

    start = parse_since(since)
    exit_on_sigterm()  # a pass cut short does not move the cursor
    require_current_schema()
    pipeline = agent_pipeline()

    def ingest(message: IncomingMessage) -> str:
        return pipeline.ingest(message, source="sync")[0].status

    async def one_pass(since_: datetime | None) -> list[str]:
        """One pass over every marketplace; the names of those that failed."""
        results = await sync_marketplaces(settings, session_scope, ingest, since=since_)
        failed = []
        for result in results:
            prefix = f"[{result.marketplace}] " if settings.multi_marketplace else ""
            if result.inbox is not None:
                report = result.inbox
                after = report.cursor_after.isoformat() if report.cursor_after else "-"
                typer.echo(
                    f"{prefix}threads read: {report.threads_seen}, customer messages: "
                    f"{report.customer_messages}, ingested: {report.ingested}, already known: "
                    f"{report.already_known}, failed: {report.failed}, cursor: {after}"
                )
                if report.failed:
                    typer.secho(
                        f"{prefix}{report.failed} message(s) are stored but failed to process: "
                        "`csagent events list --status failed`, then `csagent events retry "
                        "--all-failed`",
                        err=True, fg=typer.colors.YELLOW,
                    )  # fmt: skip
            if result.orders is not None:
                orders = result.orders
                after = orders.cursor_after.isoformat() if orders.cursor_after else "-"
                typer.echo(
                    f"{prefix}orders read: {orders.orders_read} changed, {orders.details_filled}"
                    f" known only by reference now read, {orders.not_on_mirakl} not on Mirakl, "
                    f"cursor: {after}"
                )
            if result.misconfigured and not settings.multi_marketplace:
                raise fail(result.error or "Mirakl refused the key")  # fix the settings first
            if result.error is not None:
                failed.append(result.marketplace)
                typer.secho(
                    f"{prefix}sync failed, cursor not moved: {result.error}",
                    err=True, fg=typer.colors.RED,
                )  # fmt: skip
        return failed

    settings = get_settings()
    while True:
        failed = asyncio.run(one_pass(start))
        if interval is None:
            if failed:
                raise fail(f"sync failed for {', '.join(failed)}; the others were synced", 1)
            return
        start = None  # after the first pass, follow the stored cursor
        time.sleep(interval)


def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="HTTP worker processes.")] = 1,
) -> None:
    """Run the API (migrating the database first). Each process also runs a queue worker unless
    CSAGENT_API_QUEUE_WORKER=false."""
    import uvicorn

    from store.keys import (
        api_key_file,
        resolve_api_key,
        resolve_internal_api_key,
        resolve_reviewer_api_key,
    )

    settings = get_settings()
    if workers > 1:
        single_threaded_embedder()
    if "internal_api_url" not in settings.model_fields_set:
        # The agent's tools call this server's own internal API: follow the chosen port.
        own = f"http://127.0.0.1:{port}/internal/v1"
        settings = settings.model_copy(update={"internal_api_url": own})
        if workers > 1:  # the worker processes build their app from the environment
            os.environ["CSAGENT_INTERNAL_API_URL"] = own
    migrate.upgrade(database_url())
    ensure_knowledge_base(settings)
    # Created here, once, so the worker processes only read them.
    resolve_api_key(settings)
    resolve_reviewer_api_key(settings)
    resolve_internal_api_key(settings)
    where = "CSAGENT_API_KEY" if settings.api_key else str(api_key_file(settings))
    typer.echo(f"csagent API on http://{host}:{port} (API key: {where}; docs at /docs)")
    typer.echo(f"the agent's business tools call {settings.internal_api_url}")
    exit_on_sigterm()
    # One process: the app is built here from these settings. Several: uvicorn's worker
    # processes each build theirs, from the environment.
    app: Any = "cli.web:create_web_app"
    if workers == 1:
        from cli.web import create_web_app

        app = create_web_app(settings)
    uvicorn.run(
        app, factory=workers > 1, host=host, port=port, workers=workers,
        log_level="info", http=PROTOCOL,  # requests read within CSAGENT_HTTP_READ_TIMEOUT_S
    )  # fmt: skip


def worker(
    concurrency: Annotated[int, typer.Option(min=1, help="Worker threads in this process.")] = 1,
) -> None:
    """Process queued inbound events (accepted with ?mode=async, or left by a crash) until stopped.
    Any number of workers, in any number of processes, can share one database."""
    import signal
    import threading

    single_threaded_embedder()  # it runs beside `csagent serve`, another embedding process
    require_current_schema()
    pipeline = agent_pipeline()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    threads = [
        threading.Thread(target=pipeline.run_worker, args=(stop, get_settings().queue_poll_s))
        for _ in range(concurrency)
    ]
    for t in threads:
        t.start()
    typer.echo(f"csagent worker: {concurrency} thread(s) processing the queue (Ctrl-C stops)")
    while not stop.is_set():
        stop.wait(0.5)
    for t in threads:
        t.join(timeout=30)
