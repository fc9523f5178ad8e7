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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from graph.classify.explicit import fold
from store.ids import ORDER_ID_IN_TEXT

# yes_unsure: a yes first, then words the reader does not know and nothing that says otherwise
# ("yes ta", "ja, das isch korrekt", "yes! my sister already got him one"): not enough to act on,
# enough to ask once more, in plain words, for a bare yes.
Answer = Literal["yes", "no", "unclear", "yes_unsure"]


def _vocabulary(words: str) -> frozenset[str]:
    return frozenset(words.split())


MAX_WORDS = 30  # longer answers are read by a person

# Several words that mean one thing, matched before the words are split (folded text).
PHRASES: dict[str, str] = {
    # The order, or the address, "is fine" / "ist in Ordnung": it may as well mean "leave it".
    r"\b(?:alles in ordnung|tout (?:est|va) (?:ok|bien|bon)|todo (?:esta )?bien|tutto (?:ok|bene"
    r"|a posto)|(?:ok|d'accord|bien) pour la commande)\b": " zhuh ",
    r"\b(?:order|commande|bestellung|pedido|ordine)\b[^,.;!\n]{0,12}\b(?:is|est|ist|esta|e|va"
    r"|passt)\b": " zhuh ",
    # The address read back "is correct" confirms it; "is fine" may mean the old one is.
    r"\b(?<!new )(?<!neue )(?<!nueva )(?<!nuova )(?<!nouvelle )(?:address|adresse|direccion"
    r"|indirizzo)\b[^,.;!\n]{0,12}\b(?:(?:is|est|ist|esta|e|va) (?:fine|ok|okay|good|gut|in ordnung"
    r"|bien|bon|bene|buena|zyes)|passt)\b": " zhuh ",
    # It has arrived; all of the orders: a person reads it.
    r"\b(?:it'?s|it is) (?:here|there|arrived)\b|\best arrivee?\b|\bist (?:schon )?da\b"
    r"|\bya (?:llego|ha llegado)\b|\be (?:gia )?arrivat[oa]\b": " zhuh ",
    r"\b(?:all of them|all my orders|toutes mes commandes|alle (?:meine )?bestellungen"
    r"|todos mis pedidos|tutti i miei ordini)\b": " zhuh ",
    # "Fine as it is" may as well mean "leave it": a person reads it.
    r"\basi esta bien\b": " zhuh ", r"\bpasst schon\b": " zhuh ", r"\bva bene cosi\b": " zhuh ",
    r"\bgood morning\b": " ", r"\bdanke schon\b": " danke ",
    # As soon as possible: urgency, not a condition.
    r"\b(?:as soon as possible|le plus (?:vite|rapidement) possible|au plus vite|(?:so )?"
    r"schnell wie moglich|(?:lo )?antes posible|cuanto antes(?: mejor)?|(?:il )?prima possibile"
    r"|al piu presto)\b": " ",
    # Both items, when two were proposed (graph/nodes/confirmation.py knows how many).
    r"\b(?:both|les deux|beides?|los dos|las dos|ambos|ambas|tutti e due|tutte e due|entrambi"
    r"|entrambe)\b": " zboth ",
    # Pointing at the address read back.
    r"\b(?:that'?s the one|c'est (?:bien )?(?:celle-la|celle la|ca)|das ist sie)\b": " zyes ",
    r"\b(zyes|si)\W+(?:esa es|e quella)\b": r" \1 zyes ",
    r"\bguten morgen\b": " ",
    r"\b(?:ist|is|est|es|e) (?:komplett|complete|complet|completo)\b": " zhuh ",
    # A reason that supports the request, whole: the wrong size, a move.
    r"\b(?:i )?(?:bought|ordered|picked|got) the wrong (?:size|colou?r|model)\b": " zreason ",
    r"\bwrong (?:size|colou?r)\b": " zreason ",
    r"\b(?:je me suis )?trompee? de (?:taille|couleur|modele)\b": " zreason ",
    r"\b(?:mauvaise|erreur de) (?:taille|couleur)\b": " zreason ",
    r"\b(?:ich )?hab(?:e)? (?:die )?falsche (?:grosse|farbe) bestellt\b": " zreason ",
    r"\bfalsche (?:grosse|farbe)\b": " zreason ",
    r"\b(?:me )?equivoque de (?:talla|color|modelo)\b": " zreason ",
    r"\b(?:talla|color) equivocad[oa]\b": " zreason ",
    r"\b(?:ho )?sbagliato (?:taglia|colore|modello)\b": " zreason ",
    r"\b(?:taglia|colore) sbagliat[oa]\b": " zreason ",
    r"\b(?:order|buy|commander|acheter|bestellen|kaufen|pedir|comprar|ordinare|comprare)\b"
    r"[^,.;!\n]{0,12}\b(?:again|de nouveau|a nouveau|nochmal|neu|otra vez|di nuovo)\b": " zhuh ",
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
    r"\b(?:sent from my|envoye de mon|(?:gesendet )?von meinem|enviado desde mi"
    r"|inviato da(?: mio)?) "
    r"(?:iphone|ipad|android|samsung|smartphone|mobile|telephone|handy|movil|cellulare)"
    r"(?: galaxy| pixel)?(?: gesendet)?\b": " ",
    r"\bgesendet von meinem (?:iphone|ipad|android|samsung|smartphone|handy)\b": " ",
    r"\bbrauche ich (?:es |sie |ihn |das )?nicht mehr\b": " zneed ",
    r"\bsin querer\b": " ", r"\bdos veces\b": " ",
    r"\b(?:ordered|bought) (?:it |them )?(?:twice )?by mistake\b": " zreason ",
    r"\b(?:commande|achete)e?s? (?:deux fois )?par erreur\b": " zreason ",
    r"\b(?:aus versehen|versehentlich) (?:doppelt )?bestellt\b": " zreason ",
    r"\bpedi(?:do)? (?:dos veces )?por error\b": " zreason ",
    r"\b(?:li |l'ho |l'avevo |li avevo )?ordinat[oaie] (?:due volte )?per sbaglio\b": " zreason ",
    r"\b(?:i )?(?:found (?:it|them) )?cheaper (?:elsewhere|locally|in a shop|in store"
    r"|online)\b": " zreason ",
    r"\b(?:trouve )?moins cher ailleurs\b": " zreason ",
    r"\bwoanders (?:gunstiger|billiger)(?: gefunden)?\b": " zreason ",
    r"\b(?:lo |la )?(?:encontre )?mas barat[oa] en otr[oa] (?:lado|sitio|tienda|parte)\b":
        " zreason ",
    r"\b(?:l'ho )?trovat[oa] a meno (?:altrove|in negozio|da un'altra parte)\b": " zreason ",
    # A move, a gift: why a parcel should go elsewhere, or an order is not needed.
    r"\bi(?:'ve| have)? (?:just |recently )?moved(?: house)?(?: last week| recently)?\b":
        " zreason ",
    r"\bj'ai (?:recemment )?demenage(?: la semaine derniere| recemment)?\b": " zreason ",
    r"\b(?:ich )?bin (?:gerade |kurzlich |vor kurzem )?umgezogen\b": " zreason ",
    r"\bme (?:he mudado|mude)\b": " zreason ",
    r"\bmi sono (?:appena )?trasferit[oa]\b": " zreason ",
    r"\b(?:it'?s|it is|c'est|es ist|es|e) (?:a |un |ein |una )?(?:birthday )?(?:gift|present|cadeau"
    r"|geschenk|regalo)\b": " zreason ",
    # Thanks for the help, however phrased.
    r"\bfor being so (?:quick|fast|helpful|kind)\b": " ",
    r"\b(?:your |votre |su |vostra |ihre )(?:attention|atencion|attenzione|aufmerksamkeit|"
    r"comprehension|comprension|comprensione|verstandnis|understanding|patience|paciencia|pazienza|"
    r"geduld)\b": " ",
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
    r"\b(?:i )?still want (?:it|them|the order|everything)\b": " zkeep ",
    r"\b(?:je )?(?:la |le |les )?veux toujours\b": " zkeep ",
    r"\b(?:ich )?(?:will|mochte) (?:sie|es|ihn|die \w+) (?:doch|noch|behalten)\b": " zkeep ",
    r"\b(?:si )?(?:lo |la |los |las )?quiero todo\b": " zkeep ",
    r"\bno thanks?\b": " zno ", r"\bno thank you\b": " zno ", r"\bnon merci\b": " zno ",
    r"\bnein danke\b": " zno ", r"\bno gracias\b": " zno ", r"\bno grazie\b": " zno ",
    r"\blascia(?:te)? (?:stare|perdere)\b": " zkeep ", r"\bchanged my mind\b": " zkeep ",
    r"\bchange d'avis\b": " zkeep ", r"\bchange d avis\b": " zkeep ",
    r"\bcambiado de (?:idea|opinion)\b": " zkeep ", r"\bcambiato idea\b": " zkeep ",
    r"\banders uberlegt\b": " zkeep ", r"\banders ueberlegt\b": " zkeep ",
    # After the keeping phrases ("leave it as is"): what is fine as it is, or sent by the customer.
    r"\b(?:as is|like (?:that|this)|comme ca|so wie es ist|(?:passt|ok|ist gut) so)\b": " zhuh ",
    # The customer will send something (another address, a photo): a person reads it.
    r"\b(?:i'?ll|i will) (?:send|reply|write|get back|email|forward|call|tell)\b": " zhuh ",
    r"\b(?:je vous (?:envoie|enverrai)|(?:les|le) envio|vi (?:mando|invio)"
    r"|ich (?:schicke|sende))\b": " zhuh ",
    # "to my address", "à la bonne adresse": which one is not said ("it's my address" is).
    r"\b(?:to|a|an|al|at) (?:my|mon|ma|meine|mi|mio|la bonne|the right|the correct|la correcta"
    r"|die richtige|l'|il mio) ?(?:address|adresse|direccion|indirizzo)\b": " zhuh ",
}  # fmt: skip
_PHRASES = [(re.compile(p), t) for p, t in PHRASES.items()]

