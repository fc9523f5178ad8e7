"""Ids from outside (a Mirakl thread or order id, a SKU, an id a model wrote in a tool call) as
they go into a URL: validated and quoted here, once, for Mirakl's API and csagent's internal API
alike. An id is one path segment or one item of a comma-separated list, never more: `..`, `/`,
`?`, `#`, `%` and `,` cannot reach another resource or another customer's order."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

# A Mirakl order id: the order's commercial id, a dash and the shop's letter ("20567843-A"; the
# published OpenAPI's examples also have "MIR-8EFZBFMN-A" and "Order_00010-A"). One shape for the
# internal API's paths and for ids read in a customer's text.
ORDER_ID = r"[A-Za-z0-9_][A-Za-z0-9_-]{4,}-[A-Z]"
# In text: such an id as a word of its own, with a digit in it ("order 20567843-A.", and the
# order of a line id "20567843-A-1"), not a size or a model name ("44-L").
ORDER_ID_IN_TEXT = re.compile(rf"(?<![\w-])(?=[\w-]*\d){ORDER_ID}(?!\w)")

MAX_ID_LENGTH = 255


class InvalidId(ValueError):
    """An id that cannot be a Mirakl or catalogue id."""


def valid_id(value: object, what: str = "id") -> str:
    """`value` when it can be an id: text, 1 to 255 characters, no control character, not `.`
    or `..` (which a URL resolves as a path step)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidId(f"an empty {what}")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidId(f"a {what} of {len(value)} characters (at most {MAX_ID_LENGTH})")
    if value.strip() in (".", "..") or any(unicodedata.category(c) == "Cc" for c in value):
        raise InvalidId(f"{value[:40]!r} is not a {what}")
    return value


def url_segment(value: object, what: str = "id") -> str:
    """An id as exactly one URL path segment (every reserved character quoted)."""
    return quote(valid_id(value, what), safe="")


def list_item(value: object, what: str = "id") -> str:
    """An id as one item of a comma-separated query list (Mirakl's `order_ids`)."""
    checked = valid_id(value, what)
    if "," in checked:
        raise InvalidId(f"{checked[:40]!r} is not a {what}: ids have no comma")
    return checked
