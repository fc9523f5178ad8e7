"""INSERT ... ON CONFLICT helpers: every import and sync path is idempotent through these."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session


def get_or_create(
    session: Session, model: Any, key: str, values: dict[str, Any]
) -> tuple[int, bool]:
    """Id of the row whose unique `key` equals values[key], inserting it first if missing."""
    inserted = session.execute(
        insert(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[key])
        .returning(model.id)
    ).scalar_one_or_none()
    if inserted is not None:
        return inserted, True
    column = getattr(model, key)
    return session.execute(select(model.id).where(column == values[key])).scalar_one(), False


def upsert(session: Session, model: Any, key: str, values: dict[str, Any]) -> Any:
    """Insert the row, or update every given column of the row with the same unique `key`;
    returns the row's primary key."""
    statement = insert(model).values(**values)
    primary_key = model.__mapper__.primary_key[0]
    return session.execute(
        statement.on_conflict_do_update(
            index_elements=[key],
            set_={k: statement.excluded[k] for k in values if k != key},
        ).returning(primary_key)
    ).scalar_one()
