"""How a customer answered "reply YES to confirm": yes, no, or unclear (a person reads it).

Built for precision, not recall: an answer counts as a yes only when every word in it is a word
of agreement, of politeness, of the action itself, or names what was proposed (the order, its
items, the address, the customer's own name). Any other word, a question mark, a condition, a
"but", a different order number, a yes next to a no: unclear, and a person decides. A no is
short too: a refusal ("no", "nein danke"), a negated action ("ne pas annuler") or keeping the
order ("je la garde"), with nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from graph.classify.explicit import fold

Answer = Literal["yes", "no", "unclear"]


def _vocabulary(words: str) -> frozenset[str]:
    return frozenset(words.split())


MAX_WORDS = 30  # longer answers are read by a person

# Several words that mean one thing, matched before the words are split (folded text).
PHRASES: dict[str, str] = {
    # "Fine as it is" may as well mean "leave it": a person reads it.
    r"\basi esta bien\b": " zhuh ", r"\bpasst schon\b": " zhuh ", r"\bva bene cosi\b": " zhuh ",
    # As soon as possible: urgency, not a condition.
    r"\b(?:as soon as possible|le plus (?:vite|rapidement) possible|au plus vite|(?:so )?"
    r"schnell wie moglich|(?:lo )?antes posible|cuanto antes(?: mejor)?|(?:il )?prima possibile"
    r"|al piu presto)\b": " ",
    # Both items, when two were proposed (graph/nodes/confirmation.py knows how many).
    r"\b(?:both|les deux|beides?|los dos|las dos|ambos|ambas|tutti e due|tutte e due|entrambi"
    r"|entrambe)\b": " zboth ",
    # Pointing at the address read back.
    r"\b(?:that'?s the one|c'est (?:bien )?(?:celle-la|celle la|ca)|esa es|e quella|das ist sie)"
    r"\b": " zyes ",
    r"\bgo ahead\b": " zyes ", r"\bsounds good\b": " zyes ", r"\bof course\b": " zyes ",
    r"\bthat'?s (?:fine|right|correct|ok)\b(?! ?(?:but|all|it))": " zyes ",
    r"\bplease do\b": " zyes ",
    r"\bd'accord\b": " zyes ", r"\bc'est (?:ok|parfait|correct|exact)\b": " zyes ",
    r"\bca marche\b": " zyes ", r"\bbien sur\b": " zyes ", r"\bvolontiers\b": " zyes ",
    r"\ballez-y\b": " zyes ", r"\ballez y\b": " zyes ",
    r"\bin ordnung\b": " zyes ", r"\bna klar\b": " zyes ",
    r"\bja gerne\b": " zyes ", r"\bgeht klar\b": " zyes ",
    r"\bde acuerdo\b": " zyes ", r"\bpor supuesto\b": " zyes ", r"\bclaro que si\b": " zyes ",
    r"\besta bien\b(?! asi)": " zyes ", r"\basi es\b": " zyes ",
    r"\bso machen\b": " do ", r"\badelante\b": " zyes ",
    r"\bva bene\b": " zyes ", r"\bd'accordo\b": " zyes ", r"\bcerto che si\b": " zyes ",
    r"\bproceda\b": " zyes ", r"\bprocedete\b": " zyes ", r"\bprocedez\b": " zyes ",
    # A mail client's signature.
    r"\b(?:sent from my|envoye de mon|von meinem|enviado desde mi|inviato da(?: mio)?) "
    r"(?:iphone|ipad|android|samsung|smartphone|mobile|telephone|handy|movil|cellulare)"
    r"(?: galaxy| pixel)?(?: gesendet)?\b": " ",
    r"\bgesendet von meinem (?:iphone|ipad|android|samsung|smartphone|handy)\b": " ",
    r"\bbrauche ich (?:es |sie |ihn |das )?nicht mehr\b": " zneed ",
    r"\bsin querer\b": " ", r"\bdos veces\b": " ",
    r"\b(?:ordered|bought) (?:it |them )?(?:twice )?by mistake\b": " zreason ",
    r"\b(?:commande|achete)e?s? (?:deux fois )?par erreur\b": " zreason ",
    r"\b(?:aus versehen|versehentlich) (?:doppelt )?bestellt\b": " zreason ",
    r"\bpedi(?:do)? (?:dos veces )?por error\b": " zreason ",
    r"\bordinato (?:due volte )?per sbaglio\b": " zreason ",
    r"\b(?:found (?:it|them) )?cheaper elsewhere\b": " zreason ",
    r"\b(?:trouve )?moins cher ailleurs\b": " zreason ",
    r"\bwoanders (?:gunstiger|billiger)(?: gefunden)?\b": " zreason ",
    r"\b(?:lo )?(?:encontre )?mas barato en otro (?:lado|sitio)\b": " zreason ",
    r"\b(?:l'ho )?trovato a meno altrove\b": " zreason ",
    # A reason that supports the request, though it holds a negation: neither yes nor no.
    r"\b(?:i )?(?:don'?t|do not|no longer) need (?:it|them|this)(?: any ?more)?\b": " zneed ",
    r"\b(?:je )?n'(?:en )?ai plus besoin(?: de (?:la|le|les))?\b": " zneed ",
    r"\b(?:ich )?brauche (?:es |sie |ihn |das )?nicht mehr\b": " zneed ",
    r"\bya no (?:lo |la |los |las )?necesito\b": " zneed ",
    r"\bnon (?:mi )?serve piu\b": " zneed ", r"\bnon ne ho piu bisogno\b": " zneed ",
    # Keeping things as they are.
    r"\b(?:leave|keep) (?:it|them|the (?:order|address))(?: as (?:it )?is)?\b": " zkeep ",
    r"\bnever ?mind\b": " zkeep ", r"\bdisregard\b": " zkeep ",
    r"\b(?:current|old|previous) address\b": " zkeep ", r"\bas it is\b": " zkeep ",
    r"\blaissez tomber\b": " zkeep ", r"\bne changez rien\b": " zkeep ",
    r"\b(?:ancienne|actuelle) adresse\b": " zkeep ", r"\badresse actuelle\b": " zkeep ",
    r"\bdoch (?:nicht|behalten)\b": " zkeep ", r"\bhat sich erledigt\b": " zkeep ",
    r"\b(?:alte|aktuelle|bisherige)n? adresse\b": " zkeep ",
    r"\bolviden\b": " zkeep ", r"\bdejen(?:la|lo)? como esta\b": " zkeep ",
    r"\bdireccion (?:de antes|actual|anterior)\b": " zkeep ",
    r"\b(?:vecchio|precedente) indirizzo\b": " zkeep ", r"\bindirizzo attuale\b": " zkeep ",
    r"\blasciate\b": " zkeep ",
    r"\bno thanks?\b": " zno ", r"\bno thank you\b": " zno ", r"\bnon merci\b": " zno ",
    r"\bnein danke\b": " zno ", r"\bno gracias\b": " zno ", r"\bno grazie\b": " zno ",
    r"\blascia(?:te)? (?:stare|perdere)\b": " zkeep ", r"\bchanged my mind\b": " zkeep ",
    r"\bchange d'avis\b": " zkeep ", r"\bchange d avis\b": " zkeep ",
    r"\bcambiado de (?:idea|opinion)\b": " zkeep ", r"\bcambiato idea\b": " zkeep ",
    r"\banders uberlegt\b": " zkeep ", r"\banders ueberlegt\b": " zkeep ",
}  # fmt: skip
_PHRASES = [(re.compile(p), t) for p, t in PHRASES.items()]

YES = _vocabulary(
    "yes yeah yep yup ok okay oki okey k kk sure confirm confirmed confirming correct "
    "absolutely definitely exactly agreed agree perfect fine "
    "oui ouais ouaip confirme confirmee confirmer parfait exact exactement correct "
    "ja jawohl jep jo genau bestatige bestatigt bestatigen richtig korrekt einverstanden gerne "
    "perfekt passt stimmt nickel affirmative affirmatif afirmativo affermativo "
    "confirmo confirmado confirmada correcto correcta perfecto exacto claro vale valeu dale "
    "confermo confermato confermata confermare certo certamente esatto perfetto giusto "
    "sicuro okk corretto corretta klar sip zyes"
)
# "si" is yes in Spanish and Italian (and to a negative question in French) but also "if": a yes
# only as the first word, alone or followed by a comma, a yes, the action or politeness.
SI = "si"
NO = _vocabulary(
    "no nope nah non nein ne nee niet pas nicht kein keine not don't dont never jamais nie "
    "nunca nada niente nessun nessuna n zno"
)
KEEP = _vocabulary(
    "keep keeping garde garder gardons garderai behalten behalte behalt quedo quedarme quedar "
    "mantener mantengo conservo conservare tengo tenerlo tenere tieni gardez gardes zkeep"
)
# The action itself, the order, what was proposed.
ACTION = _vocabulary(
    "cancel cancelled canceled cancellation cancelling canceling annuler annulez annule "
    "annulee annulation annulle stornieren stornier storniere storniert stornierung storno "
    "cancelar cancele cancelen cancelelo cancelela cancelado cancelada cancelacion anular "
    "anule anulelo anulacion annullare annullate annulli annullatelo annullatela annullo "
    "annullamento annullato annullata cancelarlo cancelarla cancelenlo cancelenla "
    "cancelelos anularlo anulenlo annullarlo annullarla annullatelo annullatela stornierst "
    "change changed changer changez changement modifier "
    "modifiez modification update andern andert anderung aendern aenderung cambiar cambien "
    "cambie cambio cambiare cambiate modificare modificate modifica deliver delivery send "
    "livrer livraison livrez envoyer liefern lieferung lieferadresse senden entregar entrega "
    "envio enviar consegnare consegna consegnate spedire spedizione address adresse "
    "direccion indirizzo new nouvelle nouvel neue neuen neu nueva nuevo nuova nuovo proceed "
    "fortfahren proceder procedere do it this that order commande "
    "bestellung auftrag pedido compra ordine ordinazione item items article articles artikel "
    "articulo articulos articolo articoli product produit produkt producto prodotto whole "
    "entire complete toute entiere ganze komplett completo todo tutto intero all"
    " schicken envienlo mandenlo spedite mandatelo envoyez mandar spedire annulla annullalo "
    "cancela cancelad cancelalo cancelala cancelalos cancelalas cancle cancell cancl "
    "cancellare annuller stonieren storniern "
    "adressanderung adressaenderung adresswechsel cambiamento "
    " zneed "
)
FILLER = _vocabulary(
    "please pls plz pleaee thanks thank you thx ty tks many much very lot a merci svp stp "
    "plait s'il s il vous beaucoup bcp bitte danke dank vielen schon sehr gracias por favor "
    "muchas mil grazie mille prego per favore cortesia tante hello hi hey dear bonjour salut "
    "bonsoir hallo guten tag morgen abend moin servus hola buenos buenas dias tardes noches "
    "ciao buongiorno buonasera salve regards best kind cordialement bien bonne journee "
    "soiree gruss grusse grussen freundlichen mit lg vg mfg saludos saludo un cordiales "
    "cordial atentamente cordiali saluti distinti i i'm je j'ai ich yo io we nous wir me "
    "moi mich mi can may could go ahead en avant pouvez pouvoir konnen konnt sie puede "
    "pueden puedes puoi puo potete is es est ist e fine gut bueno bene good great super top "
    "also and et und y ed with the le la les l' l un une ein eine einen el los las lo il "
    "gli uno una my mon ma mes meine mein meinen mi mis mio mia miei your votre vos ihre "
    "ihr su sus suo sua de du des d der die das den dem del della dello di al au aux zum "
    "zur a to for pour fur para per it's c'est c ce est es ist e is que che dass that "
    "yes's sir madam madame monsieur herr frau senor senora signore signora team equipe "
    "vielmals nochmals want wants veux veut voudrais souhaite will mochte mochten mach "
    "mache machen quiero quisiera voglio vorrei ca ll i'll i'd habe hab mir he ho ai hai "
    "finalement finally schliesslich finalmente alla fine pure bitteschon again encore "
    "ancora   bye ciao tschuss adieu "
    # reasons and places that do not change what is asked
    " like love asap mistake mistaken error erreur fehler versehen versehentlich equivocacion "
    "errore sbaglio ordered bestellt pedi ordinato twice doppelt veces volte fois by there bas "
    "dort alli li aus "
    # apologies, urgency, reasons, thanks for help, titles and salutations seen in answers
    " sorry sry trouble hassle inconvenience apologies apologize apologise desole desolee "
    "derangement dsl excuse excusez entschuldigung entschuldigen umstande perdon perdona "
    "perdone molestias disculpe disculpas scusate scusa scusi disturbo urgent urgente "
    "dringend eilt eilig rapidement vite schnell schnelle subito quickly quick soon "
    "moved demenage umgezogen bin mudado trasferito "
    "sono help aide hilfe ayuda aiuto reactivite antwort respuesta risposta reponse answer "
    "reply seller vendeur verkaufer vendedor venditore spett geehrte damen herren estimados "
    "senores senoras dr mr mrs ms mme sig sra sr noch schonen porfa porfavor perfavore x "
    "avance voraus antemano con les hiermit an nach in en at on au delle dello degli "
    "bon buono pour moi ok jconfirme c'est quel tout good nice ok sip cancelad cancela "
    "annulla annullalo "
    " of them morning as requested ve  par trouve alles im meiner freundliche viele  "
    "querer dell da  cheers bises "
    " still toujours immer noch todavia ancora actually finalement al final surtout "
    "confusion vertan trompe equivoque equivoco sbagliato bloss mejor "
    "meglio fine so ya mate tio aufwand million deseo presente cette would dai vas gott am "
    " zreason "
)
POLITE = _vocabulary(
    "please pls plz thanks thank merci svp bitte danke gracias por grazie per mille muchas "
    " porfa porfavor perfavore x favor favore"
)
CONTRAST = _vocabulary(
    "but mais aber pero ma however cependant toutefois jedoch sino pero pero instead "
    "plutot stattdessen invece if wenn falls sofern se only seulement uniquement nur solo "
    "solamente soltanto except sauf ausser excepto tranne wait attendez attends warten warte "
    "espera espere aspetta aspettate actually maybe peut-etre peut etre vielleicht quizas "
    "quiza tal forse probably probablement stop jk kidding joke lol mdr forget oublie oubliez "
    "vergiss vergessen olvidenlo olvidalo olvidelo dimentica dimenticate"
)
SIGN_OFF = _vocabulary(
    "regards cordialement saludos saluti grusse gruss lg mfg vg atentamente cordiali thanks "
    "merci danke gracias grazie best cheers bises"
)
# Reasons: they support a request that names its action; alone ("ok my mistake") they may as
# well mean "forget it".
REASON = _vocabulary(
    "mistake mistaken error erreur fehler versehen versehentlich equivocacion errore "
    "sbaglio found trouve gefunden encontre trovato"
)
# Which words name which action: an answer naming the other action is not a yes to this one.
CANCEL_WORDS = frozenset(
    [
        *(w for w in ACTION if w.startswith(("cancel", "annul", "storn", "anul"))),
        *["cancle", "cancl", "stonieren", "zneed"],
    ]
)
# "Cancel the cancellation": a verb and the noun of cancelling together is not a yes.
CANCEL_NOUNS = _vocabulary(
    "cancellation annulation stornierung storno cancelacion anulacion annullamento"
)
ADDRESS_WORDS = _vocabulary(
    "change changed changer changez changement modifier modifiez modification update andern "
    "andert anderung aendern aenderung cambiar cambien cambie cambio cambiare cambiate "
    "modificare modificate modifica deliver delivery send livrer livraison livrez envoyer "
    "liefern lieferung lieferadresse senden entregar entrega envio enviar consegnare consegna "
    "consegnate spedire spedizione address adresse direccion indirizzo new nouvelle nouvel neue "
    "neuen neu nueva nuevo nuova nuovo schicken envienlo mandenlo spedite mandatelo envoyez "
    "mandar adressanderung adressaenderung adresswechsel cambiamento"
)
# A yes that stands for itself (not "ok", "fine", "correct"): only after one may a reason
# follow in words the reader does not know.
STRONG_YES = _vocabulary(
    "yes yeah yep yup confirm confirmed oui ouais confirme ja jawohl bestatige confirmo "
    "confermo zyes affirmative"
)
# What a reason after a yes is made of: a mistake, a size, a gift already had, a move, a price.
WHY = _vocabulary(
    "mistake wrong size cheaper already moved gift present birthday twice duplicate found "
    "got bought erreur trompe trompee taille deja cadeau anniversaire anniv demenage moins "
    "cher ailleurs falsch falsche grosse schon bereits geschenk geschenkt umgezogen gunstiger "
    "billiger doppelt versehen vertan talla equivoque equivocado equivocada ya regalo mudado "
    "barato barata encontre taglia sbagliato sbagliata sbaglio gia regalato regalata "
    "trasferito meno trovato trovata zreason zneed"
)
# After a yes, words that hold it back, ask for something else or set a condition.
HOLD = _vocabulary(
    "hold wait later tomorrow first before after until unless whether sure know think check "
    "ask instead rather refund return exchange replace invoice fee fees cost charge pay card "
    "money voucher credit other another but though although "
    "attendre demain avant apres jusqu sauf plutot rembourser remboursement retour echange "
    "facture frais carte autre "
    "morgen vorher nachher bis ausser lieber erstatten erstattung ruckgabe umtausch rechnung "
    "gebuhr gebuhren karte andere anderen "
    "manana antes despues hasta salvo reembolso devolucion cambio factura tarjeta otro otra "
    "domani prima dopo fino salvo rimborso reso cambio fattura carta altro altra"
)
MISTAKE = _vocabulary(
    "mistake wrong erreur trompe trompee falsch falsche fehler versehen vertan equivoque "
    "equivocado equivocada sbagliato sbagliata sbaglio errore"
)
MAX_UNKNOWN = 10
BOTH = "zboth"
# Elided articles and pronouns that stand alone once an apostrophe is split.
ELIDED = frozenset("lldjscnmtaeyoiuxk")
YES_EMOJI = "👍✅👌✔☑🆗"
SOFT_EMOJI = "🙈😆😂🥰😍🤞💪🙏😊🙂😀😃😄😁☺😉❤♥💙💚🌸👋😅🤗"
ORDER_ID = re.compile(r"\b\d{5,12}-[a-z]\b")
# An item count in a restatement, "(2 x Espresso cups)": the items are read, not the count.
COUNT = re.compile(r"\(([^()\n]{0,120})\)")
COUNT_IN = re.compile(r"\b\d{1,3} ?[x×]\s|\b[x×] ?\d{1,3}\b")
WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def known_words(*texts: str | None) -> frozenset[str]:
    """Words of what was proposed (items, address, the customer's name): naming them is not
    saying something new."""
    words: set[str] = set()
    for text in texts:
        if text:
            words.update(w for w in WORD.findall(fold(text)) if len(w) > 1 or w.isdigit())
    return frozenset(words)


def read_answer(
    text: str,
    order_id: str,
    language: str | None = None,
    known: Iterable[str] = (),
    about: Literal["cancel", "address"] = "cancel",
) -> Answer:
    """The customer's answer to a confirmation question about `order_id`: to cancel it, or to
    deliver it to a new address (`about`)."""
    # An accented "sí" / "sì" is a yes; only the unaccented one may be "if".
    folded = fold(re.sub(r"(?i)\bs[íì]\b", " zyes ", text)).replace("’", "'")
    if "?" in folded or "¿" in folded:
        return "unclear"  # a question, however short, is read by a person
    ids = set(ORDER_ID.findall(folded))
    if ids - {order_id.lower()}:
        return "unclear"  # another order named
    folded = ORDER_ID.sub(" ", folded)
    for emoji in YES_EMOJI:
        folded = folded.replace(emoji, " zyes ")
    for emoji in SOFT_EMOJI:
        folded = folded.replace(emoji, " ")
    folded = folded.replace("\ufe0f", " ")
    for pattern, token in _PHRASES:
        folded = pattern.sub(token, folded)
    folded = COUNT.sub(lambda m: f" {COUNT_IN.sub(' ', m.group(1) + ' ')} ", folded)
    if any(not (c.isalnum() or c.isspace() or c in ".,;:!'-/()\"×¡") for c in folded):
        return "unclear"  # a symbol or an emoji we do not read
    words = [_plain(w, order_id) for w in _without_signature(_words(folded))]
    if not words or len(words) > MAX_WORDS:
        return "unclear"
    known_set = frozenset(known)
    answer = _read(words, folded, known_set, about)
    if answer == "unclear":
        answer = _yes_with_a_reason(folded, order_id, known_set, about)
    return answer


def _read(words: list[str], folded: str, known_set: frozenset[str], about: str) -> Answer:
    """Every word read: a yes, a no, or unclear as soon as one word says something else."""
    other_action = ADDRESS_WORDS if about == "cancel" else CANCEL_WORDS
    yes = no = keep = 0
    negated_action = named_action = reason = False
    for i, word in enumerate(words):
        after = words[i + 1] if i + 1 < len(words) else None
        if word == "ma" and after in ACTION:
            continue  # French "ma commande", not Italian "but"
        if word in CONTRAST or word in other_action:
            return "unclear"  # a condition, a "but", or the other action
        if word == SI:
            if all(w in FILLER or w in YES or w == SI for w in words[:i]) and (
                after is None
                or after == SI
                or after in YES
                or after in ACTION
                or after in POLITE
                or re.search(r"\bsi\s*[,.!]", folded)
            ):
                yes += 1
                continue
            return "unclear"  # "si" as "if"
        if word in YES:
            yes += 1
        elif word in NO:
            no += 1
            if after in ACTION:
                negated_action = True
        elif word in KEEP:
            keep += 1
        elif word in REASON:
            reason = True
        elif word in ACTION:
            named_action = named_action or word in CANCEL_WORDS | ADDRESS_WORDS
        elif word in FILLER or word in known_set:
            continue
        elif word.isdigit() or len(word) == 1:
            # A number or a letter is the proposal's (its address) or an elided article; any
            # other may name another order, an item count, another house number.
            if word not in known_set and word not in ELIDED:
                return "unclear"
        else:
            return "unclear"
    verbs = {w for w in words if w in CANCEL_WORDS and w not in CANCEL_NOUNS}
    if verbs and any(w in CANCEL_NOUNS for w in words):
        return "unclear"  # "cancel the cancellation"
    if reason and not named_action:
        return "unclear"  # "ok my mistake" may as well mean "forget it"
    if yes and not (no or keep):
        return "yes"
    if (no or keep) and not yes and (keep or negated_action or not named_action):
        return "no"
    return "unclear"


def _yes_with_a_reason(folded: str, order_id: str, known_set: frozenset[str], about: str) -> Answer:
    """A clear yes, then why ("Yes please. I found it cheaper in a shop near me", "Oui merci,
    je me suis trompée de taille"): the yes is read whole as above, the reason after it may hold
    words we do not know, as long as it gives a reason (a mistake, a wrong size, a gift already
    received, a move, a better price) and holds nothing that asks, doubts, refuses or counts."""
    clauses = [c for c in re.split(r"[.,;:!\n]+", folded) if c.strip()]
    for cut in range(1, len(clauses)):
        head = [_plain(w, order_id) for w in _words(" ".join(clauses[:cut]))]
        if not head or not any(w in STRONG_YES or w in CANCEL_WORDS | ADDRESS_WORDS for w in head):
            continue
        if _read(head, " ".join(clauses[:cut]), known_set, about) != "yes":
            continue
        tail = [_plain(w, order_id) for w in _without_signature(_words(" ".join(clauses[cut:])))]
        other_action = ADDRESS_WORDS if about == "cancel" else CANCEL_WORDS
        # "Yes, sorry, my mistake" may as well mean "forget it", unless the action is named.
        named = any(w in CANCEL_WORDS | ADDRESS_WORDS for w in head + tail)
        stop = NO | KEEP | CONTRAST | HOLD | other_action
        unknown = [w for w in tail if w not in FILLER | YES | ACTION | known_set | WHY]
        if (
            any(w in stop for w in tail)
            or any((w.isdigit() or len(w) == 1) and w not in known_set | ELIDED for w in tail)
            or not any(w in WHY and (w not in MISTAKE or named) for w in tail)
            or len(unknown) > MAX_UNKNOWN
            or len(tail) > MAX_WORDS
        ):
            return "unclear"
        return "yes"
    return "unclear"


def _plain(word: str, order_id: str) -> str:
    """A word as the vocabularies spell it: "yesss", "ouiii", "jaaa" are "yes", "oui", "ja";
    the proposed order's number written without its dash is the order."""
    if word == fold(order_id).replace("-", ""):
        return "order"
    if word in YES or word in FILLER or word in ACTION or word in NO or word in KEEP:
        return word
    squeezed = re.sub(r"(\w)\1+$", r"\1", word)  # a letter held at the end
    for candidate in (squeezed, re.sub(r"(\w)\1+$", r"\1\1", word)):
        if candidate in YES or candidate == SI:
            return candidate
    return word


def _words(folded: str) -> list[str]:
    out: list[str] = []
    for raw in WORD.findall(folded):
        # Elisions: l'annulation, j'ai, c'est, d'accord (already a phrase), s'il.
        if "'" in raw and raw not in FILLER | NO | YES:
            head, tail = raw.split("'", 1)
            out.extend([head, tail])
        else:
            out.append(raw)
    return out


def _without_signature(words: list[str]) -> list[str]:
    """A sign-off and up to three name-like words after it are not part of the answer; words
    after it that say something (a no, a "but", an action) are kept and read."""
    said = YES | NO | KEEP | CONTRAST | ACTION | REASON | {SI}
    for i in range(len(words) - 1, -1, -1):
        tail = words[i + 1 :]
        if words[i] in SIGN_OFF and len(tail) <= 3 and not any(w in said for w in tail):
            return words[: i + 1]
    return words
