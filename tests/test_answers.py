"""The reader of a customer's answer to "reply YES to confirm" (graph/classify/answers.py).

Written here, apart from the held-out answers of `evals/data/confirm_answers_heldout.jsonl`
(which `csagent eval actions` reads and nobody tunes on): a yes is a yes only when nothing else
is said; a no is short; everything else goes to a person."""

from __future__ import annotations

import json

import pytest

from graph.classify.answers import known_words, read_answer

YES = {
    "en": ["Yes, I'd like to cancel it", "Yes thats right", "Yes please do it asap",
           "Yes please cancel it, I don't need it anymore", "Yes, I ordered it by mistake",
           "Yes thank u", "Yes", "yes please", "Yes, please cancel it.", "YES", "Yes I confirm",
           "yes go ahead thanks", "Hi, yes please cancel order 20481-A. Thanks, John", "ok 👍",
           "Sure, thank you!", "Yes, that's correct.", "yep", "Confirmed.",
           "Yes please, thank you very much. Kind regards, Tom Baker",
           "Yes cancel the whole order", "I confirm the cancellation", "yes, I want to cancel",
           "Please go ahead and cancel"],
    "fr": ["Oui, je souhaite annuler ma commande", "oui oui",
           "Oui, merci de procéder à l'annulation", "Oui je n'en ai plus besoin",
           "Oui", "oui merci", "Oui, je confirme.",
           "Bonjour, oui je confirme l'annulation. Cordialement, Marie D.", "oui svp",
           "Oui annulez la commande svp", "d'accord merci", "Je confirme", "oui c'est bien ça",
           "Oui, vous pouvez annuler", "parfait merci",
           "oui allez-y"],
    "de": ["Ja klar", "Ja, ich möchte stornieren", "Ja bitte, ich brauche sie nicht mehr",
           "Jawohl, bitte so machen", "Ja, aus Versehen bestellt", "Ja", "ja bitte", "Ja, stornieren bitte.", "Ja, ich bestätige.",
           "Hallo, ja bitte stornieren Sie die Bestellung. Danke, Klaus", "Einverstanden",
           "Ja, das ist richtig", "Ja bitte, vielen Dank! Mit freundlichen Grüßen, Petra Schulz",
           "Ja, genau", "Ich bestätige die Stornierung", "ja mach das"],
    "es": ["Sí, por favor, cancélenlo", "Sí, así es", "Sí, ya no lo necesito",
           "Sí, lo pedí por error", "Sí", "si por favor", "Sí, confirmo.",
           "Hola, sí, cancelen el pedido por favor. Gracias", "Confirmo la cancelación",
           "vale gracias", "De acuerdo", "Sí, es correcto", "si, cancelenlo", "Sí, adelante",
           "Sí, quiero cancelarlo"],
    "it": ["Sì, annullatelo pure", "Sì, certo, proceda", "Sì sì", "Confermo, grazie",
           "Sì, non mi serve più", "Sì, ordinato per sbaglio", "Sì", "si grazie", "Sì, confermo.",
           "Buongiorno, sì confermo l'annullamento. Cordiali saluti, Marco", "Confermo",
           "va bene grazie", "Sì, procedete pure", "Sì, è corretto",
           "sì per favore annullate l'ordine", "Certo", "Sì, voglio annullarlo"],
}  # fmt: skip
NO = {
    "en": ["No", "no thanks", "No, please don't cancel", "Do not cancel, I'll keep it",
           "No, I changed my mind", "nope, keep the order"],
    "fr": ["Non", "non merci", "Non, ne pas annuler", "Non finalement je la garde",
           "Non, j'ai changé d'avis"],
    "de": ["Nein", "nein danke", "Nein, nicht stornieren bitte", "Nein, ich behalte sie",
           "Nein, ich habe es mir anders überlegt"],
    "es": ["No", "no gracias", "No, no cancelen", "No, me lo quedo", "No, he cambiado de idea"],
    "it": ["No", "no grazie", "No, non annullate", "No, lo tengo", "No, ho cambiato idea"],
}  # fmt: skip
UNCLEAR = {
    "en": ["yes but only the cable", "Yes, provided the refund includes shipping", "yes?", "what do you mean",
           "Yes... actually no", "hmm not sure", "yes cancel 99999-B", "I never asked for that",
           "Yes, but please change the address instead", "ok wait let me check",
           "No, please cancel", "Yes 🤔", "yes, and also send me the invoice"],
    "fr": ["oui mais je serai remboursé quand ?", "Oui si vous remboursez les frais",
           "je ne sais pas", "non oui", "Attendez", "Si vous pouvez", "si possible"],
    "de": ["Ja, aber nur den Artikel", "Ja wenn ich das Geld zurückbekomme", "Vielleicht",
           "Wie bitte?"],
    "es": ["Sí pero quiero otra talla", "no sé", "Sí, si me devuelven el dinero"],
    "it": ["Sì ma solo il cavo", "forse", "Sì se mi rimborsate"],
}  # fmt: skip
ADDRESS_YES = [
    ("en", "yes, please change the address"),
    ("en", "yes deliver it there please"),
    ("fr", "oui pour la nouvelle adresse"),
    ("fr", "Oui, livrez-la là-bas svp"),
    ("de", "Ja, bitte ändern"),
    ("es", "Sí, la nueva dirección es correcta"),
    ("it", "si confermo il nuovo indirizzo"),
]
# Found by a review of the reader: each of these was once read as a yes.
NOT_A_YES_TO_CANCEL = [
    "yes thanks, don't cancel",
    "oui merci, ne pas annuler",
    "ja danke, nicht stornieren",
    "sí gracias, no cancelen",
    "sì grazie, non annullare",
    "yes thanks but no",
    "ok thanks, stop",
    "oui merci laissez tomber",
    "ja danke, hat sich erledigt",
    "sí gracias, olvídenlo",
    "yes thanks changed my mind",
    "oui merci je la garde",
    "yes cancel, thanks jk",
    "Yes\n\nThanks\nDon't cancel",
    "yes send it",
    "ja liefern",
    "sì, ma spedite",
    "yes cancel the new order",
    "oui gardez la commande",
    "va bene così",
    "passt schon",
    "oui, livrez ailleurs",
    "sí, la otra",
    "oui annulez les deux",
    "ok my mistake",
    "ok found it",
    "yeah right",
    "tout",
    "thats all",
    "ya",
    "c'est bon merci",
    "yes cancel order 99999",
    "yes 20481 B",
    "yes B",
    "yes cancel 1 of them",
    "oui annulez 1 article",
    "yes cancel all my orders",
    "yes cancel the cancellation",
]
NOT_A_YES_TO_THE_ADDRESS = [
    "yes cancel the change",
    "oui annulez la modification",
    "ja, die Änderung stornieren",
    "sí, cancelen el cambio",
    "ok i don't need it anymore",
    "yes 14 rue de la Paix",
    "oui, au 14",
    "oui 75011",
]
NAMES = known_words("John", "Tom Baker", "Marie", "Klaus", "Petra Schulz", "Marco")


