"""`csagent db`: the schema (Alembic) and the connection."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import database_url
from store import migrate

db_app = typer.Typer(help="Database schema and connection.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Create or update the schema (idempotent; also creates the pgvector extension)."""
    url = database_url()
    migrate.upgrade(url, revision)
    typer.echo(f"database at revision {migrate.current_revision(url)}")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[
        str, typer.Argument(help="Target revision, e.g. 'base' to drop everything.")
    ],
) -> None:
    """Undo migrations down to REVISION. Dropping tables loses their data."""
    url = database_url()
    migrate.downgrade(url, revision)
    typer.echo(f"database at revision {migrate.current_revision(url) or 'base'}")


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision of the database and the newest one available."""
    url = database_url()
    typer.echo(
        f"current: {migrate.current_revision(url) or 'none'}  head: {migrate.head_revision()}"
    )


@db_app.command("url")
def db_url() -> None:
    """Print the libpq URL of the database (for psql); starts the embedded server if needed."""
    typer.echo(database_url())
