"""`csagent users`: the support agents who may sign in to the dashboard."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cli.common import fail, require_current_schema

users_app = typer.Typer(help="Dashboard accounts of the support agents.", no_args_is_help=True)

PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the password from standard input (scripts, CI) instead of "
        "asking for it."
    ),
]  # fmt: skip


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    password: str = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    return password


@users_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Sign-in name: lower-case letters, digits . _ -")],
    name: Annotated[
        str | None, typer.Option(help="Name shown in the audit log, e.g. 'Ana Moreau'.")
    ] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Create an account (the password is asked for, twice, unless --password-stdin)."""
    from store.db import session_scope
    from store.users import UserError, add_user

    require_current_schema()
    password = read_password(password_stdin)
    try:
        with session_scope() as session:
            user = add_user(session, username, password, name)
    except UserError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"user {user.username} added ({user.name})")


@users_app.command("list")
def list_command() -> None:
    """Every account, with its last sign-in."""
    from store.db import session_scope
    from store.users import list_users

    require_current_schema()
    with session_scope() as session:
        users = list_users(session)
    for user in users:
        seen = user.last_login_at.isoformat(timespec="minutes") if user.last_login_at else "never"
        typer.echo(f"{user.username:<24} {user.name:<32} last sign-in {seen}")
    typer.echo(f"{len(users)} user(s)")


@users_app.command("remove")
def remove(username: Annotated[str, typer.Argument()]) -> None:
    """Delete an account (what it did stays in the audit log, under its name)."""
    from store.db import session_scope
    from store.users import UserError, remove_user

    require_current_schema()
    try:
        with session_scope() as session:
            remove_user(session, username)
    except UserError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"user {username} removed")


@users_app.command("passwd")
def passwd(
    username: Annotated[str, typer.Argument()], password_stdin: PasswordStdin = False
) -> None:
    """Set a new password."""
    from store.db import session_scope
    from store.users import UserError, set_password

    require_current_schema()
    password = read_password(password_stdin)
    try:
        with session_scope() as session:
            set_password(session, username, password)
    except UserError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"password of {username} changed")
