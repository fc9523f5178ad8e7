"""Does a draft state anything its sources do not? Order ids, tracking numbers, dates and
numbers (amounts, delays) in a draft are checked against the text it was written from: the
order's facts read from Mirakl, the decision, the policy excerpts, the conversation and the tool
results. Anything else is flagged for the reviewer before they see the draft.

Deliberately textual and strict: an LLM that writes "within 2 days" where the policy says "3 to 5
working days" is flagged, even if it meant well.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache

from babel.dates import get_month_names

from graph.policies import ORDER_ID

LOCALES = ("en", "fr", "de", "es", "it")
URL = re.compile(r"https?://\S+")
# Tracking numbers and references: long runs of capitals and digits with at least one digit.
REFERENCE = re.compile(r"\b(?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{7,}[A-Z0-9]\b")
NUMBER = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)?(?![\w])")


@cache
def _months() -> dict[str, int]:
    names: dict[str, int] = {}
    for locale in LOCALES:
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for number, name in get_month_names(width, context, locale).items():
                    names[name.lower().rstrip(".")] = number
    return names


@cache
def _date_patterns() -> list[tuple[re.Pattern[str], str]]:
    month = "|".join(sorted((re.escape(m) for m in _months()), key=len, reverse=True))
    return [
        (re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)"), "ymd"),
        (re.compile(r"\b(\d{1,2})[./](\d{1,2})[./](\d{4})\b"), "dmy"),
        (
            re.compile(
                rf"\b(\d{{1,2}})(?:\.|er|º|°)?\s+(?:de\s+)?({month})\.?\s+(?:de\s+)?(\d{{4}})\b",
                re.IGNORECASE,
            ),
            "d month y",
        ),
        (re.compile(rf"\b({month})\.?\s+(\d{{1,2}}),?\s+(\d{{4}})\b", re.IGNORECASE), "month d y"),
    ]


def dates_in(text: str) -> tuple[set[date], str]:
    """The calendar dates a text names (in the five languages' usual forms), and the text with
    them blanked out (so their digits are not read again as numbers)."""
    found: set[date] = set()
    months = _months()
    for pattern, form in _date_patterns():

        def keep(match: re.Match[str], form: str = form) -> str:
            a, b, c = match.groups()
            try:
                if form == "ymd":
                    found.add(date(int(a), int(b), int(c)))
                elif form == "dmy":
                    found.add(date(int(c), int(b), int(a)))
                elif form == "d month y":
                    found.add(date(int(c), months[b.lower().rstrip(".")], int(a)))
                else:
                    found.add(date(int(c), months[a.lower().rstrip(".")], int(b)))
            except (ValueError, KeyError):
                return match.group(0)
            return " "

        text = pattern.sub(keep, text)
    return found, text


def numbers_in(text: str) -> set[Decimal]:
    found: set[Decimal] = set()
    for token in NUMBER.findall(text):
        try:
            found.add(Decimal(token.replace(",", ".")).normalize())
        except InvalidOperation:
            continue
    return found


def _read(text: str) -> tuple[set[date], set[str], str]:
    """(dates, order ids and references, the rest) of a text: each read once, dates first
    (an ISO timestamp is not a tracking number)."""
    dates, rest = dates_in(URL.sub(" ", text))
    refs = set(ORDER_ID.findall(rest)) | set(REFERENCE.findall(rest))
    rest = REFERENCE.sub(" ", ORDER_ID.sub(" ", rest))
    return dates, refs, rest


def unsupported_claims(draft: str, sources: Iterable[str]) -> list[str]:
    """What the draft states that none of the sources does, in words a reviewer understands."""
    draft_dates, draft_refs, draft_rest = _read(draft)
    source_dates, source_refs, source_rest = _read("\n".join(sources))
    flags: list[str] = []
    for ref in sorted(draft_refs - source_refs):
        if ORDER_ID.fullmatch(ref):
            flags.append(f"order {ref} is not in the facts")
        else:
            flags.append(f"reference {ref} (a tracking number?) is not in the facts")
    for day in sorted(draft_dates - source_dates):
        flags.append(f"date {day.isoformat()} is not in the facts")
    for number in sorted(numbers_in(draft_rest) - numbers_in(source_rest)):
        flags.append(f"number {number:f} is not in the facts or the policy")
    return flags
