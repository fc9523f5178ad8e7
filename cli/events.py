"""`csagent events`: the accepted webhook/sync events, and re-running the ones that failed."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import fail, require_current_schema
from cli.run import agent_pipeline

events_app = typer.Typer(
    help="Accepted events: list them, re-run the failed ones.", no_args_is_help=True
)


@events_app.command("list")
def list_events(
    status: Annotated[
        str | None, typer.Option(help="received (queued), processed or failed.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many, newest first.")] = 50,
) -> None:
    """Events newest first, with their outcome or error."""
    if status not in (None, "received", "processed", "failed"):
        raise fail("--status must be received, processed or failed")
    require_current_schema()
    from store.db import get_engine
    from store.queue import Pipeline

    views = Pipeline.from_settings(engine=get_engine()).events(status=status, limit=limit)
    for v in views:
        detail = v.error if v.status == "failed" else (v.result.get("intent") or "")
        typer.echo(
            f"{v.event_id:>7}  {v.status:<17} attempts {v.attempts}  thread {v.thread_id or '-'}"
            f"  message {v.message_id}  {detail or ''}".rstrip()
        )
    typer.echo(f"{len(views)} event(s)")


@events_app.command("retry")
def retry_events(
    event_ids: Annotated[list[int] | None, typer.Argument(help="Failed events to re-run.")] = None,
    all_failed: Annotated[
        bool, typer.Option("--all-failed", help="Re-run every failed event.")
    ] = False,
) -> None:
    """Re-run failed events now, in this process, with a fresh set of attempts; exit 1 if any
    fails again."""
    if not event_ids and not all_failed:
        raise fail("name the events to retry, or pass --all-failed")
    require_current_schema()
    pipeline = agent_pipeline()
    requeued = pipeline.requeue_failed(None if all_failed else list(event_ids or []))
    unknown = sorted(set(event_ids or []) - set(requeued))
    if unknown:
        typer.secho(
            f"not failed (or unknown), left alone: {', '.join(map(str, unknown))}",
            err=True, fg=typer.colors.YELLOW,
        )  # fmt: skip
    failed_again = 0
    for event_id in requeued:
        view = pipeline.run_now(event_id)
        failed_again += view.status == "failed"
        typer.echo(f"{event_id:>7}  {view.status:<17} {view.error or ''}".rstrip())
    typer.echo(f"{len(requeued)} retried, {failed_again} failed again")
    if failed_again:
        raise typer.Exit(1)