def cases(table: dict[str, list[str]], label: str) -> list[tuple[str, str, str]]:
    return [(lang, text, label) for lang, texts in table.items() for text in texts]


@pytest.mark.parametrize(
    ("lang", "text", "expected"), cases(YES, "yes") + cases(NO, "no") + cases(UNCLEAR, "unclear")
)
def test_an_answer_is_read_as_the_customer_meant_it(lang: str, text: str, expected: str) -> None:
    assert read_answer(text, "20481-A", lang, NAMES) == expected
    # The thread's language may be another (a short answer says little of its own).
    assert read_answer(text, "20481-A", "fr" if lang != "fr" else "en", NAMES) == expected


@pytest.mark.parametrize(("lang", "text"), ADDRESS_YES)
def test_a_yes_to_the_new_address(lang: str, text: str) -> None:
    assert read_answer(text, "20481-A", lang, NAMES, "address") == "yes"
    assert read_answer(text, "20481-A", lang, NAMES, "cancel") == "unclear"  # not what was asked


@pytest.mark.parametrize("text", NOT_A_YES_TO_CANCEL)
def test_a_refusal_a_doubt_or_another_action_is_never_a_yes_to_cancel(text: str) -> None:
    for lang in ("en", "fr", "de", "es", "it"):
        assert read_answer(text, "20481-A", lang, known_words("Wireless headphones")) != "yes"


@pytest.mark.parametrize("text", NOT_A_YES_TO_THE_ADDRESS)
def test_cancelling_or_another_house_is_never_a_yes_to_the_address(text: str) -> None:
    known = known_words("12 rue de la Paix, 75002 Paris")
    assert read_answer(text, "20481-A", "fr", known, "address") != "yes"