YES = _vocabulary(
    "yes yeah yep yup ok okay oki okey k kk sure confirm confirmed confirming correct "
    "absolutely definitely exactly agreed agree perfect fine "
    "oui ouais ouaip confirme confirmee confirmer parfait exact exacte exactement correct correcte "
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
    "nunca nada niente nessun nessuna n' zno"
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
    "plait s'il s il vous beaucoup bcp bitte danke dank vielen sehr gracias por favor "
    "muchas mil grazie mille prego per favore cortesia tante hello hi hey dear bonjour salut "
    "bonsoir hallo guten tag abend moin servus hola buenos buenas dias tardes noches "
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
    "mache machen quiero quisiera voglio vorrei ca ll i'll i'd habe hab mir he ho hai "
    "finalement finally schliesslich finalmente alla fine pure bitteschon "
    "  bye ciao tschuss adieu "
    # reasons and places that do not change what is asked
    " like asap mistake mistaken error erreur fehler versehen versehentlich equivocacion "
    "errore sbaglio ordered bestellt pedi ordinato twice doppelt veces volte fois by there bas "
    "dort alli li aus "
    # apologies, urgency, reasons, thanks for help, titles and salutations seen in answers
    " sorry sry trouble hassle inconvenience apologies apologize apologise desole desolee "
    "derangement dsl excuse excusez entschuldigung entschuldigen umstande perdon perdona "
    "perdone molestias disculpe disculpas scusate scusa scusi disturbo urgent urgente "
    "dringend eilt eilig rapidement vite schnell schnelle subito quickly quick "
    "moved demenage umgezogen bin mudado trasferito "
    "sono help aide hilfe ayuda aiuto reactivite antwort respuesta risposta reponse answer "
    "reply seller vendeur verkaufer vendedor venditore spett geehrte damen herren estimados "
    "senores senoras dr mr mrs ms mme sig sra sr noch schonen porfa porfavor perfavore x "
    "avance voraus antemano con les hiermit an nach in en at on au delle dello degli "
    "bon buono pour moi ok jconfirme c'est quel tout good nice ok sip cancelad cancela "
    "annulla annullalo "
    " of them as requested ve  par trouve alles im meiner freundliche viele  "
    "querer dell  cheers bises "
    " finalement al final surtout "
    "mejor "
    "meglio fine so prompt mate tio aufwand million deseo presente cette would dai vas gott am "
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
    "vergiss vergessen olvidenlo olvidalo olvidelo dimentica dimenticate bloss just juste "
    "soltanto unicamente"
)
SIGN_OFF = _vocabulary(
    "regards cordialement saludos saluti grusse gruss lg mfg vg atentamente cordiali thanks "
    "merci danke gracias grazie best cheers bises"
)
# Reasons: they support a request that names its action; alone ("ok my mistake") they may as
# well mean "forget it".
REASON = _vocabulary(
    "confusion vertan trompe trompee equivoque equivoco sbagliato sbagliata "
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
# Shipping it: the other action to a cancellation (and, to an address question, not a yes).
SHIP = _vocabulary("verschicken versenden ship shipping expedier expediez")
# In an answer read past its unknown words (`yes_unsure`), these still send it to a person:
# another request or document, not minding either way, a delay, somewhere else, a street, a
# colour or a size (another address or item), a parcel already there, a bank dispute.
MORE = _vocabulary(
    "also aussi auch anche tambien ademas inoltre zusatzlich add ajoutez ajouter anadan anadir "
    "aggiungete aggiungere hinzufugen refund rembourser remboursez remboursement erstatten "
    "erstattung reembolso reembolsar rimborso rimborsare account konto compte cuenta conto iban "
    "invoice facture rechnung factura fattura receipt "
    "whatever egal importe igual another autre andere anderen otro otra altro altra right "
    "check checking think thinking reflechis reflechir reflechirai reflechisse uberlege "
    "ueberlege pienso pensare penso later tard spater despues dopo soon bientot bald pronto "
    "presto tomorrow demain morgen manana domani morning matin tonight soir week semaine woche "
    "semana settimana moment let wait "
    "elsewhere ailleurs anderswo woanders altrove street st road rd avenue av rue strasse str "
    "calle via viale piazza platz weg allee chemin boulevard bd lane drive place "
    "blue bleu blau azul blu red rouge rot rojo rosso black noir schwarz negro nero white blanc "
    "weiss blanco bianco green vert grun verde size taille grosse talla taglia xs xl xxl "
    "exchange echange umtausch "
    "received recu recue erhalten recibido ricevuto arrived arrive arrivee ai "
    "chargeback dispute litige bank banque paypal reorder "
    "other rest resto reste else too previous orders commandes bestellungen pedidos ordini "
    "first second premier deuxieme erste zweite primero segundo primo secondo two deux zwei dos "
    "due different apartment apt flat floor etage appartement wohnung stock piso planta nombre "
    "name nom ignore withdraw withdrawn retract reconsider reconsidered scratch didnt doesnt "
    "isnt wasnt wont cant havent call phone email contact appel appelez anrufen llamar chiamare "
    "nao nej ikke inte nu geen niet "
    "zhuh zboth"
)
LEAD = 2  # a yes asked again opens the answer: within its first words ("bai, sí, correcto")
BOTH = "zboth"
STOP = "zstop"
VERBS = CANCEL_WORDS | ADDRESS_WORDS
WANT = _vocabulary(
    "want wants wanted like veux veut voudrais voulons souhaite souhaiterais will would mochte "
    "mochten quiero quisiera queremos voglio vorrei vogliamo deseo"
)
WHOLE = _vocabulary(
    "whole entire all everything both zboth toute tout tous entiere alles ganze gesamte komplett "
    "todo todos completo tutto tutti intero"
)
# "Thanks. Tomorrow": a new sentence after thanks, not a name under a signature.
SENTENCE_AFTER_THANKS = re.compile(
    r"\b(" + "|".join(sorted(SIGN_OFF, key=len, reverse=True)) + r")\s*[.!;:]+(?=\s*[a-z])"
)
# "One" (a count, not an article) when nothing follows it, or an action, or "of".
ONE = _vocabulary("one un une uno una ein eine einen eins")
OF = _vocabulary("of de di von der des del dei degli delle them")
# "I don't want it" to "shall we cancel?": a no to the order, not to the question.
NEGATED_WANT = re.compile(
    r"\b(?:don'?t|do not|not|ne|n'|pas|nicht|no|non)\b[^\w,.;!\n]+(?:\w+[^\w,.;!\n]+){0,2}?"
    r"(?:want|veux|voulons|will|mochte|quiero|queremos|voglio|vogliamo)\b"
    r"|\b(?:want|veux|will|mochte|quiero|voglio)\b[^\w,.;!\n]+(?:\w+[^\w,.;!\n]+){0,2}?"
    r"(?:not|pas|nicht|no|non)\b"
)
CLAUSE = re.compile(r"[,.;!\n]+(?![^()]*\))")
_ACTS = "|".join(sorted((CANCEL_WORDS | ADDRESS_WORDS) - {"zneed"}, key=len, reverse=True))
# "pas d'annulation", "laissez tomber l'annulation", "die Stornierung hat sich erledigt".
NEGATED_ACTION = re.compile(
    rf"\b(?:no|not|don'?t|ne|pas|nicht|non|nunca|jamais|kein|keine|zkeep)\b[^,.;!\n]{{0,12}}?"
    rf"\b(?:{_ACTS})\b|\b(?:{_ACTS})\b[^,.;!\n]{{0,16}}?\bzkeep\b"
)
# A negated keeping ("je ne la garde pas", "not to the old address"): a no to a no.
NEGATED_KEEP = re.compile(
    r"\b(?:don'?t|do not|not|ne|n'|pas|nicht|no|non|nie|nunca)\b[^,.;!\n]{0,16}\b(?:keep|keeping|"
    r"garde|garder|gardons|behalte|behalten|quedo|quedarme|tengo|tenerlo|conservo|mantengo|"
    r"tengo|zkeep)\b|\b(?:keep|garde|behalte|behalt|quedo|tengo|conservo)\b[^,.;!\n]{0,16}"
    r"\b(?:not|pas|nicht|no|non)\b"
)
# Elided articles and pronouns that stand alone once an apostrophe is split.
ELIDED = frozenset("aeiyuk")  # à, e (it. and), i, y (es. and), u (you), k (ok); not S, M, L, o
YES_EMOJI = "👍✅👌✔☑🆗"
SOFT_EMOJI = "🙈🥰😍🤞💪🙏😊🙂😀😃😄😁☺😉❤♥💙💚🌸👋😅🤗"
ORDER_ID = re.compile(ORDER_ID_IN_TEXT.pattern, re.IGNORECASE)  # in folded (lowercase) text
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
    items: Sequence[Iterable[str]] = (),
) -> Answer:
    """The customer's answer to a confirmation question about `order_id`: to cancel it, or to
    deliver it to a new address (`about`). `items` are the words of each proposed item: naming
    some of them and not the others asks for part of the order."""
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
    folded = SENTENCE_AFTER_THANKS.sub(r"\1 zstop ", folded)
    folded = COUNT.sub(lambda m: f" {COUNT_IN.sub(' ', m.group(1) + ' ')} ", folded)
    if any(not (c.isalnum() or c.isspace() or c in ".,;:!'-/()\"×¡") for c in folded):
        return "unclear"  # a symbol or an emoji we do not read
    written = _words(folded)
    if len(written) > MAX_WORDS + 3:  # too long even without a signature's 3 names: a person
        return "unclear"
    names = set(_words(fold(" ".join(re.findall(r"\b[A-ZÀ-Ý][\w'.-]*", text))))) | set(known)
    words = [_plain(w, order_id) for w in _without_signature(written, names)]
    if not words or len(words) > MAX_WORDS:
        return "unclear"
    known_set = frozenset(known)
    if NEGATED_KEEP.search(folded) or NEGATED_WANT.search(folded):
        # "I'm not keeping it", "not to the old address", "I don't want it": a no to a no
        return "unclear"
    if len(items) > 1 and sum(bool(_item_words(c, items)) for c in CLAUSE.split(folded)) > 1:
        return "unclear"  # "cancel the mug, the plate is fine": each item said apart
    if words in (["y"], ["ya"], ["yea"], ["yeh"], ["yah"]):
        return "yes_unsure"  # a yes, or Spanish "already": asked again
    answer = _read(words, folded, known_set, about, items)
    if answer == "unclear" and _read(words, folded, known_set, about, items, unknown=True) == "yes":
        return "yes_unsure"
    return answer


