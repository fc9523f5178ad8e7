"""`csagent mirakl check` (what a seller runs first with a real key) and `csagent poll` (the
seller's intake on its own, without the API server)."""

from __future__ import annotations

import asyncio
import json
import math
import threading
from collections import Counter
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from cli.common import exit_on_sigterm, fail, require_current_schema
from store.settings import MarketplaceConnection, Settings, get_settings
from tools.mirakl.client import MiraklClient
from tools.mirakl.errors import MiraklError
from tools.mirakl.models import OrderPage, Shop, ThreadPage, role
from tools.mirakl.spec import response_differences

mirakl_app = typer.Typer(help="Mirakl: check a marketplace's answers against the published API.")

CHECK_PAGE = 20  # threads and orders read by `check`: one page, within Mirakl's frequencies
SHOWN_DIFFERENCES = 15  # per answer; the rest are counted


def _show_differences(what: str, differences: list[str]) -> None:
    if not differences:
        typer.echo(f"  {what}: matches Mirakl's published schema")
        return
    typer.secho(
        f"  {what}: {len(differences)} difference(s) from Mirakl's published schema",
        fg=typer.colors.YELLOW,
    )
    for line in differences[:SHOWN_DIFFERENCES]:
        typer.echo(f"    - {line}")
    if len(differences) > SHOWN_DIFFERENCES:
        typer.echo(f"    ... and {len(differences) - SHOWN_DIFFERENCES} more")


def _parse(model: Any, body: Any, what: str, problems: list[str]) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        problems.append(f"csagent cannot read {what}: {exc.errors()[0]['msg']}")
        typer.secho(f"  csagent cannot read {what}:", fg=typer.colors.RED)
        for error in exc.errors()[:SHOWN_DIFFERENCES]:
            where = ".".join(str(p) for p in error["loc"])
            typer.echo(f"    - {where}: {error['msg']}")
        return None


async def check_marketplace(
    connection: MarketplaceConnection, settings: Settings, **client_options: Any
) -> list[str]:
    """A01, one page of M11 (with messages) and one page of OR11, each validated against the
    published schemas and read with csagent's models; the problems that stop csagent."""
    problems: list[str] = []
    async with MiraklClient.for_marketplace(connection, settings, **client_options) as client:
        shop_raw = await client.get_raw("/account")
        shop: Shop | None = _parse(Shop, shop_raw, "the shop (A01)", problems)
        if shop is not None:
            typer.echo(f"  shop: {shop.shop_name} (id {shop.shop_id}, state {shop.shop_state})")
        _show_differences("A01", response_differences("A01", shop_raw))

        threads_raw = await client.get_raw(
            "/inbox/threads", {"limit": CHECK_PAGE, "with_messages": "true"}
        )
        page: ThreadPage | None = _parse(ThreadPage, threads_raw, "the inbox (M11)", problems)
        if page is not None:
            senders = Counter(m.sender.type for t in page.data for m in t.messages)
            owed = sum(1 for t in page.data if t.reply_needed_since is not None)
            partial = sum(1 for t in page.data if not t.messages_complete)
            typer.echo(
                f"  inbox: {len(page.data)} thread(s) on the first page"
                f"{' (more pages)' if page.next_page_token else ''}, messages by sender "
                f"{dict(senders) or '{}'}, {owed} awaiting the shop's reply"
                + (f", {partial} with more than M11 lists (read with M10)" if partial else "")
            )
            unknown = {s for s in senders if role(s) is None}
            if unknown:
                typer.secho(
                    f"  sender types csagent does not know (never taken for a customer): "
                    f"{sorted(unknown)}",
                    fg=typer.colors.YELLOW,
                )
            no_customer = sum(1 for t in page.data if t.customer is None)
            if no_customer:
                typer.echo(f"  {no_customer} thread(s) without a CUSTOMER participant")
        _show_differences("M11", response_differences("M11", threads_raw))

        orders_raw = await client.get_raw("/orders", {"max": CHECK_PAGE, "paginate": "true"})
        orders: OrderPage | None = _parse(OrderPage, orders_raw, "the orders (OR11)", problems)
        if orders is not None:
            states = Counter(o.order_state for o in orders.orders)
            typer.echo(
                f"  orders: {orders.total_count} in all, first page by state {dict(states) or '{}'}"
            )
        _show_differences("OR11", response_differences("OR11", orders_raw))
        typer.echo(f"  Mirakl calls made: {client.calls}")
    return problems