def test_what_was_proposed_may_be_named_in_a_yes() -> None:
    known = known_words("Wireless headphones", "12 rue des Lilas, 69003 Lyon, France")
    said = "Yes, cancel the wireless headphones please"
    assert read_answer(said, "20481-A", "en", known) == "yes"
    # Not what was proposed: never a yes; asked again, with what was proposed, for a plain yes.
    assert read_answer(said, "20481-A", "en") == "yes_unsure"
    assert read_answer("Oui, 12 rue des Lilas à Lyon", "20481-A", "fr", known, "address") == "yes"
    # Another house number is another address: a person reads it.
    assert read_answer("Oui, 14 rue des Lilas", "20481-A", "fr", known, "address") == "unclear"
    assert (
        read_answer("Oui mais au 12 rue des Lilas", "20481-A", "fr", known, "address") == "unclear"
    )


def test_the_held_out_answers_were_written_apart_and_never_taken_for_a_yes_wrongly() -> None:
    from evals.actions import ANSWERS

    rows = [json.loads(line) for line in ANSWERS.read_text(encoding="utf-8").splitlines()]
    assert {r["lang"] for r in rows} == {"en", "fr", "de", "es", "it"}
    mine = {t.casefold() for table in (YES, NO, UNCLEAR) for texts in table.values() for t in texts}
    overlap = [r["text"] for r in rows if r["text"].casefold() in mine]
    # Bare one-word answers ("Oui", "No") are everyone's; nothing longer is shared.
    assert all(len(t.split()) <= 2 for t in overlap), overlap
    known = known_words("Wireless headphones", "12 rue des Lilas, 69003 Lyon, France")
    wrong = [r["text"] for r in rows
             if r["answer"] != "yes"
             and read_answer(r["text"], "20481-A", r["lang"], known, r.get("about", "cancel")) == "yes"]  # fmt: skip
    assert wrong == []


def test_on_the_development_answers_no_refusal_or_doubt_is_a_yes() -> None:
    """`evals/data/confirm_answers_dev.jsonl`: 300 answers written apart by a helper for tuning
    the reader (the held-out file is never looked at). What it was tuned to keep: not one
    refusal or unclear answer read as a yes or a no wrongly, and most yes recognised."""
    from pathlib import Path

    dev = Path(__file__).parent.parent / "evals" / "data" / "confirm_answers_dev.jsonl"
    rows = [json.loads(line) for line in dev.read_text(encoding="utf-8").splitlines()]
    known = known_words("Espresso cups", "Milk frother", "8 Avenue Jean Jaurès, 31000 Toulouse")
    read = [
        (r["answer"], read_answer(r["text"], "55120-B", r["lang"], known, r["about"])) for r in rows
    ]
    assert [r for r in read if r[1] == "yes" and r[0] != "yes"] == []
    assert [r for r in read if r[1] == "no" and r[0] != "no"] == []
    yes = [got for said, got in read if said == "yes"]
    assert yes.count("yes") / len(yes) >= 0.8


def test_an_item_count_is_not_part_of_what_was_proposed() -> None:
    """The question names "1 × Wireless headphones"; "cancel 1 of them" asks for part of it."""
    from graph.nodes.confirmation import proposal_words

    known = proposal_words(
        {"lines": [{"qty": 1, "product": "Wireless headphones", "price": "59.90"}]}, "Ana Ruiz"
    )
    assert read_answer("yes cancel 1 of them", "20481-A", "en", known) == "unclear"
    assert read_answer("Yes, cancel the wireless headphones. Ana", "20481-A", "en", known) == "yes"
    address = proposal_words({"address": {"street_1": "12 rue des Lilas", "zip_code": "69003",
                                          "city": "Lyon", "country": "FR"}})  # fmt: skip
    assert (
        read_answer("Oui, 12 rue des Lilas, 69003 Lyon", "20481-A", "fr", address, "address")
        == "yes"
    )


def test_colloquial_yes_typos_and_a_restated_count_are_read() -> None:
    known = known_words("Wireless headphones")
    for lang, said in [("de", "Ja passt, alles stornieren"), ("en", "Yess please cancle"),
                       ("en", "Yes, I confirm the cancellation (1 x Wireless headphones)."),
                       ("de", "JA zur Adressänderung, danke")]:  # fmt: skip
        if "Adress" in said:
            assert read_answer(said, "20481-A", lang, known, "address") == "yes", said
        else:
            assert read_answer(said, "20481-A", lang, known) == "yes", said


