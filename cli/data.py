"""`csagent import-v1`, `stats` and `demo`: data in, and what the database holds."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from cli.common import database_url, exit_on_sigterm, fail, require_current_schema
from examples import SAMPLE_V1_FILE
from store import migrate
from store.db import session_scope
from store.overview import Overview, database_overview
from store.settings import get_settings
from store.v1_import import ImportReport, V1FileError, import_v1, load_v1_records, write_rejects


def print_import_report(report: ImportReport, rejects_file: Path | None) -> None:
    verb = "would add" if report.dry_run else "added"
    typer.echo(f"records read:    {report.records}")
    typer.echo(
        f"threads:         {report.threads_added} {verb}, {report.threads_present} already there"
    )
    typer.echo(
        f"messages:        {report.messages_added} {verb}, {report.messages_present} already there"
    )
    typer.echo(f"customers:       {report.customers_added} {verb}")
    typer.echo(f"orders linked:   {report.orders_linked} {verb}")
    typer.echo(f"rejected:        {report.rejected}")
    for reject in report.rejects:
        label = f" (thread {reject.thread_id})" if reject.thread_id else ""
        typer.secho(
            f"  record {reject.index}{label}: {reject.reason}", err=True, fg=typer.colors.YELLOW
        )
    if rejects_file is not None:
        typer.echo(f"rejected records written to {rejects_file}")
    if report.dry_run:
        typer.echo("dry run: nothing was written")


def run_import(path: Path, dry_run: bool, marketplace: str | None = None) -> ImportReport:
    try:
        records = load_v1_records(path)
    except V1FileError as exc:
        raise fail(str(exc)) from None
    settings = get_settings()
    stored = settings.stored_name(marketplace)
    if settings.connection(stored) is None:
        known = ", ".join(c.name for c in settings.connections())
        raise fail(f"unknown marketplace {marketplace!r}: the configured ones are {known}")
    require_current_schema()
    with session_scope() as session:
        report = import_v1(
            session, records, sla_hours=settings.for_marketplace(stored).sla_hours,
            dry_run=dry_run, marketplace=stored,
        )  # fmt: skip
        if dry_run:
            session.rollback()
    rejects_file = None if dry_run else write_rejects(path, report.rejects)
    print_import_report(report, rejects_file)
    return report


def import_v1_command(
    path: Annotated[Path, typer.Argument(help="The V1 poller's messages.json.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and count, write nothing.")
    ] = False,
    marketplace: Annotated[
        str | None,
        typer.Option(help="The marketplace these threads are from (default: the default one)."),
    ] = None,
) -> None:
    """Import the old aggregator's messages.json (idempotent: a second run adds nothing).

    Malformed records are reported, written to <name>.rejects.json beside the input, and make the
    exit code 1; every other record is still imported.
    """
    report = run_import(path, dry_run, marketplace)
    if report.rejected:
        raise typer.Exit(1)


def print_overview(overview: Overview) -> None:
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(overview.threads_by_status.items()))
    directions = ", ".join(f"{n} {d}" for d, n in sorted(overview.messages_by_direction.items()))
    typer.echo(f"threads:    {overview.threads} ({statuses or 'none'})")
    typer.echo(f"messages:   {overview.messages} ({directions or 'none'})")
    typer.echo(f"customers:  {overview.customers}")
    typer.echo(
        f"orders:     {overview.orders} ({overview.threads_with_order} threads linked to an order)"
    )
    typer.echo(f"overdue:    {overview.overdue} open threads past their reply deadline")
    if overview.oldest_waiting:
        typer.echo("longest waiting:")
        for t in overview.oldest_waiting:
            due = t.sla_due_at.strftime("%Y-%m-%d %H:%M") if t.sla_due_at else "-"
            typer.echo(
                f"  due {due}  {t.customer or '?':<18} {t.order or '-':<12} {(t.topic or '')[:50]}"
            )


def stats() -> None:
    """Print what the database holds: threads by status, messages, customers, orders."""
    database_url()
    with session_scope() as session:
        print_overview(database_overview(session, now=datetime.now(UTC)))


DEMO_USER = "demo"


def demo(
    v1_file: Annotated[Path, typer.Option(help="V1 file to import.")] = SAMPLE_V1_FILE,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve/--no-serve",
            help="End with the dashboard running (until Ctrl-C); --no-serve stops after the "
            "flow (CI).",
        ),
    ] = True,
    port: Annotated[int, typer.Option(help="Port of the dashboard and API when serving.")] = 8000,
) -> None:
    """Migrate the (embedded) database, import the sample V1 file, run the live flow on loopback
    (orders created on the simulator -> API and agent, a duplicate, a forged notification, a
    lost webhook recovered by sync, a review, the business tools), show what is there, then keep
    the dashboard running at /ui with a demo login until Ctrl-C."""
    from cli.demo import run_live_demo

    exit_on_sigterm()
    url = database_url()
    typer.secho(f"database: {url}", fg=typer.colors.CYAN)
    migrate.upgrade(url)
    typer.secho(f"importing {v1_file}", fg=typer.colors.CYAN)
    report = run_import(v1_file, dry_run=False)
    typer.secho("live: new customer messages, as n8n would post them", fg=typer.colors.CYAN)

    def afterwards(api_url: str) -> None:
        typer.secho("what is in the database now:", fg=typer.colors.CYAN)
        with session_scope() as session:
            print_overview(database_overview(session, now=datetime.now(UTC)))
        if serve:
            wait_on_dashboard(api_url)

    run_live_demo(get_settings(), typer.echo, afterwards, port=port if serve else None)
    if report.rejected:
        raise typer.Exit(1)


def wait_on_dashboard(api_url: str) -> None:
    """Print where the dashboard is and how to sign in, then serve until Ctrl-C."""
    import secrets
    import threading

    from store.users import UserError, add_user, remove_user

    password = secrets.token_urlsafe(9)  # a fresh one each run, and the account goes with it
    with session_scope() as session:
        with contextlib.suppress(UserError):
            remove_user(session, DEMO_USER)
        add_user(session, DEMO_USER, password, "Demo agent")
    typer.secho(
        f"dashboard: {api_url}/ui/  (sign in as {DEMO_USER} / {password}; "
        f"API docs at {api_url}/docs). Ctrl-C stops.",
        fg=typer.colors.GREEN,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        typer.echo("stopped")
    finally:
        with session_scope() as session:
            remove_user(session, DEMO_USER)
