"""Support agents' accounts: who may sign in to the dashboard, with argon2 password hashes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from store.models import User

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 8
_hasher = PasswordHasher()


class UserError(ValueError):
    """A username or password that cannot be used, said in words."""


@dataclass(frozen=True)
class UserView:
    username: str
    display_name: str | None
    created_at: datetime
    last_login_at: datetime | None

    @property
    def name(self) -> str:
        """How this agent is named in the audit log and in sent messages."""
        return self.display_name or self.username


def _check(username: str, password: str | None = None) -> None:
    if not USERNAME.match(username):
        raise UserError(
            "a username is 2-64 characters: lower-case letters, digits and . _ - "
            "(starting with a letter or digit)"
        )
    if password is not None and len(password) < MIN_PASSWORD:
        raise UserError(f"a password has at least {MIN_PASSWORD} characters")


def add_user(
    session: Session, username: str, password: str, display_name: str | None = None
) -> UserView:
    _check(username, password)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UserError(f"user {username} already exists")
    user = User(username=username, display_name=display_name, password_hash=_hasher.hash(password))
    session.add(user)
    session.flush()
    return _view(user)


def list_users(session: Session) -> list[UserView]:
    return [_view(u) for u in session.scalars(select(User).order_by(User.username))]


def remove_user(session: Session, username: str) -> None:
    if session.execute(delete(User).where(User.username == username)).rowcount == 0:  # type: ignore[attr-defined]
        raise UserError(f"no user {username}")


def set_password(session: Session, username: str, password: str) -> None:
    _check(username, password)
    done = session.execute(
        update(User)
        .where(User.username == username)
        .values(password_hash=_hasher.hash(password))
        .returning(User.id)
    ).first()
    if done is None:
        raise UserError(f"no user {username}")


def authenticate(session: Session, username: str, password: str) -> UserView | None:
    """The user when the password is theirs, else None (same answer for an unknown name)."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        _hasher.hash(password)  # about as slow as a real check: no timing hint of who exists
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    user.last_login_at = datetime.now(UTC)
    return _view(user)


def password_hash_of(session: Session, username: str) -> str | None:
    """The account's current password hash (what a signed-in session was opened against); None
    when there is no such account."""
    return session.scalar(select(User.password_hash).where(User.username == username))


def display_name_of(session: Session, username: str) -> str | None:
    """How the account is named in the audit log; None when there is no such account."""
    user = session.scalar(select(User).where(User.username == username))
    return (user.display_name or user.username) if user else None


def _view(user: User) -> UserView:
    return UserView(user.username, user.display_name, user.created_at, user.last_login_at)