@dataclass
class _Tally:
    """What the words of an answer said so far, as they are read one by one."""

    yes: int = 0
    no: int = 0
    keep: int = 0
    unread: int = 0  # words not known, passed over (reading with `unknown`)
    named_action: bool = False  # the answer says the action: "cancel", "annuler", "adresse"
    reason: bool = False
    wanting: bool = False  # "I want", not followed by the action


def _read(
    words: list[str],
    folded: str,
    known_set: frozenset[str],
    about: str,
    items: Sequence[Iterable[str]] = (),
    unknown: bool = False,
) -> Answer:
    """Every word read: a yes, a no, or unclear as soon as one word says something else. With
    `unknown`, words the reader does not know are passed over once a yes was said before them
    (every other rule still holds): the answer may be a yes, to be asked again."""
    if _names_part_of(words, items):
        return "unclear"  # "yes, cancel the mug" when a mug and a plate were proposed
    other_action = ADDRESS_WORDS | SHIP if about == "cancel" else CANCEL_WORDS
    said = _Tally()
    for i, word in enumerate(words):
        if unknown and said.unread and not said.yes and i >= LEAD:
            return "unclear"  # words not known, and no yes where the answer opens
        after = words[i + 1] if i + 1 < len(words) else None
        if word == "ma" and after in ACTION:
            continue  # French "ma commande", not Italian "but"
        if (
            word in CONTRAST
            or word in other_action
            or (unknown and word in MORE and word not in known_set)
        ):
            return "unclear"  # a condition, a "but", the other action (or more, read past)
        before = words[i - 1] if i else None
        if word in ONE and (
            after is None or after in ACTION or after in POLITE or after in OF
            or before in VERBS or before == "en"
        ):  # fmt: skip
            return "unclear"  # "annulez-en une", "cancelen uno", "eine stornieren": a count
        if word in WANT and not any(w in VERBS for w in words[i + 1 : i + 4]):
            said.wanting = True  # "I want my order" is not "I want to cancel it"
        if word == SI:
            if not _si_is_yes(words, i, folded):
                return "unclear"  # "si" as "if"
            said.yes += 1
        elif not _read_word(word, i, said, known_set, unknown):
            return "unclear"
    return _verdict(words, folded, said)


