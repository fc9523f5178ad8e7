"""Does the message positively ask for this action, now? Checked before every automated
cancellation or address change (and before an automated order status), after the classifier.

The classifier says what a message is about; it does not read "please do NOT cancel", "how do I
cancel?", "cancel my newsletter" or "if it is not here by Friday, cancel it" any differently from
"cancel my order". These language rules, sharper than a model on such turns of phrase, say when
a confident intent is still not a request to act: negations and retractions, conditionals,
questions about the policy, subscriptions, cancelling a return, complaints about a past
cancellation, invoice addresses, a delivery address said to be right, and general questions
about delivery times. Anything they stop is drafted for a person instead.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from store.ids import ORDER_ID_IN_TEXT

Flags = re.IGNORECASE | re.UNICODE


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), Flags)


# Words for cancelling an order, in the five languages (accents stripped before matching).
CANCEL_VERB = _rx(
    r"\bcancel\w*",
    r"\bcancle\w*",
    r"\bannul\w*",
    r"\bstorn\w*",
    r"\banul\w*",
    r"\bcancell\w*",
    r"\bdisdic\w*",
    r"\bwiderruf\w*",
    r"\bzurucktreten\b",
    r"\bzuruckziehen\b",
)
# ... and stopping or halting it (also said of a parcel: not used for order status).
CANCEL = _rx(
    CANCEL_VERB.pattern,
    r"\bstop\b",
    r"\bhalt\b",
    r"\barret\w*",
    r"\bstopp\w*",
    r"\bpar(?:en|e|ad)\b",
    r"\bdeten\w*",
    r"\bblocc\w*",
    r"\bferm(?:ate|are)\b",
)
# "I don't need it any more" says why to cancel, not not to: removed before the negation check.
NO_LONGER_NEEDED = _rx(
    r"\b(?:do ?n[o']t|don't|dont|no longer)\s+(?:really\s+)?(?:need|want|use)\s+(?:it|this|them|that|the \w+|my \w+)\b",
    r"\bn'en ai plus besoin\b",
    r"\bn'ai plus besoin\b",
    r"\bne (?:la|le|les) veux plus\b",
    r"\bbrauche\b[^.!?\n,]{0,25}\bnicht mehr\b",
    r"\bbenotige\b[^.!?\n,]{0,25}\bnicht mehr\b",
    r"\bno (?:lo |la |los )?necesito\b",
    r"\bya no (?:lo |la )?necesito\b",
    r"\bnon (?:mi )?serve piu\b",
    r"\bnon (?:ne )?ho piu bisogno\b",
    r"\bnon lo voglio piu\b",
)
# Not cancelling: a negation governing the verb (same clause), or a decision to keep the order.
CANCEL_NEGATED = _rx(
    # en
    r"\b(?:do ?n[o']t|don't|dont|didn't|did not|not|never|no longer|no need to)\s+(?:(?!(?:so|then|therefore|please)\b)[\w']+\s+){0,3}?(?:to\s+)?cancel",
    r"\b(?:disregard|withdraw|retract|undo|revoke|take back)\b[^.!?\n]{0,30}\bcancel",
    r"\b(?:thinking (?:about|of)|considering|might|maybe|perhaps|not sure (?:if|whether))\b[^.!?\n]{0,20}\bcancel",
    r"\bwithout cancel",
    r"\bkeep (?:it|the order|my order)\b",
    r"\bstill want (?:it|the order|my order)\b",
    r"\bignore my (?:last|previous) (?:message|request)\b",
    # fr
    r"\bn[e']\s*(?:l')?annul\w*\s+(?:pas|plus)\b",
    r"\bpas (?:d')?annul",
    r"\bje pense (?:a )?annul",
    r"\bj'hesite a annul",
    r"\b(?:retire|retirez|oubliez)\b[^.!?\n]{0,30}annulation",
    r"\bplus (?:d')?annul",
    r"\bsans annul",
    r"\bje (?:la |le )?garde\b",
    r"\bje souhaite la garder\b",
    r"\bne rien annuler\b",
    r"\boubliez ma (?:demande|derniere)",
    # de
    r"\bnicht\b[^.!?\n,]{0,15}\bstorn",
    r"\bstorn\w*\b[^.!?\n,]{0,40}\bnicht\b(?!\s+mehr\b)",
    r"\bstornierung\b[^.!?\n,]{0,30}\b(?:ruckgangig|zuruck)",
    r"\buberlege\b[^.!?\n]{0,30}\bstorn",
    r"\bstorn\w*\s+(?:sie\s+)?(?:bitte\s+)?nicht\b",
    r"\bkeine storn",
    r"\bbehalte\b",
    r"\bdoch behalten\b",
    # es
    r"\bno\s+(?:(?!(?:asi|pues|entonces)\b)\w+\s+){0,2}?(?:cancel|anul)",
    r"\bya no quiero (?:cancel|anul)",
    r"\bpensando en (?:cancel|anul)",
    r"\bme (?:lo|la) quedo\b",
    r"\bme quedo (?:el|con el) pedido\b",
    r"\bsin cancel",
    # it
    r"\bnon\s+(?:(?!(?:quindi|percio|allora)\b)\w+\s+){0,2}?(?:annull|cancell|disdic)",
    r"\b(?:lo|la) tengo\b",
    r"\bpensando di (?:annull|cancell)",
    # cancelling the cancellation, in any language
    r"\b(?:cancel|annul|storn|anul)\w*\s+(?:[\w']+\s+){0,3}(?:d'|de\s+)?(?:cancellation|annulation|stornierung|cancelacion|anulacion|annullamento|cancellazione)\b",
    r"\btengo l'ordine\b",
    r"\bsenza annull",
)
# A condition or a hypothesis, not a request now: the sentence starts with "if" (per language;
# "if possible" and "if you could" are polite requests, not conditions).
CONDITIONAL_START = {
    "en": r"(?:if|unless|in case|only if)\b",
    "fr": r"(?:si|au cas ou|a moins que|seulement si)\b",
    "de": r"(?:falls|wenn|sofern|sollte)\b",
    "es": r"(?:si|en caso de que|a menos que|solo si)\b",
    "it": r"(?:se|nel caso|a meno che|solo se)\b",
}
POLITE_IF = _rx(
    r"\bif (?:possible|you (?:can|could))\b",
    r"\bsi (?:possible|vous (?:pouvez|pouviez)|es posible|puede|pueden)\b",
    r"\bwenn (?:moglich|es geht|sie konnen|sie konnten)\b",
    r"\bfalls moglich\b",
    r"\bse possibile\b",
    r"\bse (?:potete|puo)\b",
)
OTHERWISE = _rx(
    r"\b(?:otherwise|sinon|sonst|andernfalls|de lo contrario|si no|altrimenti)\b[^.!?\n]{0,40}\b(?:cancel|annul|storn|anul)",
)


def conditional(text: str, language: str | None) -> bool:
    starts = (
        [CONDITIONAL_START[language]]
        if language in CONDITIONAL_START
        else [p for lang, p in CONDITIONAL_START.items() if lang != "it"]  # "se" is Spanish too
    )
    pattern = re.compile(r"\b(?:" + "|".join(starts) + ")", Flags)
    plain = POLITE_IF.sub("", text)
    return any(_opens_sentence(plain, m.start()) for m in pattern.finditer(plain)) or bool(
        OTHERWISE.search(text)
    )


def _opens_sentence(text: str, at: int) -> bool:
    """Whether `at` begins the text or a sentence: only spaces since the start, a line break or
    a ".!?". Read backwards over the spaces before `at` only (a pattern "[.!?\\n]\\s*" re-read
    every line break from each one: 37 s on 20,000 line breaks)."""
    i = at - 1
    while i >= 0 and text[i].isspace():
        if text[i] == "\n":
            return True
        i -= 1
    return i < 0 or text[i] in ".!?"


# A question about how or whether one can cancel (the policy), not a request to do it.
CANCEL_QUESTION = _rx(
    r"\bhow (?:do|can|could) i\b[^?]{0,40}\bcancel",
    r"\b(?:can|may|could) i\b[^?]{0,30}\bcancel",
    r"\bis it (?:still )?possible to cancel",
    r"\bhow (?:does|do) cancel",
    r"\bwhat happens if i cancel",
    r"\bcomment (?:puis-je |peut-on |faire pour |on fait pour )?annul",
    r"\bpuis-je annul",
    r"\best-il (?:encore )?possible d'annul",
    r"\best-ce (?:qu'on|que je) peu[tx] annul",
    r"\bwie (?:kann|konnte) (?:ich|man)\b[^?]{0,40}\bstorn",
    r"\b(?:kann|darf|konnte) ich\b[^?]{0,40}\bstorn",
    r"\bist (?:es|eine stornierung) (?:noch )?moglich",
    r"\bcomo (?:puedo |se puede |se |hago para )?(?:cancel|anul)",
    r"\b(?:puedo|se puede)\b[^?]{0,30}\b(?:cancel|anul)",
    r"\bes posible (?:cancel|anul)",
    r"\bcome (?:posso|si puo|si|faccio a)\b[^?]{0,30}\b(?:annull|cancell)",
    r"\bposso\b[^?]{0,30}\b(?:annull|cancell)",
    r"\be possibile (?:annull|cancell)",
    r"\b(?:cancellation policy|conditions d'annulation|stornobedingungen|politica de cancelacion|politica di (?:cancellazione|annullamento))\b",
    # How long one may cancel, and what it costs.
    r"\b(?:how long|until when|how much time|what is the deadline)\b[^?]{0,40}\bcancel",
    r"\b(?:jusqu'a quand|combien de temps|quel (?:est le )?delai)\b[^?]{0,40}\bannul",
    r"\b(?:bis wann|wie lange|welche frist)\b[^?]{0,40}\bstorn",
    r"\b(?:hasta cuando|cuanto tiempo|que plazo)\b[^?]{0,40}\b(?:cancel|anul)",
    r"\b(?:entro quando|entro quanto tempo|fino a quando|quanto tempo)\b[^?]{0,40}\b(?:annull|cancell)",
    r"\b(?:si puo|se puede|kann man|peut-on|can one|can you still)\b[^?]{0,30}\b(?:annull|cancel|anul|storn)",
)
# An earlier request to cancel, taken back ("I asked you to cancel, but I changed my mind: ship
# it"): the earlier request and the change of mind, in the same message.
EARLIER_REQUEST = _rx(
    r"\b(?:i (?:had )?(?:asked|requested)|my (?:cancellation )?request|i wrote)\b[^.!?\n]{0,50}",
    r"\b(?:je vous ai demande|j'avais demande|ma demande d'annulation|je vous ai ecrit)\b",
    r"\b(?:um (?:die )?stornierung gebeten|meine stornierung|stornoanfrage|stornierungsanfrage)\b",
    r"\bich (?:hatte|habe)\b[^.!?\n]{0,40}\bgebeten\b",
    r"\b(?:os pedi|les pedi|habia pedido|mi solicitud de cancelacion|pedi (?:que|la cancelacion))\b",
    r"\b(?:vi avevo chiesto|vi ho chiesto|avevo chiesto|ho chiesto|la mia richiesta)\b",
)
CHANGE_OF_MIND = _rx(
    r"\bchanged my mind\b",
    r"\b(?:ship|send) it\b",
    r"\bkeep (?:it|the order|my order)\b",
    r"\bchange d'avis\b",
    r"\b(?:expediez|envoyez)-la\b",
    r"\bje (?:la |le )?garde\b",
    r"\banders (?:uberlegt|entschieden)\b",
    r"\b(?:verschicken|versenden|liefern) sie\b",
    r"\bnormal (?:verschicken|versenden|liefern)\b",
    r"\bbehalte\b",
    r"\bcambiado de (?:idea|opinion)\b",
    r"\b(?:envienlo|enviadlo|mandadlo|mandenlo)\b",
    r"\bme lo quedo\b",
    r"\bcambiato idea\b",
    r"\b(?:speditelo|spedite pure|inviatelo)\b",
    r"\blo tengo\b",
)
# A polite request phrased as a question ("can I cancel my order please?") is still a request.
PLEASE = _rx(
    r"\bplease\b",
    r"\bs'il (?:vous|te) plait\b",
    r"\bsvp\b",
    r"\bbitte\b",
    r"\bpor favor\b",
    r"\bper favore\b",
)
# Cancelling something that is not the order.
NOT_THE_ORDER = _rx(
    r"\bnewsletter",
    r"\bsubscri",
    r"\bmailing",
    r"\babonnement",
    r"\babo\b",
    r"\bsuscrip",
    r"\biscrizion",
    r"\babbonament",
    r"\bmarketing",
    r"\bpromotional e-?mails?\b",
    # a return, not the order
    r"\b(?:cancel|annul|storn|anul)\w*\s+(?:[\w']+\s+){0,4}(?:return|retour|rucksendung|retoure|devolucion|reso)\b",
    r"\b(?:return|retour|rucksendung|retoure|devolucion|reso)\w*[^.!?\n]{0,30}\b(?:cancel|annul|storn|anul)",
    r"\bwarranty claim\b",
    r"\bgarantie\b[^.!?\n]{0,20}\bannul",
)
# A complaint about a cancellation that already happened.
PAST_CANCELLATION = _rx(
    r"\b(?:you|they|was|were|been|got)\b\s+(?:\w+\s+){0,2}cancell?ed\b",
    r"\b(?:seller|vendor|shop|store|marketplace|vendeur|verkaufer|vendedor|venditore)\s+(?:has\s+|a\s+|hat\s+|ha\s+)?(?:\w+\s+){0,2}(?:cancell?ed|annule|storniert|cancelo|anulo|annullato|cancellato)\b",
    r"\b(?:cancelaron|anularon)\b",
    r"\b(?:why|how come)\b[^?]{0,30}\bcancel",
    r"\bha\s+(?:\w+\s+){0,2}(?:annullat|cancellat)\w*",
    r"\b(?:why|how come)\b[^?]{0,40}\bcancell?ed\b",
    r"\b(?:a|avez|ont|est|ete)\s+(?:ete\s+)?annulee?s?\b",
    r"\bpourquoi\b[^?]{0,40}\bannul",
    r"\b(?:wurde|ist|haben|habt|hat)\b[^.!?\n]{0,30}\bstorniert\b",
    r"\bwarum\b[^?]{0,40}\bstorn",
    r"\b(?:fue|ha sido|han|habeis|han sido)\b[^.!?\n]{0,20}\b(?:cancelad|anulad)",
    r"\bpor que\b[^?]{0,40}\b(?:cancel|anul)",
    r"\b(?:e stato|e stata|avete|hanno)\b[^.!?\n]{0,20}\b(?:annullat|cancellat)",
    r"\bperche\b[^?]{0,40}\b(?:annull|cancell)",
)

ADDRESS_NEGATED = _rx(
    r"\b(?:do ?n[o']t|don't|dont|no need to|not)\b[^.!?\n,]{0,15}\bchange\b",
    r"\b(?:address|it) is (?:correct|right|fine|ok)\b",
    r"\bkeep the (?:same )?address\b",
    r"\bne (?:changez|modifiez) pas\b",
    r"\bpas (?:besoin de )?(?:changer|modifier)\b",
    r"\b(?:c'est bien|est (?:bien |la )?(?:correcte|bonne|juste))\b",
    r"\bgardez (?:la meme )?adresse\b",
    r"\bnicht (?:andern|aendern|anpassen)\b",
    r"\b(?:adresse|anschrift) (?:ist|stimmt) (?:korrekt|richtig)\b",
    r"\bstimmt so\b",
    r"\bandern sie\b[^.!?\n]{0,20}\bnicht\b",
    r"\bno (?:cambi|modifiqu)\w*\b",
    r"\b(?:direccion|la direccion) es (?:correcta|la buena)\b",
    r"\bnon (?:cambiate|modificate|cambiare|modificare)\b",
    r"\b(?:indirizzo|l'indirizzo) e (?:corretto|giusto)\b",
)
INVOICE = _rx(
    r"\binvoice",
    r"\bbilling\b",
    r"\breceipt\b",
    r"\bfactur",
    r"\brechnung",
    r"\bfattur",
    r"\bvat\b",
    r"\btva\b",
    r"\bust-?id",
    r"\biva\b",
    r"\bbeleg\b",
    r"\bquittung\b",
    r"\bricevuta\b",
)
ADDRESS_QUESTION = _rx(
    r"\b(?:can|may|could) i\b[^?]{0,30}\bchange\b[^?]{0,30}\baddress",
    r"\bhow (?:do|can) i\b[^?]{0,40}\baddress",
    r"\bis it (?:still )?possible to change",
    r"\bcomment (?:puis-je |faire pour )?(?:changer|modifier)",
    r"\bpuis-je (?:changer|modifier)",
    r"\best-il (?:encore )?possible de (?:changer|modifier)",
    r"\bwie (?:kann|konnte) ich\b[^?]{0,40}\b(?:andern|aendern)",
    r"\b(?:kann|darf) ich\b[^?]{0,40}adresse",
    r"\bist es (?:noch )?moglich\b",
    r"\bcomo (?:puedo )?cambi",
    r"\b(?:puedo|se puede)\b[^?]{0,30}\bcambiar",
    r"\bes posible cambiar",
    r"\bcome (?:posso|si puo)\b[^?]{0,30}\b(?:cambiare|modificare)",
    r"\bposso\b[^?]{0,30}\b(?:cambiare|modificare)",
    r"\be possibile (?:cambiare|modificare)",
)

# Order status: the customer's own order, not shipping in general.
GENERAL_SHIPPING = _rx(
    r"\b(?:usually|in general|generally|normally|typically|how long does (?:shipping|delivery) take)\b",
    r"\bdo you (?:ship|deliver) to\b",
    r"\bwhat are (?:your|the) (?:shipping|delivery)\b",
    r"\b(?:en general|generalement|d'habitude|habituellement|normalement)\b",
    r"\blivrez-vous\b",
    r"\b(?:normalerweise|in der regel|ublicherweise|liefern sie (?:auch )?nach)\b",
    r"\b(?:normalmente|por lo general|generalmente|envian a)\b",
    r"\b(?:di solito|normalmente|in genere|generalmente|spedite (?:anche )?in)\b",
    r"\bgift ?cards?\b",
    r"\bcarte(?:s)? cadeau",
    r"\bgutschein",
    r"\btarjeta(?:s)? regalo",
    r"\bbuon[oi] regalo",
    r"\b(?:in stock|available|en stock|disponible|lieferbar|auf lager|disponibile)\b[^.!?\n]{0,20}\?",
)
MY_ORDER = _rx(
    r"\bmy (?:order|parcel|package|delivery|item|shipment|purchase)\b",
    ORDER_ID_IN_TEXT.pattern,
    r"\b(?:ma|mon|notre) (?:commande|colis|livraison|achat|paquet)\b",
    r"\b(?:meine|meiner|unsere) (?:bestellung|lieferung|sendung|paket)\w*\b",
    r"\bmein (?:paket|packchen|kauf)\b",
    r"\b(?:mi|mis|nuestro) (?:pedido|paquete|envio|compra)\w*\b",
    r"\b(?:il mio|mio|il nostro) (?:ordine|pacco|acquisto|spedizione)\b",
    r"\bla mia (?:spedizione|consegna)\b",
    r"\bwhere is it\b",
    r"\bou (?:est|en est)[- ]",
    r"\bwo (?:ist|bleibt)\b",
    r"\bdonde (?:esta|anda)\b",
    r"\bdove (?:e|si trova)\b",
    r"\btracking\b",
    r"\b(?:when|quand|wann|cuando|quando)\b[^?]{0,50}\b(?:arriv|deliver|receive|get it|ship|livr|recev|recoi"
    r"|expedi|ankomm|kommt|liefer|erhalt|versand|llega|recib|entreg|envi|consegn|ricev|sped)",
    r"\bany (?:news|update)\b",
    r"\bdes nouvelles\b",
    r"\bneuigkeiten\b",
    r"\bnovedades\b",
    r"\bnovita\b",
    r"\bsuivi\b",
    r"\bsendungsnummer\b",
    r"\bseguimiento\b",
    r"\btracciamento\b",
)


ADDRESS_CHANGE = _rx(
    r"\b(?:change|modify|correct|changer|modifier|corriger|andern|aendern|korrigieren|cambiar|corregir|cambiare|modificare|correggere)\b[^.?!\n]{0,30}(?:address|adresse|direccion|indirizzo)",
    r"(?:address|adresse|direccion|indirizzo)\w*[^.?!\n]{0,30}\b(?:change|modify|changer|modifier|andern|aendern|cambiar|cambiare|modificare)\b",
)


@dataclass(frozen=True)
class Explicit:
    ok: bool
    reason: str  # why it is not a request to act now (empty when ok)


def fold(text: str) -> str:
    """Lower case without accents (and with ß as ss), so one pattern covers the spellings."""
    decomposed = unicodedata.normalize("NFKD", text.replace("ß", "ss").replace("’", "'"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def explicit_request(text: str, intent: str, language: str | None = None) -> Explicit:
    """Whether a message classified as `intent` positively asks for that action now."""
    folded = fold(text)
    if intent == "cancellation_request":
        return _cancellation(folded, language)
    if intent == "address_update":
        return _address(folded, language)
    if intent == "order_status":
        return _status(folded)
    return Explicit(True, "")


def _cancellation(text: str, language: str | None) -> Explicit:
    if not CANCEL.search(text):
        return Explicit(False, "no request to cancel is written in the message")
    stated = NO_LONGER_NEEDED.sub(" ", text)
    for pattern, why in (
        (NOT_THE_ORDER, "it is about cancelling something else than the order"),
        (CANCEL_NEGATED, "it says not to cancel, or takes the request back"),
        (PAST_CANCELLATION, "it is about a cancellation that already happened"),
    ):
        if pattern.search(stated):
            return Explicit(False, why)
    # A question about cancelling ("can I cancel?", "how do I cancel") is not a request, unless
    # it says please; statements ("I can't wait, cancel it") are not questions.
    asked = [s for s in sentences_with(CANCEL, stated) if "?" in s]
    policy = any(CANCEL_QUESTION.search(q) and not PLEASE.search(q) for q in asked)
    how = re.search(
        r"\b(?:how do i|comment annuler|wie storniere|como cancelo|come annullo)", stated
    )
    if policy or how or re.search(r"\b(?:cancellation policy|stornobedingungen)\b", stated):
        return Explicit(False, "it asks how or whether one can cancel, not to cancel now")
    if conditional_request(CANCEL, text, language):
        return Explicit(False, "the cancellation is conditional")
    if EARLIER_REQUEST.search(stated) and CHANGE_OF_MIND.search(stated):
        return Explicit(False, "it takes back an earlier request to cancel")
    return Explicit(True, "")


def _address(text: str, language: str | None) -> Explicit:
    if INVOICE.search(text):
        return Explicit(False, "it is about an invoice or billing address, not the delivery")
    if ADDRESS_NEGATED.search(text):
        return Explicit(False, "it says the address is right, or not to change it")
    if ADDRESS_QUESTION.search(text) and not re.search(r"\d", text):
        return Explicit(False, "it asks whether the address can be changed, with no new address")
    if conditional_request(ADDRESS_CLAUSE, text, language):
        return Explicit(False, "the address change is conditional")
    # The positive side is the new address itself: automation also needs it parsed completely.
    return Explicit(True, "")


def _status(text: str) -> Explicit:
    if GENERAL_SHIPPING.search(text) and not MY_ORDER.search(text):
        return Explicit(False, "it is a general question, not about this customer's order")
    if CANCEL_VERB.search(text) or INVOICE.search(text) or ADDRESS_CHANGE.search(text):
        return Explicit(
            False, "it asks about something else too (a cancellation, an invoice, an address)"
        )
    return Explicit(True, "")


ADDRESS_CLAUSE = _rx(
    r"\d",
    r"adress",
    r"address",
    r"direccion",
    r"indirizzo",
    r"\blivr",
    r"\bliefer",
    r"\bdeliver",
    r"\bentreg",
    r"\bconsegn",
    r"\bsend\b",
    r"\benvo",
    r"\bschick",
    r"\bspedi",
)


SENTENCE = re.compile(r"[^.!?\n]+[.!?]*", Flags)
MID_CONDITION = {
    "en": r"\b(?:if|unless)\b",
    "fr": r"\b(?:si|sauf si)\b",
    "de": r"\b(?:falls|wenn|sofern)\b",
    "es": r"\b(?:si|a menos que)\b",
    "it": r"\b(?:se|a meno che)\b",
}


def sentences_with(pattern: re.Pattern[str], text: str) -> list[str]:
    """The sentences of `text` that contain `pattern` (closing lines are not read for it)."""
    return [s for s in SENTENCE.findall(text) if pattern.search(s)]


def conditional_request(pattern: re.Pattern[str], text: str, language: str | None) -> bool:
    """The request (the sentences that make it) depends on a condition: "if it is not here by
    Friday, cancel it", "I will cancel if...". A signature's "if you have questions" is not."""
    mids = (
        [MID_CONDITION[language]]
        if language in MID_CONDITION
        else [p for lang, p in MID_CONDITION.items() if lang != "it"]  # "se" is Spanish too
    )
    middle = re.compile("|".join(mids), Flags)
    return any(
        conditional(s.strip(), language) or bool(middle.search(POLITE_IF.sub("", s)))
        for s in sentences_with(pattern, text)
    )
