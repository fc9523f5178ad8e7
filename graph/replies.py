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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency

from graph.classify.intents import Intent
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
        moment = _local(moment)
    written = format_date(moment, format="long", locale=LOCALES.get(lang, "en_GB"))
    if lang == "fr" and moment.day == 1:
        written = "1er" + written[1:]  # "1er novembre"
    return written


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


ACADEMIC = frozenset({"dr", "dr.", "prof", "prof.", "ing.", "dott.", "dott.ssa", "dra."})
COMPANY_FORMS = re.compile(
    r"\b(SARL|SAS|SASU|SA|EURL|GmbH|AG|KG|UG|e\.K\.|S\.?L\.?|S\.?A\.?|S\.?r\.?l\.?|S\.?p\.?A\.?|"
    r"Ltd|LLC|Inc|PLC|BV|NV)\b\.?",
)


def _proper(text: str | None) -> str | None:
    """A real name field as people write it: "JEAN DUPONT" / "émilie" -> "Jean Dupont" /
    "Émilie" (Mirakl's first and last name fields, not screen names)."""
    if not text or not text.strip():
        return None
    text = " ".join(text.split())
    if text.isupper() or text.islower():
        return " ".join(
            p if p.lower() in PARTICLES else "-".join(w.capitalize() for w in p.split("-"))
            for p in text.split(" ")
        )
    return text


def _is_firstname(text: str) -> bool:
    """ "Claire", "Jean-Luc", "María José"."""
    parts = text.split()
    return bool(parts) and all(NAME.match(p) for p in parts)


def addressee(firstname: str | None, lastname: str | None, display_name: str | None) -> Addressee:
    """ "M. Dupont" -> Monsieur Dupont; first and last name -> "Claire Martin"; "Claire M." ->
    Claire; a screen name ("kaffeeliebhaber_89"), a lone word or a company -> no name at all: a
    neutral greeting beats a wrong one."""
    tokens = [t for t in (display_name or "").split() if t.lower() not in ACADEMIC]
    first, last = _proper(firstname), _proper(lastname)
    if any(COMPANY_FORMS.search(x or "") for x in (display_name, firstname, lastname)):
        return Addressee()
    if len(tokens) >= 2 and tokens[0].lower() in TITLE_OF:
        surname = last if last and _is_surname(last) else _proper(" ".join(tokens[1:]))
        if surname and _is_surname(surname):
            return Addressee(surname, TITLE_OF[tokens[0].lower()])
    if first and _is_firstname(first):
        # First and last name: the formal register of every reply language ("Bonjour Claire
        # Martin," with "vous", "Guten Tag Jonas Weber," with "Sie") without guessing a title.
        if last and _is_surname(last):
            return Addressee(f"{first} {last}")
        return Addressee(first)
    # "Claire M.": a first name and an initial. A lone word ("Dupont", "Claire") could be
    # either name: not guessed.
    if len(tokens) >= 2 and NAME.match(tokens[0]) and tokens[0].lower() not in TITLE_OF:
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


