"""Decision-first replies: what the seller decided about a request, said first, with the reason.

`decide` reads the request (intent and words), the order's facts read from Mirakl in this run and
the thread (what the customer already sent, how long they waited) and returns a `Decision`: a kind
("cancel_refused_shipped", "return_open", ...) and the facts that justify it. `decision_draft`
writes it in the customer's language: a greeting that fits the customer's name, an apology when
the reply deadline was missed, the decision and its reason, then one or two sentences of the
seller's own policy (the knowledge base, in the customer's language) — never a pasted document.
Dates and money are written the way the customer's language writes them.

Pure: no I/O except reading the seller's policy files (cached).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency

from graph.policies import SHIPMENT_LEFT, SHIPPED_STATES, cancellation_policy
from graph.state import Conversation
from store.facts import OrderFacts, OrderLineFacts, one_line
from store.mirakl_models import CANCELLABLE_STATES
from tools.refunds import RefundError, RefundLine, RefundRules, quote_refund

# The locale whose conventions each reply language follows (the seller ships from France to the
# EU: English replies go to Irish and international customers, hence en_GB).
LOCALES = {"en": "en_GB", "fr": "fr_FR", "de": "de_DE", "es": "es_ES", "it": "it_IT"}
RETURN_DAYS = 14  # the withdrawal period of the returns policy
PHOTO_DAYS = 7  # damaged items: photos within this many days of delivery


def day(moment: str | date | datetime, lang: str) -> str:
    """A date as the customer's language writes it: "31. Oktober 2026", "31 octobre 2026"."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC).date()
    return format_date(moment, format="long", locale=LOCALES.get(lang, "en_GB"))


def money(amount: Decimal, currency: str, lang: str) -> str:
    """An amount as the customer's language writes it: "54,80 €", "€54.80"."""
    return format_currency(amount, currency, locale=LOCALES.get(lang, "en_GB"))


# -- who the reply is addressed to -----------------------------------------------------------------

COURTESY_TITLES = {
    "mr": ("m.", "m", "mr", "mr.", "monsieur", "herr", "hr.", "sr.", "sr", "señor", "senor",
           "sig.", "sig", "signor", "signore", "sir"),
    "mrs": ("mme", "mme.", "madame", "mlle", "mlle.", "mademoiselle", "frau", "fr.", "sra.",
            "sra", "señora", "senora", "srta.", "sig.ra", "sig.ra.", "signora", "sig.na", "mrs",
            "mrs.", "ms", "ms.", "miss"),
}  # fmt: skip
TITLE_OF = {word: title for title, words in COURTESY_TITLES.items() for word in words}
# A name a person would sign with: capitalised letters, hyphens and apostrophes, no digits,
# underscores or dots ("kaffeeliebhaber_89", "mario.r77" are screen names, not names).
_PART = r"[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+(?:[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+)?"  # Claire, McDonald
NAME = re.compile(rf"^(?:[A-Za-z]{{1,3}}['’])?{_PART}(?:-{_PART})*$")  # O'Donnell, d'Arco, Le-Roy
PARTICLES = frozenset(
    {"de", "du", "des", "la", "le", "van", "von", "der", "den", "di", "da", "del", "della",
     "dos", "das", "y", "zu", "ter", "st."}
)  # fmt: skip


def _is_surname(text: str) -> bool:
    """ "Dupont", "De Luca", "van der Berg", "García López"."""
    parts = text.split()
    return (
        bool(parts)
        and NAME.match(parts[-1]) is not None
        and all(NAME.match(p) or p.lower() in PARTICLES for p in parts)
    )


@dataclass(frozen=True)
class Addressee:
    """How to greet the customer: a courtesy title and last name, a first name, or neither."""

    name: str | None = None
    title: str | None = None  # "mr" or "mrs" when the customer signs with one


