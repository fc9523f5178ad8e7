"""`csagent eval drafts`: would a reviewer send these drafts as they are?

Each thread of the file (evals/data/draft_threads.jsonl, written apart from the drafting code)
holds a conversation, the orders Mirakl has for the customer, the moment the draft is written and
what a good reply must and must not contain. The drafts are written by the product's own
`DraftingService` (the retrieval drafts, or an LLM's when one is given) and scored on:

- language purity: every sentence-bearing paragraph is in the customer's language;
- required facts: the dates (in any usual written form), amounts and strings a good reply states;
- forbidden claims: none of the thread's forbidden phrases, nothing the facts do not support
  (graph/claims.py), no request for photos the customer already sent;
- decision stated: the expected decision is the one stated, and it is stated;
- thread awareness: the greeting's name (or a neutral greeting for a screen name) and the
  apology for a late reply.

The intent is given (this evaluates drafting, not classification: see `eval intents`).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from graph.claims import dates_in, numbers_in
from graph.conversation import conversation_of
from graph.drafting import Draft, DraftingService
from graph.policies import extract_order_ids
from knowledge.language import LANGUAGES, STOPWORDS, WORD
from store.facts import OrderFacts, facts_from_mirakl
from store.mirakl_models import Order as MiraklOrder
from store.settings import DEFAULT_MARKETPLACE
from store.threads import ThreadSnapshot, is_image

DATASET = Path(__file__).parent / "data" / "draft_threads.jsonl"
DECIDED_INTENTS = ("cancellation_request", "return_request", "delivery_issue")
TARGETS = {"purity": 1.0, "required": 0.95, "forbidden": 0, "decision": 1.0}

# An apology for the wait (not "we are sorry it arrived damaged"), in one sentence.
APOLOGY = {
    "en": r"(sorry|apologi[sz]e|excuse)[^?!\n]{0,80}(late|delay|wait)",
    "fr": r"(excus|désolé|pardon)[^?!\n]{0,80}(délai|retard|attente)",
    "de": r"(entschuldig|bedauern|leid)[^?!\n]{0,80}(spät|verzöger|wart)",
    "es": r"(disculp|perd[oó]n|sentimos)[^?!\n]{0,80}(retraso|demora|espera)",
    "it": r"(scus|dispiac|rammaric)[^?!\n]{0,80}(ritardo|attesa)",
}
# Asking for pictures, in one sentence (dates like "27. November" may put dots in between).
PHOTO_REQUEST = {
    "en": r"(send|attach|provide)[^?!\n]{0,160}?(photo|picture)",
    "fr": r"(envoy|joindre|transmett)[^?!\n]{0,160}?photo",
    "de": r"(schick|send|übermittel|beifüg|anhäng)[^?!\n]{0,160}?(foto|bild)",
    "es": r"(env[ií]|adjunt|mand)[^?!\n]{0,160}?(foto|imagen)",
    "it": r"(invi|allegh|mand)[^?!\n]{0,160}?(foto|immagin)",
}


def load_threads(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"line {number}: not JSON ({exc.msg})") from None
        for key in ("id", "language", "intent", "now", "messages", "expect"):
            if key not in row:
                raise ValueError(f"line {number}: no {key!r}")
        rows.append(row)
    return rows


def thread_input(row: dict[str, Any]) -> tuple[Any, OrderFacts | None, datetime, str]:
    """(conversation, order facts, now, the customer's latest text) as the product would have
    them: the thread's order, or the one order of this customer the customer names."""
    now = datetime.fromisoformat(row["now"])
    messages = row["messages"]
    customer = row.get("customer") or {}
    snapshot = ThreadSnapshot(
        pk=0,
        mirakl_thread_id=row["id"],
        marketplace=DEFAULT_MARKETPLACE,
        locale=None,
        order_pk=None,
        customer_pk=None,
        customer_name=customer.get("firstname") or customer.get("display_name"),
        customer_locale=None,
        messages=[
            ("inbound" if m["from"] == "CUSTOMER" else "outbound", m["body"]) for m in messages
        ],
        firstname=customer.get("firstname"),
        lastname=customer.get("lastname"),
        display_name=customer.get("display_name"),
        sent_at=[datetime.fromisoformat(m["date"]) for m in messages],
        images=[sum(1 for a in m.get("attachments") or [] if is_image(a)) for m in messages],
    )
    conversation = conversation_of(snapshot)
    orders = {o["order_id"]: o for o in row.get("orders") or []}
    wanted = row.get("thread_order_id")
    if wanted is None:
        named = [
            i
            for m in messages
            if m["from"] == "CUSTOMER"
            for i in extract_order_ids(m["body"])
            if i in orders
        ]
        wanted = named[0] if len(set(named)) == 1 else None
    order = (
        facts_from_mirakl(MiraklOrder.model_validate(orders[wanted]), now)
        if wanted in orders
        else None
    )
    latest = next(m["body"] for m in reversed(messages) if m["from"] == "CUSTOMER")
    return conversation, order, now, latest


def paragraph_language(paragraph: str) -> str | None:
    """The language of a paragraph when its words say so clearly (None: too short to tell)."""
    words = [w.lower() for w in WORD.findall(paragraph)]
    scores = sorted((sum(w in STOPWORDS[lang] for w in words), lang) for lang in LANGUAGES)
    (second, _), (best, lang) = scores[-2], scores[-1]
    return lang if best >= 2 and best > second else None


@dataclass
class Score:
    id: str
    language: str
    intent: str
    decision: str
    purity: bool = True
    required: int = 0
    required_found: int = 0
    forbidden: list[str] = field(default_factory=list)
    decision_stated: bool = False
    greeting_ok: bool = True
    apology_ok: bool = True
    problems: list[str] = field(default_factory=list)
    text: str = ""


def score_draft(row: dict[str, Any], draft: Draft) -> Score:
    expect = row["expect"]
    lang = row["language"]
    text = draft.text
    lowered = text.lower()
    s = Score(row["id"], lang, row["intent"], expect.get("decision") or "", text=text)
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    for paragraph in paragraphs:
        found = paragraph_language(paragraph)
        if found is not None and found != lang:
            s.purity = False
            s.problems.append(f"paragraph in {found}: {paragraph[:70]!r}")
    draft_dates, rest = dates_in(text)
    for iso in expect.get("dates") or []:
        s.required += 1
        if datetime.fromisoformat(iso).date() in draft_dates:
            s.required_found += 1
        else:
            s.problems.append(f"date {iso} not stated")
    numbers = numbers_in(rest)
    for amount, currency in expect.get("amounts") or []:
        s.required += 1
        if Decimal(amount).normalize() in numbers:
            s.required_found += 1
        else:
            s.problems.append(f"amount {amount} {currency} not stated")
    for needle in expect.get("strings") or []:
        s.required += 1
        if needle.lower() in lowered:
            s.required_found += 1
        else:
            s.problems.append(f"{needle!r} not stated")
    for phrase in expect.get("must_not_contain") or []:
        if phrase.lower() in lowered:
            s.forbidden.append(f"says {phrase!r}")
    s.forbidden.extend(draft.flags)
    asks = expect.get("asks_for_photos")
    asked = bool(re.search(PHOTO_REQUEST[lang], text, re.IGNORECASE))
    if asks is False and asked:
        s.forbidden.append("asks again for photos the customer sent")
    if asks is True and not asked:
        s.problems.append("does not ask for the photos")
    expected = expect.get("decision")
    # A wording variant of the expected decision counts ("cancel_refused_shipped_nodate").
    s.decision_stated = bool(expected) and (
        draft.decision == expected or (draft.decision or "").startswith(f"{expected}_")
    )
    if expected and not s.decision_stated:
        s.problems.append(f"decision {draft.decision!r} instead of {expected!r}")
    greeting = paragraphs[0] if paragraphs else ""
    name = expect.get("greeting_name", "__unset__")
    customer = row.get("customer") or {}
    if name is None:
        screen = customer.get("display_name") or ""
        s.greeting_ok = not screen or screen.lower() not in lowered
    elif name != "__unset__":
        s.greeting_ok = name.lower() in greeting.lower()
    if not s.greeting_ok:
        s.problems.append(f"greeting {greeting!r}")
    apologised = bool(re.search(APOLOGY[lang], text, re.IGNORECASE))
    if "apology" in expect:
        s.apology_ok = apologised == bool(expect["apology"])
    if not s.apology_ok:
        s.problems.append("no apology for the late reply" if expect["apology"] else "apologises")
    if s.forbidden:
        s.problems.extend(s.forbidden)
    return s


def evaluate_drafts(service: DraftingService, rows: list[dict[str, Any]]) -> dict[str, Any]:
    scores: list[Score] = []
    for row in rows:
        conversation, order, now, latest = thread_input(row)
        draft = service.draft(
            conversation, order, intent=row["intent"], text=latest, now=now,
            marketplace=DEFAULT_MARKETPLACE,
        )  # fmt: skip
        scores.append(score_draft(row, draft))
    return summarize(scores)


def _rate(values: list[bool]) -> float:
    return sum(values) / len(values) if values else 1.0


def summarize(scores: list[Score]) -> dict[str, Any]:
    decided = [s for s in scores if s.intent in DECIDED_INTENTS and s.decision]
    required = sum(s.required for s in scores)

    def block(group: list[Score]) -> dict[str, Any]:
        req = sum(s.required for s in group)
        return {
            "threads": len(group),
            "purity": _rate([s.purity for s in group]),
            "required": sum(s.required_found for s in group) / req if req else 1.0,
            "forbidden": sum(len(s.forbidden) for s in group),
            "decision": _rate([s.decision_stated for s in group if s.decision]),
            "greeting": _rate([s.greeting_ok for s in group]),
            "apology": _rate([s.apology_ok for s in group]),
        }

    by_language: dict[str, list[Score]] = defaultdict(list)
    by_intent: dict[str, list[Score]] = defaultdict(list)
    for s in scores:
        by_language[s.language].append(s)
        by_intent[s.intent].append(s)
    overall = block(scores)
    overall["decision"] = _rate([s.decision_stated for s in decided])
    overall["required_facts"] = required
    met = {
        "purity": overall["purity"] >= TARGETS["purity"],
        "required": overall["required"] >= TARGETS["required"],
        "forbidden": overall["forbidden"] <= TARGETS["forbidden"],
        "decision": overall["decision"] >= TARGETS["decision"],
    }
    return {
        "overall": overall,
        "targets": TARGETS,
        "met": met,
        "per_language": {k: block(v) for k, v in sorted(by_language.items())},
        "per_intent": {k: block(v) for k, v in sorted(by_intent.items())},
        "failures": [
            {"id": s.id, "problems": s.problems, "draft": s.text} for s in scores if s.problems
        ],
    }


def format_report(report: dict[str, Any], generator: str) -> str:
    o = report["overall"]
    lines = [
        f"drafts of {o['threads']} threads, generator: {generator}",
        "",
        f"language purity      {o['purity']:.1%}   (target 100 %)",
        f"required facts       {o['required']:.1%}   ({o['required_facts']} facts; target >= 95 %)",
        f"forbidden claims     {o['forbidden']}        (target 0)",
        f"decision stated      {o['decision']:.1%}   (cancellation, return, damaged item; "
        "target 100 %)",
        f"greeting right       {o['greeting']:.1%}",
        f"apology when late    {o['apology']:.1%}",
        "",
        f"{'':18}{'threads':>8}{'purity':>9}{'facts':>8}{'forbid':>8}{'decided':>9}",
    ]
    for title in ("per_language", "per_intent"):
        for key, b in report[title].items():
            lines.append(
                f"{key:18}{b['threads']:>8}{b['purity']:>9.0%}{b['required']:>8.0%}"
                f"{b['forbidden']:>8}{b['decision']:>9.0%}"
            )
        lines.append("")
    failures = report["failures"]
    if failures:
        lines.append(f"{len(failures)} thread(s) with problems:")
        for f in failures[:30]:
            lines.append(f"- {f['id']}: " + "; ".join(f["problems"]))
    verdict = (
        "all targets met"
        if all(report["met"].values())
        else "TARGETS MISSED: " + ", ".join(k for k, ok in report["met"].items() if not ok)
    )
    lines.append(verdict)
    return "\n".join(lines)