# Words that say an item arrived damaged or broken, in the five languages (anchored: "delle",
# "dentro", "repartidor" and "casserole" are not damage).
DAMAGE = re.compile(
    r"damag|broken|crack|\bdent(ed|s)?\b|smash|shatter|snapped|\bbent\b|crushed|scratched|"
    r"leak|abîm|\bcass[ée]e?s?\b|endommag|fissur|\bfêl|fendu|enfonc|caboss|tordu|\bbris[ée]e?s?\b|"
    r"\bray[ée]e?s?\b|beschädig|kaputt|zerbroch|gebrochen|(?-i:\bDelle\b)|gesprungen|zerkratzt|verbogen|"
    r"eingedrückt|\bsprung\b|\briss\b|gerissen|abgebrochen|dañad|\brot[oa]s?\b|rajad|golpead|"
    r"abollad|\bpartid[oa]s?\b|doblad|agrietad|danneggi|\brott[oa]\b|incrinat|ammaccat|"
    r"graffiat|spaccat|piegat|crepat",
    re.IGNORECASE,
)
# What a customer with a damaged item asks for: a request ("I would prefer a replacement",
# "Ich bitte um Ersatz"), not a mention ("the new kettle is broken").
_ASK = (
    r"(?:want|would like|'d like|prefer|rather have|please send|send me|need|"
    r"souhaite|souhaiterais|préfère|préférerais|voudrais|veux|je demande|merci de|"
    r"möchte|hätte gern|hätte lieber|lieber|bitte um|wünsche|will|"
    r"prefiero|preferiría|quiero|quisiera|me gustaría|solicito|"
    r"preferisco|preferirei|vorrei|desidero|chiedo)"
)
WANTS_REPLACEMENT = re.compile(
    _ASK + r"[^.?!\n]{0,50}?(?:replac|new one|exchange|rempla|échange|nouveau|nouvelle|ersatz|"
    r"austausch|umtausch|neue[nsm]?\b|cambi|sustitu|reemplaz|nuev[oa]|sostitu|nuov[oa])",
    re.IGNORECASE,
)
WANTS_REFUND = re.compile(
    _ASK + r"[^.?!\n]{0,50}?(?:refund|money back|rembours|erstatt|geld zurück|reembols|"
    r"devuelvan el dinero|rimbors)",
    re.IGNORECASE,
)
NEGATION = re.compile(r"\b(not|don't|do not|no|pas|nicht|kein\w*|non|ni)\b", re.IGNORECASE)
# "a refund rather than an exchange": what follows is what they do not want.
RATHER_THAN = re.compile(
    r"(rather than|instead of|plutôt qu['e]|au lieu d['e]|anstatt|statt|anstelle|en lugar de|"
    r"en vez de|invece d[ie]|piuttosto che)\s*\S+(\s+\S+)?",
    re.IGNORECASE,
)
# Invoices in a company's name (not a question about the VAT on an invoice).
COMPANY = re.compile(
    r"\b(company|business|VAT number|société|entreprise|numéro de TVA|SIRET|Firma|Unternehmen|"
    r"USt-?Id\w*|empresa|CIF|NIF|azienda|società|partita iva|P\.\s?IVA)\b",
    re.IGNORECASE,
)
# The customer says the parcel reached them.
SAYS_RECEIVED = re.compile(
    r"receiv|arrived|got it|delivered|reçu|arrivé|livré|erhalten|bekommen|angekommen|geliefert|"
    r"recib|llegad|llegó|entregad|ricevut|arrivat|consegnat",
    re.IGNORECASE,
)
NOT_YET = re.compile(
    r"n't|\b(not|pas|nicht|noch|no|non|never|jamais|ancora|todav[ií]a|kein\w*|nie)\b",
    re.IGNORECASE,
)


def says_received(text: str) -> bool:
    """The customer says the parcel reached them ("I received it"), not that it did not
    ("it hasn't arrived yet", "pas encore reçu", "todavía no me ha llegado")."""
    return any(
        not NOT_YET.search(text[max(0, m.start() - 25) : m.start()])
        for m in SAYS_RECEIVED.finditer(text)
    )


DELIVERED_STATES = frozenset({"RECEIVED", "CLOSED"})
SELLER_TZ = "Europe/Paris"  # the seller's warehouse: the day a parcel left or arrived


def _local(moment: datetime) -> date:
    try:
        from zoneinfo import ZoneInfo

        return moment.astimezone(ZoneInfo(SELLER_TZ)).date()
    except (ImportError, KeyError, OSError):  # no time-zone database: UTC is the next best
        return moment.astimezone(UTC).date()


def _date(value: str | None) -> date | None:
    return _local(datetime.fromisoformat(value)) if value else None


def wants(conversation: Conversation, text: str) -> set[str]:
    """What the customer asked for about a damaged item: {"replace"}, {"refund"}, both or none."""
    inbound = "\n".join(b for d, b in conversation["history"] if d == "inbound") or text
    said = RATHER_THAN.sub(" ", inbound)
    found = set()
    for want, pattern in (("replace", WANTS_REPLACEMENT), ("refund", WANTS_REFUND)):
        for match in pattern.finditer(said):
            # "I don't want a replacement", "je ne veux pas d'échange": not a request.
            around = said[max(0, match.start() - 25) : match.start() + 15]
            if not NEGATION.search(around):
                found.add(want)
    return found