def addressee(firstname: str | None, lastname: str | None, display_name: str | None) -> Addressee:
    """ "M. Dupont" -> Monsieur Dupont; "Claire M." or firstname Claire -> Claire; a screen name
    ("kaffeeliebhaber_89") -> no name at all: a neutral greeting beats a wrong one."""
    tokens = (display_name or "").split()
    if len(tokens) >= 2 and tokens[0].lower() in TITLE_OF:
        last = lastname if lastname and _is_surname(lastname) else " ".join(tokens[1:])
        if _is_surname(last):
            return Addressee(last, TITLE_OF[tokens[0].lower()])
    if firstname and NAME.match(firstname.strip()):
        # First and last name: the formal register of every reply language ("Bonjour Claire
        # Martin," with "vous", "Guten Tag Jonas Weber," with "Sie") without guessing a title.
        if lastname and _is_surname(lastname.strip()):
            return Addressee(f"{firstname.strip()} {lastname.strip()}")
        return Addressee(firstname.strip())
    if tokens and NAME.match(tokens[0]) and tokens[0].lower() not in TITLE_OF:
        return Addressee(tokens[0])
    return Addressee()


# -- what was decided ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """What the seller decided (or needs) about a request, and the facts that justify it."""

    kind: str
    why: str  # in English, for the reviewer and the LLM: the decision and its reason
    values: dict[str, str] = field(default_factory=dict)  # order, date, amount, ... as written
    policy: tuple[str, int, int, int] | None = None  # (document, section, first, end sentence)


# Words that say an item arrived damaged or broken, in the five languages.
DAMAGE = re.compile(
    r"damag|broken|crack|\bdent|smash|shatter|snapped|\bbent\b|crushed|scratched|leak|"
    r"abîm|cass[ée]|endommag|fissur|fêl|fendu|enfonc|caboss|tordu|bris[ée]|ray[ée]|"
    r"beschädig|kaputt|zerbroch|gebrochen|\bdelle|gesprungen|zerkratzt|verbogen|eingedrückt|"
    r"\bsprung|\briss\b|gerissen|"
    r"abgebrochen|dañad|\broto|\brota\b|rajad|golpead|abollad|partid|doblad|agrietad|"
    r"danneggi|\brott[oa]|incrinat|ammaccat|graffiat|spaccat|piegat|crepat",
    re.IGNORECASE,
)
# What a customer with a damaged item asks for, when they say it.
WANTS_REPLACEMENT = re.compile(
    r"replace|replacement|new one|exchange|swap|rempla|échange|un nouveau|une nouvelle|ersatz|"
    r"austausch|umtausch|neue[nsm]?\b|cambi|sustitu|reemplaz|una nueva|uno nuevo|sostitu|"
    r"un nuovo|una nuova",
    re.IGNORECASE,
)
WANTS_REFUND = re.compile(
    r"refund|money back|rembours|erstatt|geld zurück|reembols|devuelvan el dinero|rimbors",
    re.IGNORECASE,
)
# "a refund rather than an exchange": what follows is what they do not want.
RATHER_THAN = re.compile(
    r"(rather than|instead of|plutôt qu['e]|au lieu d['e]|anstatt|statt|anstelle|en lugar de|"
    r"en vez de|invece d[ie]|piuttosto che)\s*\S+(\s+\S+)?",
    re.IGNORECASE,
)
COMPANY = re.compile(
    r"\b(company|business|VAT|société|entreprise|TVA|SIRET|Firma|Unternehmen|USt|"
    r"empresa|CIF|IVA|azienda|società|P\.\s?IVA|partita iva)\b",
    re.IGNORECASE,
)
PENDING = frozenset(CANCELLABLE_STATES)


def _date(value: str | None) -> date | None:
    return datetime.fromisoformat(value).astimezone(UTC).date() if value else None