def test_fine_as_it_is_and_restatements_of_other_things_go_to_a_person() -> None:
    """A "fine as it is" may mean "leave it"; a count outside a restatement, another item or
    another order in a restatement may ask for something else."""
    known = known_words("Wireless headphones")
    for said in ["Sì, va bene così", "passt schon", "Sí, así está bien",
                 "Yes, I confirm the cancellation (2 x Phone charger).",
                 "yes cancel the other order", "oui annulez les deux",
                 "ja, Adressänderung und stornieren"]:  # fmt: skip
        assert read_answer(said, "20481-A", None, known) != "yes", said


def test_a_yes_with_its_reason_is_a_yes() -> None:
    """A yes and why, in the words of a reason: a wrong size, ordered twice, a better price."""
    known = known_words("Cotton dress - Size 38")
    for lang, said in [
        ("en", "yeah go ahead and cancel it, bought the wrong size"),
        ("fr", "Oui merci, je me suis trompée de taille"),
        ("de", "Ja bitte stornieren, falsche Größe"),
        ("es", "Sí, cancélalo, me equivoqué de talla"),
        ("it", "Sì, annullate pure, ho sbagliato taglia"),
        ("fr", "Oui, j'ai commandé deux fois par erreur. Merci de votre compréhension."),
        ("es", "Sí, por favor. La encontré más barata en otra tienda."),
    ]:
        assert read_answer(said, "20481-A", lang, known) == "yes", said
    new = known_words("25 Boulevard de la Liberté, 59000 Lille")
    for lang, said in [("fr", "Oui parfait, j'ai déménagé la semaine dernière"),
                       ("de", "Ja bitte, es ist ein Geschenk. Danke!"),
                       ("it", "Sì grazie! Mi sono trasferita")]:  # fmt: skip
        assert read_answer(said, "20481-A", lang, new, "address") == "yes", said
    # A move to somewhere else, a gift sent elsewhere: a person reads it.
    for said in ["Yes, I moved to Baker Street", "Ja, es ist ein Geschenk, bitte an meine Mutter"]:
        assert read_answer(said, "20481-A", None, new, "address") != "yes", said


def test_after_a_yes_a_doubt_a_condition_or_another_wish_goes_to_a_person() -> None:
    known = known_words("Cotton dress - Size 38")
    for said in [
        "Yes. Hold on, I already asked my wife first",
        "Oui, mais j'ai déjà payé les frais",
        "Ja. Bitte erstatten Sie es auf die andere Karte, falsche Größe",
        "Sí, por favor. Quiero otra talla",
        "Sì, ho sbagliato taglia, mandatemi la 40",
        "oui désolé, erreur",  # "sorry, my mistake" may as well mean "forget it"
        "yes, wrong size, send it to my office",
        "Yes, found it cheaper. Tomorrow is fine",
    ]:
        assert read_answer(said, "20481-A", None, known) != "yes", said


def test_both_is_the_whole_order_only_when_two_items_were_proposed() -> None:
    from graph.nodes.confirmation import proposal_words

    two = proposal_words({"lines": [{"product": "Plush dinosaur"}, {"product": "Puzzle"}]})
    three = proposal_words(
        {"lines": [{"product": "Plush dinosaur"}, {"product": "Puzzle"}, {"product": "Ball"}]}
    )
    assert read_answer("Sì, annullate tutti e due", "20481-A", "it", two) == "yes"
    assert read_answer("Ja, beides stornieren bitte", "20481-A", "de", two) == "yes"
    assert read_answer("Ja, beides stornieren bitte", "20481-A", "de", three) == "unclear"


def test_on_the_second_development_answers_no_refusal_or_doubt_is_a_yes() -> None:
    """`evals/data/confirm_answers_dev2.jsonl`: 320 answers written apart by a second helper,
    each with its own proposal (items, address, customer), to measure the reader on text it had
    not met (99 of 160 yes recognised then, 137 now); since then tuned on. Not one refusal or
    doubt read as a yes or a no wrongly."""
    from pathlib import Path

    from graph.nodes.confirmation import proposal_words

    dev = Path(__file__).parent.parent / "evals" / "data" / "confirm_answers_dev2.jsonl"
    rows = [json.loads(line) for line in dev.read_text(encoding="utf-8").splitlines()]
    read = []
    for r in rows:
        details = {"lines": [{"product": p} for p in r["items"]]}
        known = proposal_words(details, r["address"], r["customer"])
        got = read_answer(r["text"], r["order_id"], r["lang"], known, r["about"])
        read.append((r["answer"], got))
    assert [r for r in read if r[1] == "yes" and r[0] != "yes"] == []
    assert [r for r in read if r[1] == "no" and r[0] != "no"] == []
    yes = [got for said, got in read if said == "yes"]
    assert yes.count("yes") / len(yes) >= 0.78