def _si_is_yes(words: list[str], i: int, folded: str) -> bool:
    """ "si" opening the answer, alone or before a yes, the action or a "please", is a yes; any
    other is "if"."""
    after = words[i + 1] if i + 1 < len(words) else None
    return all(w in FILLER or w in YES or w == SI for w in words[:i]) and (
        after is None
        or after == SI
        or after in YES
        or after in ACTION
        or after in POLITE
        or re.search(r"\bsi\s*[,.!]", folded) is not None
    )


def _read_word(word: str, i: int, said: _Tally, known_set: frozenset[str], unknown: bool) -> bool:
    """One word read into `said`; False when it says something the reader cannot take as part
    of a yes or a no."""
    if word in YES:
        said.yes += 1
    elif word in NO:
        said.no += 1
    elif word in KEEP:
        said.keep += 1
    elif word in REASON:
        said.reason = True
    elif word in ACTION:
        said.named_action = said.named_action or word in CANCEL_WORDS | ADDRESS_WORDS
    elif word in FILLER or word in known_set:
        pass
    elif word.isdigit() or len(word) == 1:
        # Not the proposal's (its address, read above): an elided article, or it may name
        # another order, an item count, another house number.
        return word in ELIDED
    elif word == STOP or (word.endswith("'") and len(word) <= 3):
        pass  # l', d', j', qu': an elided article or pronoun
    elif unknown and (said.yes or i < LEAD) and word.isalpha() and len(word) > 1:
        said.unread += 1  # a word not known, after a yes or before one that opens the answer
    else:
        return False
    return True