def decide(
    intent: str | None,
    text: str,
    order: OrderFacts | None,
    conversation: Conversation,
    *,
    now: datetime,
    lang: str,
    cancellation_window_hours: float = 24.0,
    refund_rules: RefundRules | None = None,
    address: dict[str, Any] | None = None,
    unverified: str | None = None,
) -> Decision | None:
    """The decision a reply to this request states first, or None when the request has no
    decision to state (a product question, a complaint: the policy answers it)."""
    if intent not in ORDER_INTENTS:
        return None
    if order is None:
        if unverified:
            return Decision("order_checking", f"nothing could be verified: {unverified}")
        return Decision("order_needed", "no order of this customer is known for this thread")
    o = order
    values = {"order": o["order_id"]}
    state = o["state"]
    shipped, delivered = _date(o.get("shipped")), _date(o.get("delivered"))
    left = state in SHIPPED_STATES or o["shipment_status"] in SHIPMENT_LEFT
    if shipped:
        values["date"] = day(shipped, lang)

    if intent == "cancellation_request":
        if state in ("CANCELED", "REFUSED"):
            return Decision("cancel_already", f"order {o['order_id']} is already {state}", values)
        if left:
            return Decision(
                "cancel_refused_shipped" if shipped else "cancel_refused_shipped_nodate",
                f"refused: order {o['order_id']} has shipped"
                + (f" ({shipped.isoformat()})" if shipped else ""),
                values,
                ("cancellations", 2, 1, 2),
            )
        created = datetime.fromisoformat(o["created"]) if o["created"] else None
        verdict = cancellation_policy(
            state, created, o["shipment_status"], now, cancellation_window_hours
        )
        if verdict.allowed:
            section = (0, 1, 2) if state in PENDING else (1, 1, 2)
            return Decision(
                "cancel_possible",
                f"possible ({verdict.reason}): the customer confirms, a person cancels",
                values,
                ("cancellations", *section),
            )
        if created is not None:
            return Decision(
                "cancel_refused_window",
                f"refused: {verdict.reason}",
                {**values, "date": day(created, lang), "hours": f"{cancellation_window_hours:g}"},
                ("returns", 0, 0, 1),
            )
        return None

    if intent == "return_request":
        if delivered:
            deadline = delivered + timedelta(days=RETURN_DAYS)
            values["date"] = day(deadline, lang)
            if now.astimezone(UTC).date() <= deadline:
                return Decision(
                    "return_open",
                    f"accepted: delivered {delivered.isoformat()}, return possible until "
                    f"{deadline.isoformat()}",
                    values,
                    ("returns", 1, 0, 2),
                )
            return Decision(
                "return_closed",
                f"the 14-day window closed on {deadline.isoformat()} (delivered "
                f"{delivered.isoformat()})",
                values,
                ("warranty", 0, 0, 1),
            )
        if state in ("RECEIVED", "CLOSED"):
            return Decision("return_check", "delivered, but Mirakl gives no delivery date", values)
        if state in PENDING or state in ("SHIPPING", "SHIPPED", "TO_COLLECT"):
            return Decision(
                "return_not_delivered",
                f"not delivered yet ({state}): the 14 days start at delivery",
                values,
                ("returns", 1, 0, 1),
            )
        return None

    said = "\n".join(
        [text, *(body for direction, body in conversation["history"] if direction == "inbound")]
    )
    if intent == "delivery_issue" and DAMAGE.search(said):
        if conversation.get("photos"):
            quote = _damage_refund(o, refund_rules, said)
            if quote is not None:
                values["amount"] = money(quote, o["currency"], lang)
            inbound = "\n".join(b for d, b in conversation["history"] if d == "inbound")
            asked = RATHER_THAN.sub(" ", inbound or text)
            wants = {
                want
                for want, pattern in (("replace", WANTS_REPLACEMENT), ("refund", WANTS_REFUND))
                if pattern.search(asked)
            }
            kind = (
                "damaged_photos_received" if quote is not None else "damaged_photos_received_lines"
            )
            if wants == {"replace"}:
                kind = "damaged_photos_received_replace"  # what they asked for, not asked again
            elif wants == {"refund"} and quote is not None:
                kind = "damaged_photos_received_refund"
            return Decision(
                kind,
                "damaged, photos received: replacement at the seller's cost or refund"
                + (f" of {quote} {o['currency']} (refund rules: damaged)" if quote else ""),
                values,
                ("damaged-items", 0, 2, 3),
            )
        if delivered:
            values["date"] = day(delivered + timedelta(days=PHOTO_DAYS), lang)
        return Decision(
            "damaged_photos_needed" if delivered else "damaged_photos_needed_nodate",
            "damaged, no photo yet: photos of the product and the box are needed",
            values,
            ("damaged-items", 0, 1, 3),
        )

    if intent == "address_update":
        if left:
            values["tracking"] = o["tracking_number"] or ""
            values["carrier"] = o["carrier"] or ""
            kind = "address_refused_shipped" if o["tracking_number"] else "address_refused_nodate"
            return Decision(
                kind, f"refused: order {o['order_id']} has left the warehouse", values,
                ("cancellations", 4, 2, 3) if o["tracking_number"] else None,
            )  # fmt: skip
        if state in ("CANCELED", "REFUSED"):
            return Decision("cancel_already", f"order {o['order_id']} is {state}", values)
        if address:
            return Decision(
                "address_possible",
                "not shipped yet: the address can still be changed (a person applies it)",
                {**values, "address": one_line(address)},
            )
        return Decision(
            "address_needed", "not shipped yet, but the new address is incomplete", values
        )

    if intent == "invoice_request":
        company = bool(COMPANY.search(text or ""))
        if left or state in ("RECEIVED", "CLOSED"):
            return Decision(
                "invoice_available", "the order has shipped: the invoice is in the account",
                values, ("invoices", 1, 0, 2) if company else ("invoices", 0, 1, 2),
            )  # fmt: skip
        return Decision(
            "invoice_later", "not shipped yet: the invoice comes with the shipment", values,
            ("invoices", 1, 0, 2) if company else None,
        )  # fmt: skip

    if intent in ("order_status", "delivery_issue"):
        return Decision("order_state", f"order {o['order_id']} is {state} on Mirakl", values)
    return None