@dataclass(frozen=True)
class OrderRequest:
    """A request about an order, read against the order's facts: what every decision about it
    starts from."""

    text: str  # the message being answered
    said: str  # it and everything else the customer wrote in the thread
    order: OrderFacts
    conversation: Conversation
    now: datetime
    lang: str
    asked: date  # the first unanswered message's day: deadlines are judged on it
    shipped: date | None
    delivered: date | None
    is_delivered: bool
    left: bool  # the parcel left the warehouse (shipped, on its way or delivered)
    return_deadline: date | None
    values: Mapping[str, str]  # the facts every decision states: order, shipping date
    cancellation_window_hours: float
    refund_rules: RefundRules | None
    address: dict[str, Any] | None


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
    decision to state (a product question, a complaint: the policy answers it).

    Deadlines (14-day return, 7-day photos) are judged on when the customer asked (their first
    unanswered message), not on when the draft happens to be written."""
    if intent not in DECIDERS:
        return None
    if order is None:
        if unverified:
            return Decision("order_checking", f"nothing could be verified: {unverified}")
        return Decision("order_needed", "no order of this customer is known for this thread")
    request = _order_request(
        text, order, conversation, now=now, lang=lang,
        cancellation_window_hours=cancellation_window_hours, refund_rules=refund_rules,
        address=address,
    )  # fmt: skip
    return DECIDERS[intent](request)


def _order_request(
    text: str,
    order: OrderFacts,
    conversation: Conversation,
    *,
    now: datetime,
    lang: str,
    cancellation_window_hours: float,
    refund_rules: RefundRules | None,
    address: dict[str, Any] | None,
) -> OrderRequest:
    state = order["state"]
    shipped, delivered = _date(order.get("shipped")), _date(order.get("delivered"))
    since = conversation.get("waiting_since")
    is_delivered = state in DELIVERED_STATES or delivered is not None
    left = (
        state in SHIPPED_STATES
        or order["shipment_status"] in SHIPMENT_LEFT
        or shipped is not None
        or is_delivered
    )
    values = {"order": order["order_id"]}
    if shipped:
        values["date"] = day(shipped, lang)
    inbound = (body for direction, body in conversation["history"] if direction == "inbound")
    return OrderRequest(
        text=text,
        said="\n".join([text, *inbound]),
        order=order,
        conversation=conversation,
        now=now,
        lang=lang,
        asked=_local(datetime.fromisoformat(since)) if since else _local(now),
        shipped=shipped,
        delivered=delivered,
        is_delivered=is_delivered,
        left=left,
        return_deadline=delivered + timedelta(days=RETURN_DAYS) if delivered else None,
        values=values,
        cancellation_window_hours=cancellation_window_hours,
        refund_rules=refund_rules,
        address=address,
    )


# -- one decision per intent ----------------------------------------------------------------------


def _cancellation(request: OrderRequest) -> Decision | None:
    o, shipped, deadline = request.order, request.shipped, request.return_deadline
    if o["state"] == "CANCELED":
        return Decision(
            "cancel_already", f"order {o['order_id']} is already cancelled", {**request.values}
        )
    if o["state"] == "REFUSED":
        return None  # refused by the shop: a person explains why
    if request.is_delivered and shipped and deadline:
        open_ = request.asked <= deadline
        return Decision(
            "cancel_refused_shipped_delivered" + ("" if open_ else "_closed"),
            f"refused: order {o['order_id']} shipped {shipped.isoformat()} and was "
            f"delivered {request.delivered}; return "
            + (f"possible until {deadline}" if open_ else f"closed {deadline}"),
            {**request.values, "deadline": day(deadline, request.lang)},
            ("returns", 1, 0, 1) if open_ else ("warranty", 0, 0, 1),
        )
    if request.left:
        return Decision(
            "cancel_refused_shipped" if shipped else "cancel_refused_shipped_nodate",
            f"refused: order {o['order_id']} has shipped"
            + (f" ({shipped.isoformat()})" if shipped else ""),
            {**request.values},
            ("returns", 0, 0, 1) if request.is_delivered else ("cancellations", 2, 1, 2),
        )
    return _cancellation_before_shipping(request)


def _cancellation_before_shipping(request: OrderRequest) -> Decision | None:
    o, hours = request.order, request.cancellation_window_hours
    created = datetime.fromisoformat(o["created"]) if o["created"] else None
    verdict = cancellation_policy(o["state"], created, o["shipment_status"], request.now, hours)
    if verdict.allowed:
        section = (0, 1, 2) if o["state"] in CANCELLABLE_STATES else (1, 1, 2)
        return Decision(
            "cancel_possible",
            f"possible ({verdict.reason}): the customer confirms, a person cancels",
            {**request.values},
            ("cancellations", *section),
        )
    if created is not None:
        # Past the automatic window, but still in the warehouse: the policy says it can be
        # cancelled until it leaves, so a person asks the warehouse; nothing is promised.
        return Decision(
            "cancel_refused_window",
            f"not cancelled automatically ({verdict.reason}); not shipped: a person asks "
            "the warehouse to stop it and confirms",
            {**request.values, "date": day(created, request.lang), "hours": f"{hours:g}"},
        )
    return None


def _return(request: OrderRequest) -> Decision | None:
    state, delivered, deadline = request.order["state"], request.delivered, request.return_deadline
    if delivered and deadline:
        values = {**request.values, "date": day(deadline, request.lang)}
        if request.asked <= deadline:
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
            f"{delivered.isoformat()}; asked {request.asked.isoformat()})",
            values,
            ("warranty", 0, 0, 1),
        )
    if state in DELIVERED_STATES or (request.left and says_received(request.said)):
        return Decision(
            "return_check", "delivered, but Mirakl gives no delivery date", {**request.values}
        )
    if state in CANCELLABLE_STATES or state in ("SHIPPING", "SHIPPED", "TO_COLLECT"):
        return Decision(
            "return_not_delivered",
            f"not delivered yet ({state}): the 14 days start at delivery",
            {**request.values},
        )
    return None


def _delivery_issue(request: OrderRequest) -> Decision | None:
    if not DAMAGE.search(request.said):
        return _order_state(request)
    if request.conversation.get("photos"):
        return _damaged_with_photos(request)
    return _damaged_without_photos(request)


def _damaged_with_photos(request: OrderRequest) -> Decision:
    o = request.order
    values = {**request.values}
    quote = _damage_refund(o, request.refund_rules, request.said)
    if quote is not None:
        values["amount"] = money(quote, o["currency"], request.lang)
    asked_for = wants(request.conversation, request.text)
    kind = "damaged_photos_received" if quote is not None else "damaged_photos_received_lines"
    if asked_for == {"replace"}:
        kind = "damaged_photos_received_replace"  # what they asked for, not asked again
    elif asked_for == {"refund"} and quote is not None:
        kind = "damaged_photos_received_refund"
    return Decision(
        kind,
        "damaged, photos received: replacement at the seller's cost or refund"
        + (f" of {quote} {o['currency']} (refund rules: damaged)" if quote else ""),
        values,
        ("damaged-items", 0, 2, 3),
    )


def _damaged_without_photos(request: OrderRequest) -> Decision:
    values = {**request.values}
    deadline = request.delivered + timedelta(days=PHOTO_DAYS) if request.delivered else None
    in_time = deadline is not None and request.asked <= deadline
    if in_time and deadline is not None:
        values["date"] = day(deadline, request.lang)
    else:
        values.pop("date", None)
    return Decision(
        "damaged_photos_needed" if in_time else "damaged_photos_needed_nodate",
        "damaged, no photo yet: photos of the product and the box are needed"
        + ("" if in_time or deadline is None else f" (the 7 days ended {deadline}: a person "
           "decides)"),
        values,
        ("damaged-items", 0, 1, 3),
    )  # fmt: skip


def _address_update(request: OrderRequest) -> Decision | None:
    o = request.order
    if request.is_delivered:
        return Decision(
            "address_refused_delivered", f"order {o['order_id']} was delivered", {**request.values}
        )
    if request.left:
        values = {
            **request.values,
            "tracking": o["tracking_number"] or "",
            "carrier": o["carrier"] or "",
        }
        kind = "address_refused_shipped" if o["tracking_number"] else "address_refused_nodate"
        return Decision(
            kind, f"refused: order {o['order_id']} has left the warehouse", values,
            ("cancellations", 4, 2, 3) if o["tracking_number"] else None,
        )  # fmt: skip
    if o["state"] in ("CANCELED", "REFUSED"):
        return None
    if request.address:
        return Decision(
            "address_possible",
            "not shipped yet: the address can still be changed (a person applies it)",
            {**request.values, "address": one_line(request.address)},
        )
    return Decision(
        "address_needed", "not shipped yet, but the new address is incomplete", {**request.values}
    )


def _invoice(request: OrderRequest) -> Decision | None:
    if request.order["state"] in ("CANCELED", "REFUSED"):
        return None
    company = bool(COMPANY.search(request.text or ""))
    if request.left:
        return Decision(
            "invoice_available", "the order has shipped: the invoice is in the account",
            {**request.values}, ("invoices", 1, 0, 2) if company else ("invoices", 0, 1, 2),
        )  # fmt: skip
    return Decision(
        "invoice_later", "not shipped yet: the invoice comes with the shipment", {**request.values},
        ("invoices", 1, 0, 2) if company else None,
    )  # fmt: skip


def _order_state(request: OrderRequest) -> Decision:
    o = request.order
    return Decision(
        "order_state", f"order {o['order_id']} is {o['state']} on Mirakl", {**request.values}
    )


# The intents a reply states a decision for: each is read against the order by its own function.
Decider = Callable[[OrderRequest], Decision | None]
DECIDERS: dict[Intent, Decider] = {
    "cancellation_request": _cancellation,
    "return_request": _return,
    "delivery_issue": _delivery_issue,
    "address_update": _address_update,
    "invoice_request": _invoice,
    "order_status": _order_state,
}


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
    one line the customer says is damaged, of one unit; with several lines or units possible,
    a person asks which (no amount is stated)."""
    active = [ln for ln in order["lines"] if ln.get("state") != "CANCELED"]
    lines = damaged_lines(active, said)
    if rules is None or len(lines) != 1 or int(lines[0]["qty"]) != 1:
        return None
    try:
        line = lines[0]
        quote = quote_refund(
            rules,
            "damaged",
            [RefundLine(line["id"], 1, Decimal(line["price"]), None)],
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