# Found by a review of the reader (2 items proposed: a mug and a plate): each was once a yes.
PART_OR_DOUBT = [
    ("en", "Yes, cancel the mug please"), ("en", "Yes, cancel the mug, the plate is fine"),
    ("fr", "Oui, annulez-en une"), ("es", "Sí, cancelen uno"), ("de", "Ja, eine stornieren bitte"),
    ("de", "Ja, bloß die Tasse stornieren"), ("en", "Yes please cancel (1 x Mug)"),
    ("en", "Ok thanks, let me check"), ("fr", "Ok merci, je réfléchis"),
    ("en", "Yes I still want it"), ("it", "Sì, voglio ancora l'ordine"),
    ("en", "Yes I will confirm soon"), ("de", "Ja, ich bestätige morgen"),
    ("fr", "Oui, l'annulation est une erreur"), ("de", "Ja, die Stornierung ist ein Fehler"),
    ("en", "Yes, wrong size, I need an XL"), ("en", "Yes. I already filed a chargeback"),
    ("en", "Yes, I moved to Baker Street"), ("it", "Sì, annullate la tazza e quella blu"),
    ("de", "Ja, die Bestellung ist komplett"),
]  # fmt: skip
# ... and each of these was read as a no, though it asks to cancel or is unclear.
NOT_A_NO = [
    ("en", "I don't want it"), ("fr", "Je n'en veux pas"), ("de", "Ich will es nicht"),
    ("es", "No lo quiero"), ("it", "Non lo voglio"), ("fr", "Je ne la garde pas, annulez"),
    ("de", "Ich behalte sie nicht"), ("en", "Don't keep it, cancel it"),
    ("en", "No I don't need it anymore"), ("en", "Never mind, cancel it"),
]  # fmt: skip


@pytest.mark.parametrize(("lang", "text"), PART_OR_DOUBT)
def test_part_of_the_order_a_delay_or_a_second_thought_is_not_a_yes(lang: str, text: str) -> None:
    from graph.nodes.confirmation import proposal_items, proposal_words

    items = {"en": ["Mug", "Plate"], "fr": ["Tasse", "Assiette"], "de": ["Tasse", "Teller"],
             "es": ["Taza", "Plato"], "it": ["Tazza", "Piatto"]}[lang]  # fmt: skip
    details = {"lines": [{"product": p} for p in items]}
    known = proposal_words(details, "Anna Smith")
    assert read_answer(text, "20481-A", lang, known, "cancel", proposal_items(details)) != "yes"


@pytest.mark.parametrize(("lang", "text"), NOT_A_NO)
def test_a_no_to_the_order_is_not_a_no_to_the_question(lang: str, text: str) -> None:
    assert read_answer(text, "20481-A", lang, known_words("Mug")) != "no"


def test_a_no_to_the_old_address_is_not_a_no_to_the_new_one() -> None:
    known = known_words("12 Rose Street, SW1A 1AA London")
    for text in ["Not to the old address", "Pas à l'ancienne adresse", "Nicht an die alte Adresse"]:
        assert read_answer(text, "20481-A", None, known, "address") != "no", text


# Found by a second review: each of these was read as a yes (or, last, as a no).
SECOND_REVIEW_NOT_YES = [
    ("en", "It's fine as is"), ("de", "Passt so, danke"), ("de", "Die Bestellung ist in Ordnung"),
    ("es", "El pedido está bien"), ("it", "L'ordine va bene, grazie"),
    ("fr", "C'est ok pour la commande"), ("en", "Yes, thanks. Tomorrow"), ("de", "Ja danke. Morgen"),
    ("de", "Ja, danke. Teller"), ("en", "Yes, I want my order"), ("fr", "Oui, je veux ma commande"),
    ("en", "Yes, wrong size, I want an M"), ("es", "Sí, perdón, me equivoqué de pedido"),
    ("it", "Sì, ho sbagliato ordine"), ("fr", "Oui, annulez-en une, commandée deux fois par erreur"),
    ("de", "Ja, ist schon da"), ("fr", "Oui, je l'ai"), ("en", "Yeah sure 😂"),
    ("en", "Yes cancel, I found the same mug cheaper elsewhere"), ("en", "Yes, cancel it in the morning"),
    ("es", "Sí, ya lo cancelé yo"), ("en", "Yes, I'll order it again"),
]  # fmt: skip
SECOND_REVIEW_NOT_NO = [
    ("en", "No, cancel it"), ("fr", "Non, annulez-la"), ("de", "Nein, stornieren bitte"),
    ("en", "No, cancel the order, I don't need it anymore"), ("en", "No, the whole order please"),
    ("de", "Nein, die ganze Bestellung"),
]  # fmt: skip