ORDER_INTENTS = frozenset(
    {"cancellation_request", "return_request", "delivery_issue", "address_update",
     "invoice_request", "order_status"}
)  # fmt: skip


def damaged_lines(lines: list[OrderLineFacts], said: str) -> list[OrderLineFacts]:
    """The order lines the customer says arrived damaged: the product named in a sentence that
    also says what is broken ("the toaster came with a dent ... the kettle is fine")."""
    if len(lines) <= 1:
        return lines
    sentences = [s.lower() for s in re.split(r"(?<=[.!?;\n])\s*", said) if DAMAGE.search(s)]
    named = []
    for line in lines:
        words = [w.lower() for w in re.findall(r"[^\W\d_]{5,}", line["product"])]
        if any(w in sentence for w in words for sentence in sentences):
            named.append(line)
    return named


def _damage_refund(order: OrderFacts, rules: RefundRules | None, said: str = "") -> Decimal | None:
    """The refund the seller's rules give for a damaged item (product and shipping): for the
    one line the customer says is damaged; with several possible, a person asks which."""
    active = [ln for ln in order["lines"] if ln.get("state") != "CANCELED"]
    lines = damaged_lines(active, said)
    if rules is None or len(lines) != 1:
        return None
    try:
        line = lines[0]
        price = Decimal(line["price"])
        qty = max(int(line["qty"]), 1)
        quote = quote_refund(
            rules,
            "damaged",
            [RefundLine(line["id"], qty, price / qty, None)],
            shipping_price=Decimal(order.get("shipping_price") or "0"),
            currency=order["currency"],
        )
    except (RefundError, InvalidOperation, KeyError, ValueError):
        return None
    return quote.amount


# -- the seller's policy, in the customer's language ---------------------------------------------

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÀ-ÖØ-Þ¿¡«\"(])")


@lru_cache(maxsize=256)
def _sections(path: Path, mtime: float) -> list[str]:
    sections: list[list[str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            sections.append([])
        elif sections and line.strip() and not line.startswith("#"):
            sections[-1].append(line.strip())
    return [" ".join(lines) for lines in sections]


def policy_sentences(knowledge_dir: Path, lang: str, policy: tuple[str, int, int, int]) -> str:
    """Sentences `first:end` of section `section` of a policy document in the customer's
    language ("" when that language has no such document: nothing is pasted in another
    language). Sections are counted in order; every language's copy keeps the same sections."""
    doc, section, first, end = policy
    path = knowledge_dir / lang / f"{doc}.md"
    if not path.is_file():
        return ""
    sections = _sections(path, path.stat().st_mtime)
    if section >= len(sections):
        return ""
    sentences = SENTENCE_END.split(sections[section])
    return " ".join(sentences[first:end]).strip()


# -- how long the customer has waited ------------------------------------------------------------


def waited_too_long(conversation: Conversation, now: datetime, sla_hours: float) -> bool:
    """The customer's first unanswered message is older than the reply deadline."""
    since = conversation.get("waiting_since")
    if not since:
        return False
    return now - datetime.fromisoformat(since) > timedelta(hours=sla_hours)
