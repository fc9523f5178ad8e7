"""What every `csagent` command shares: error exits and the database check."""

from __future__ import annotations

import signal
import sys

import typer

from store import migrate
from store.db import DatabaseUnavailable, resolve_database_url


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def exit_on_sigterm() -> None:
    """SIGTERM (systemd, Docker, kill) ends the command as Ctrl-C does: through Python's exit,
    so the embedded PostgreSQL is stopped with the last process that used it. uvicorn restores
    this handler after its own graceful shutdown and re-raises the signal into it."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def database_url() -> str:
    try:
        return resolve_database_url()
    except DatabaseUnavailable as exc:
        raise fail(str(exc)) from None


def require_current_schema() -> str:
    url = database_url()
    if migrate.current_revision(url) != migrate.head_revision():
        raise fail("the database schema is not up to date: run `csagent db upgrade` first")
    return url