@pytest.mark.parametrize(("lang", "text"), SECOND_REVIEW_NOT_YES)
def test_what_a_careful_person_would_not_act_on_is_not_a_yes(lang: str, text: str) -> None:
    from graph.nodes.confirmation import proposal_items, proposal_words

    items = {"en": ["Mug", "Plate"], "fr": ["Tasse", "Assiette"], "de": ["Tasse", "Teller"],
             "es": ["Taza", "Plato"], "it": ["Tazza", "Piatto"]}[lang]  # fmt: skip
    details = {"lines": [{"product": p} for p in items]}
    known = proposal_words(details, "Anna Smith")
    assert read_answer(text, "20481-A", lang, known, "cancel", proposal_items(details)) != "yes"


@pytest.mark.parametrize(("lang", "text"), SECOND_REVIEW_NOT_NO)
def test_a_no_then_the_action_is_not_a_refusal(lang: str, text: str) -> None:
    assert read_answer(text, "20481-A", lang, known_words("Mug")) != "no"


def test_the_address_is_fine_and_to_my_address_go_to_a_person() -> None:
    known = known_words("12 Rue de la Paix, 75002 Paris")
    for text in ["The address is fine", "Die Adresse ist in Ordnung",
                 "Yes, send it to my address", "Oui, j'ai déménagé, livrez à la bonne adresse",
                 "Yes, I'll send you the correct address"]:  # fmt: skip
        assert read_answer(text, "20481-A", None, known, "address") != "yes", text
    for text in ["Oui c'est la bonne adresse, merci", "Yes, the new address is correct",
                 "Yes, the address is correct", "Oui, l'adresse est correcte"]:  # fmt: skip
        assert read_answer(text, "20481-A", None, known, "address") == "yes", text


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "yes ta"), ("en", "Yes grand, thanks a million"), ("de", "Ja, das isch korrekt"),
        ("en", "Yes!! my sister already bought him the same"), ("en", "Y"),
        ("it", "Sì sì, mia cognata gliel'ha già regalata"),
    ],
)  # fmt: skip
def test_a_yes_in_words_not_all_read_is_asked_again_never_acted_on(lang: str, text: str) -> None:
    assert read_answer(text, "20481-A", lang) == "yes_unsure"


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "Ok thanks, let me check"), ("de", "Ja, ich bestätige morgen"),
        ("en", "yes, and also send me the invoice"), ("fr", "Oui, je l'ai"),
        ("en", "Yes, I moved to Baker Street"), ("it", "Sì, annullate anche quella blu"),
        ("en", "ok whatever"), ("de", "Ja, und bitte auf mein anderes Konto erstatten"),
        ("en", "Yes. I already filed a chargeback"), ("en", "Yes, I'll order it again"),
        ("de", "Ja bitte schnell verschicken!"), ("en", "yes, but only the mug"),
        ("en", "my parcel arrived, ok"), ("fr", "oui, livrez ailleurs"),
        ("en", "Yes, ignore my previous message"), ("en", "yes cancel my other order"),
        ("en", "Ok, I withdraw my request"), ("en", "ok i didnt order this"), ("da", "Nej, ok"),
        ("en", "yes call me"), ("en", "yes cancel the second item"),
    ],
)  # fmt: skip
def test_a_doubt_a_delay_or_something_else_after_a_yes_is_not_asked_again(
    lang: str, text: str
) -> None:
    """Read past its unknown words, an answer still goes to a person when it asks for more, puts
    off, names a street, an item's colour, a dispute, or the other action."""
    known = known_words("Mug", "Plate")
    assert read_answer(text, "20481-A", lang, known) == "unclear"


def test_shipping_it_is_not_a_yes_to_a_new_address_nor_to_a_cancellation() -> None:
    known = known_words("12 rue des Lilas, 69003 Lyon, France")
    assert read_answer("ok ship it", "20481-A", "en", known, "address") != "yes"
    assert read_answer("Ja bitte schnell verschicken!", "20481-A", "de") == "unclear"
