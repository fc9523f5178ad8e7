"""Canned responses: the shop's ready answers, per language, with placeholders filled from the
thread (the customer's name, the order, its tracking) when an agent inserts one. The shipped set
is `knowledge/canned.yaml`; CSAGENT_CANNED_FILE points at the shop's own."""

from __future__ import annotations

import string
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

CANNED_FILE = Path(str(files("knowledge").joinpath("canned.yaml")))
PLACEHOLDERS = ("customer", "order", "tracking", "carrier", "shop")
LANGUAGES = ("en", "fr", "de", "es", "it")


@dataclass(frozen=True)
class Canned:
    id: str
    title: str
    text: str
    language: str
    missing: tuple[str, ...]  # placeholders the thread could not fill (left as [name?])


def load_canned(path: Path | None = None) -> list[dict[str, Any]]:
    """The entries of the file, checked: an id, a title, texts in known languages, and only
    known placeholders. ValueError says what is wrong and where."""
    path = path or CANNED_FILE
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if not isinstance(entries, list):
        raise ValueError(f"{path}: a list of canned responses is expected")
    seen: set[str] = set()
    for i, entry in enumerate(entries, start=1):
        where = f"{path}: entry {i}"
        if not isinstance(entry, dict) or not entry.get("id") or not entry.get("title"):
            raise ValueError(f"{where}: needs an id and a title")
        if entry["id"] in seen:
            raise ValueError(f"{where}: the id {entry['id']!r} is used twice")
        seen.add(entry["id"])
        texts = entry.get("text")
        if not isinstance(texts, dict) or not texts:
            raise ValueError(f"{where} ({entry['id']}): needs text per language")
        for language, text in texts.items():
            if language not in LANGUAGES:
                raise ValueError(f"{where} ({entry['id']}): unknown language {language!r}")
            names = {n for _, n, _, _ in string.Formatter().parse(str(text)) if n is not None}
            unknown = names - set(PLACEHOLDERS)
            if unknown:
                raise ValueError(
                    f"{where} ({entry['id']}, {language}): unknown placeholder "
                    f"{sorted(unknown)}; known: {', '.join(PLACEHOLDERS)}"
                )
    return entries


def canned_for(
    language: str | None, facts: dict[str, str | None], path: Path | None = None
) -> list[Canned]:
    """Every canned response in the thread's language (English when it has none in that
    language), filled with `facts`."""
    out = []
    for entry in load_canned(path):
        texts = entry["text"]
        lang: str = (
            language if language and language in texts
            else "en" if "en" in texts else str(next(iter(texts)))
        )  # fmt: skip
        missing = tuple(
            n for _, n, _, _ in string.Formatter().parse(texts[lang]) if n and not facts.get(n)
        )
        values = {n: facts.get(n) or f"[{n}?]" for n in PLACEHOLDERS}
        out.append(Canned(entry["id"], entry["title"], texts[lang].format(**values), lang, missing))
    return out
