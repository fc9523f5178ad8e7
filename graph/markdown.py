"""Markdown built from outside fields (a customer's message, Mirakl's order state, carrier and
tracking URL, an LLM's draft): one way to escape them, used wherever the dashboard or a review
shows them. Nothing from outside renders as a heading, emphasis, link, image or HTML."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote, urlsplit

_SPECIAL = "\\`*_[]()#!|<>~"


def md_text(value: Any) -> str:
    """`value` shown as written inside Markdown (inline; line breaks kept as spaces)."""
    if value is None:
        return ""
    escaped = html.escape(str(value), quote=False)
    for char in _SPECIAL:
        escaped = escaped.replace(char, "\\" + char)
    return escaped.replace("\r", " ").replace("\n", " ")


def md_quote(text: str) -> str:
    """Several lines from outside as a Markdown quote that shows them as written."""
    return "\n".join(
        f"> {md_text(line)}" if line.strip() else ">" for line in (text or "").splitlines()
    )


def md_link(label: Any, url: str | None) -> str:
    """A link only to an https address, its characters quoted (no `)` closes it early, no
    image); anything else is the label as text."""
    if not url or urlsplit(url).scheme != "https" or not urlsplit(url).netloc:
        return md_text(label)
    safe = quote(url, safe=":/?#@!$&'*+,;=%-._~")
    safe = safe.replace("(", "%28").replace(")", "%29").replace("'", "%27")
    return f"[{md_text(label)}]({safe})"
