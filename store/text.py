"""Text that PostgreSQL can store: `text` columns refuse the NUL character, so input carrying one
is refused where it enters (HTTP 422 naming the field), not half-way through a transaction."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters (\\u0000) cannot be stored")
    return value


StorableStr = Annotated[str, AfterValidator(_storable)]
