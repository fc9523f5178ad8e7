"""INSERT ... ON CONFLICT helpers: every import and sync path is idempotent through these."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session


def _columns(key: str | tuple[str, ...]) -> list[str]:
    return [key] if isinstance(key, str) else list(key)


def get_or_create(
    session: Session, model: Any, key: str | tuple[str, ...], values: dict[str, Any]
) -> tuple[int, bool]:
    """Id of the row whose unique `key` (a column, or several: Mirakl's id and the marketplace)
    equals `values`, inserting it first if missing."""
    columns = _columns(key)
    inserted = session.execute(
        insert(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=columns)
        .returning(model.id)
    ).scalar_one_or_none()
    if inserted is not None:
        return inserted, True
    found = select(model.id).where(*(getattr(model, c) == values[c] for c in columns))
    return session.execute(found).scalar_one(), False


def upsert(session: Session, model: Any, key: str | tuple[str, ...], values: dict[str, Any]) -> Any:
    """Insert the row, or update every given column of the row with the same unique `key`;
    returns the row's primary key."""
    statement = insert(model).values(**values)
    primary_key = model.__mapper__.primary_key[0]
    return session.execute(
        statement.on_conflict_do_update(
            index_elements=_columns(key),
            set_={k: statement.excluded[k] for k in values if k not in _columns(key)},
        ).returning(primary_key)
    ).scalar_one()