def check() -> None:
    """Check each configured marketplace: the shop (A01), one page of the inbox (M11) and of the
    orders (OR11), validated against Mirakl's published OpenAPI. Prints the shop, the counts and
    every difference; exits 1 when a marketplace cannot be reached or read."""
    settings = get_settings()
    failed = []
    for connection in settings.connections():
        typer.echo(f"marketplace {connection.name}: {connection.base_url}")
        try:
            problems = asyncio.run(check_marketplace(connection, settings, max_attempts=2))
        except MiraklError as exc:
            typer.secho(f"  cannot check it: {exc.message}", err=True, fg=typer.colors.RED)
            failed.append(connection.name)
            continue
        if problems:
            failed.append(connection.name)
    interval = settings.mirakl_poll_interval_s
    passes = math.ceil(86_400 / interval)
    typer.echo(
        f"polling: {'on' if settings.mirakl_poll else 'off (CSAGENT_MIRAKL_POLL=false)'}, every "
        f"{interval:g} s per marketplace: at least {passes} M11 calls a day each (one per 100 "
        "threads changed since the last pass, plus one M10 per thread of more than 100 messages)"
    )
    if failed:
        raise fail(f"{', '.join(failed)}: see above", 1)


def poll(
    once: Annotated[
        bool, typer.Option("--once", help="One pass per marketplace, then exit (for cron).")
    ] = False,
) -> None:
    """Read each marketplace's inbox every CSAGENT_MIRAKL_POLL_INTERVAL_S seconds and process
    every new customer message (what `csagent serve` does in the background). Several processes
    may run it: one polls each marketplace at a time, another takes over if it dies."""
    from cli.run import agent_pipeline
    from store.db import get_engine
    from store.pollers import release_poller_lock, try_poller_lock
    from tools.mirakl.poller import Poller

    exit_on_sigterm()
    require_current_schema()
    settings = get_settings()
    engine = get_engine(settings)
    pipeline = agent_pipeline()
    # The webhook's path: recorded at once, processed by this process's queue worker.
    poller = Poller(settings, engine, pipeline.enqueue)
    if once:
        failed = []
        for connection in settings.connections():
            lock = try_poller_lock(engine, settings.stored_name(connection.name))
            if lock is None:
                typer.echo(f"{connection.name}: another process polls it now; skipped")
                continue
            try:
                report = asyncio.run(poller.read_once(connection))
                typer.echo(json.dumps({"marketplace": connection.name, **_summary(report)}))
            except MiraklError as exc:
                failed.append(connection.name)
                typer.secho(f"{connection.name}: {exc.message}", err=True, fg=typer.colors.RED)
            finally:
                release_poller_lock(lock)
        typer.echo(f"processed: {pipeline.drain()} queued message(s)")
        if failed:
            raise fail(f"polling failed for {', '.join(failed)}; the others were read", 1)
        return
    stop = threading.Event()
    worker = threading.Thread(
        target=pipeline.run_worker, args=(stop, settings.queue_poll_s), daemon=True
    )
    worker.start()
    typer.echo(
        f"csagent poll: every {settings.mirakl_poll_interval_s:g} s, "
        f"{len(settings.connections())} marketplace(s) (Ctrl-C stops)"
    )
    try:
        asyncio.run(poller.run(stop))
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        worker.join(timeout=30)


def _summary(report: Any) -> dict[str, Any]:
    return {
        "threads": report.threads_seen,
        "customer_messages": report.customer_messages,
        "ingested": report.ingested,
        "already_known": report.already_known,
        "failed": report.failed,
        "operator_messages": report.operator_messages,
        "history": report.history,
        "rejected": report.rejected,
        "cursor": report.cursor_after.isoformat() if report.cursor_after else None,
    }


mirakl_app.command("check")(check)
