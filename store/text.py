"""Text that PostgreSQL can store: `text` columns refuse the NUL character, so input carrying one
is refused where it enters (HTTP 422 naming the field), not half-way through a transaction."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters (\\u0000) cannot be stored")
    return value


# The pattern only tells OpenAPI clients (and schemathesis) what is refused; the validator says
# why in words.
StorableStr = Annotated[
    str, AfterValidator(_storable), Field(json_schema_extra={"pattern": "^[^\\u0000]*$"})
]
