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

from store.ids import ORDER_ID_IN_TEXT as ORDER_ID

LOCALES = ("en", "fr", "de", "es", "it")
URL = re.compile(r"https?://\S+")
# Tracking numbers and references: runs of 8+ letters and digits, with at least 3 digits
# ("6A12345678901", "jjd000390012345", "XY123456").
REFERENCE = re.compile(
    r"(?<![\w-])(?=(?:[A-Za-z-]*\d){3})[A-Za-z0-9][A-Za-z0-9-]{6,}[A-Za-z0-9](?![\w-])"
)
# Amounts and counts: "54,80", "1,039.90", "1.039,90", "1 039,90", "14".
NUMBER = re.compile(
    r"(?<![\w.,])(?:\d{1,3}(?:[.,\u202f\xa0 ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d+)?)(?![\w])"
)


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
    day = r"(\d{1,2})(?:\.|er|º|°|st|nd|rd|th)?"
    return [
        (re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)"), "ymd"),
        (re.compile(r"\b(\d{1,2})[./](\d{1,2})[./](\d{4})\b"), "dmy"),
        (
            re.compile(rf"\b{day}\s+(?:de\s+)?({month})\.?,?\s+(?:de\s+)?(\d{{4}})\b", re.I),
            "d month y",
        ),
        (re.compile(rf"\b({month})\.?\s+{day},?\s+(\d{{4}})\b", re.I), "month d y"),
        # Without a year: "le 4 novembre", "am 24.11.", "on November 4th".
        (re.compile(rf"\b{day}\s+(?:de\s+)?({month})\b\.?", re.I), "d month"),
        (re.compile(rf"\b({month})\s+{day}\b", re.I), "month d"),
        (re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(?!\d)"), "d.m."),
    ]


def dates_in(text: str) -> tuple[set[date], str]:
    """The calendar dates a text names (in the five languages' usual forms), and the text with
    them blanked out (so their digits are not read again as numbers). A date written without
    its year is returned in year 1 (compared by day and month only)."""
    found: set[date] = set()
    months = _months()
    for pattern, form in _date_patterns():

        def keep(match: re.Match[str], form: str = form) -> str:
            g = match.groups()
            try:
                if form == "ymd":
                    found.add(date(int(g[0]), int(g[1]), int(g[2])))
                elif form == "dmy":
                    found.add(date(int(g[2]), int(g[1]), int(g[0])))
                elif form == "d month y":
                    found.add(date(int(g[2]), months[g[1].lower().rstrip(".")], int(g[0])))
                elif form == "month d y":
                    found.add(date(int(g[2]), months[g[0].lower().rstrip(".")], int(g[1])))
                elif form == "d month":
                    found.add(date(1, months[g[1].lower().rstrip(".")], int(g[0])))
                elif form == "month d":
                    found.add(date(1, months[g[0].lower().rstrip(".")], int(g[1])))
                else:
                    found.add(date(1, int(g[1]), int(g[0])))
            except (ValueError, KeyError):
                return match.group(0)
            return " "

        text = pattern.sub(keep, text)
    return found, text


def numbers_in(text: str) -> set[Decimal]:
    found: set[Decimal] = set()
    for token in NUMBER.findall(text):
        token = re.sub(r"[\u202f\xa0 ]", "", token)
        if "," in token and "." in token:  # the later one is the decimal separator
            decimal = max(token.rfind(","), token.rfind("."))
            token = re.sub(r"[.,]", "", token[:decimal]) + "." + token[decimal + 1 :]
        elif re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", token):  # "1.039" / "1,039": thousands
            token = re.sub(r"[.,]", "", token)
        try:
            found.add(Decimal(token.replace(",", ".")).normalize())
        except InvalidOperation:
            continue
    return found


def _read(text: str) -> tuple[set[date], set[str], str]:
    """(dates, order ids and references, the rest) of a text: each read once, dates first
    (an ISO timestamp is not a tracking number)."""
    dates, rest = dates_in(URL.sub(" ", text))
    refs = {r.upper() for r in ORDER_ID.findall(rest)} | {
        r.upper() for r in REFERENCE.findall(rest)
    }
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
    known_days = {(d.month, d.day) for d in source_dates}
    for day in sorted(draft_dates - source_dates):
        if day.year == 1:
            if (day.month, day.day) not in known_days:
                flags.append(f"date {day.day:02d}/{day.month:02d} is not in the facts")
        else:
            flags.append(f"date {day.isoformat()} is not in the facts")
    for number in sorted(numbers_in(draft_rest) - numbers_in(source_rest)):
        flags.append(f"number {number:f} is not in the facts or the policy")
    return flags