def _verdict(words: list[str], folded: str, said: _Tally) -> Answer:
    """The answer once every word was read and none said something else."""
    verbs = {w for w in words if w in CANCEL_WORDS and w not in CANCEL_NOUNS}
    if verbs and any(w in CANCEL_NOUNS for w in words):
        return "unclear"  # "cancel the cancellation"
    if said.reason and not said.named_action:
        return "unclear"  # "ok my mistake" may as well mean "forget it"
    if said.reason and any(w in CANCEL_NOUNS for w in words):
        return "unclear"  # "the cancellation was a mistake" takes it back
    negated_action = bool(NEGATED_ACTION.search(folded))
    refused = said.no or said.keep
    if said.no and any(w in WHOLE for w in words):
        return "unclear"  # "no, the whole order": a correction, not a refusal
    if refused and said.named_action and not negated_action:
        return "unclear"  # "never mind, cancel it", "no I don't need it anymore"
    if said.yes and not refused:
        return "unclear" if said.wanting else "yes"
    if refused and not said.yes and (said.keep or negated_action or not said.named_action):
        return "no"
    return "unclear"


def _item_words(clause: str, items: Sequence[Iterable[str]]) -> set[str]:
    said = set(_words(clause))
    return {w for item in items for w in item if w in said and not w.isdigit()}


def _names_part_of(words: list[str], items: Sequence[Iterable[str]]) -> bool:
    """Whether the answer names one proposed item by its own words and leaves another out."""
    sets = [frozenset(i) for i in items]
    if len(sets) < 2:
        return False
    said = set(words)
    own = [item - frozenset().union(*(o for o in sets if o is not item)) for item in sets]
    named = [bool(o & said) for o in own]
    return any(named) and not all(named)


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
            out.extend([f"{head}'" if len(head) <= 2 else head, tail])
        else:
            out.append(raw)
    return out


def _without_signature(words: list[str], names: set[str]) -> list[str]:
    """A sign-off and up to three names after it (capitalised as written, or the customer's)
    are not part of the answer; "thanks, let me check" is not a signature and is read."""
    said = YES | NO | KEEP | CONTRAST | ACTION | REASON | {SI, STOP}
    for i in range(len(words) - 1, max(len(words) - 5, -1), -1):  # at most 3 words after it
        tail = words[i + 1 :]
        if (
            words[i] in SIGN_OFF
            and len(tail) <= 3
            and not any(w in said for w in tail)
            and all(w in names or len(w) == 1 for w in tail)
        ):
            return words[: i + 1]
    return words
