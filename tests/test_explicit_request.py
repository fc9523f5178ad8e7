"""Automation acts only on what the customer really asked: the explicit-request check."""

from __future__ import annotations

import pytest

from graph.classify.explicit import explicit_request

NOT_REQUESTS = [
    # An earlier request taken back, and how long one may cancel (found on the development set).
    (
        "cancellation_request",
        "Ich hatte um Stornierung gebeten, habe es mir aber anders überlegt. Bitte normal verschicken.",
        "de",
    ),
    (
        "cancellation_request",
        "Je vous ai demandé d'annuler mais j'ai changé d'avis, expédiez-la",
        "fr",
    ),
    ("cancellation_request", "Os pedí cancelar el pedido pero he cambiado de idea, enviadlo", "es"),
    ("cancellation_request", "Entro quanto tempo si può annullare un ordine?", "it"),
    ("cancellation_request", "How long do I have to cancel an order?", "en"),
    ("cancellation_request", "Bis wann kann man stornieren?", "de"),
    # The examples, classified cancellation / address change at 1.000 before.
    ("cancellation_request", "Bitte NICHT stornieren!", "de"),
    ("cancellation_request", "Ya no quiero cancelar, me quedo el pedido", "es"),
    ("cancellation_request", "Ho cambiato idea, non annullate più l'ordine", "it"),
    ("cancellation_request", "Annullate la mia iscrizione alla newsletter", "it"),
    ("cancellation_request", "Annulez ma demande de retour", "fr"),
    ("address_update", "Ne changez pas l'adresse, c'est bien 8 rue Victor Hugo 69002 Lyon", "fr"),
    ("cancellation_request", "How do I cancel my purchase?", "en"),
    # conditionals, past cancellations, invoices, general questions
    ("cancellation_request", "If it is not here by Friday, cancel it.", "en"),
    ("cancellation_request", "Falls das Paket morgen nicht kommt, stornieren Sie bitte.", "de"),
    ("cancellation_request", "Why was my order cancelled?", "en"),
    ("cancellation_request", "Der Verkäufer hat meine Bestellung storniert!", "de"),
    ("cancellation_request", "Perché avete annullato il mio ordine?", "it"),
    (
        "address_update",
        "Please change the address on my invoice to 3 Rue Neuve, 1000 Bruxelles",
        "en",
    ),
    ("address_update", "¿Puedo cambiar la dirección de entrega?", "es"),
    ("order_status", "Do you sell gift cards?", "en"),
    ("order_status", "Combien de temps prend la livraison en général ?", "fr"),
    # found by a review of the rules
    ("cancellation_request", "I don't want to cancel my order.", "en"),
    ("cancellation_request", "Je ne veux plus annuler ma commande", "fr"),
    ("cancellation_request", "Ich will die Bestellung nicht mehr stornieren", "de"),
    ("cancellation_request", "Bitte stornieren Sie die Bestellung nicht", "de"),
    ("cancellation_request", "Bitte die Stornierung rückgängig machen", "de"),
    ("cancellation_request", "Annulez ma demande d'annulation", "fr"),
    ("cancellation_request", "Please disregard my cancellation request", "en"),
    ("cancellation_request", "I didn't ask to cancel!", "en"),
    ("cancellation_request", "Why did you cancel my order?", "en"),
    ("cancellation_request", "I'm thinking about cancelling", "en"),
    ("cancellation_request", "What is your cancellation policy?", "en"),
    ("cancellation_request", "I will cancel my order if it's not here tomorrow", "en"),
]
REQUESTS = [
    # A change of mind about the purchase is a request; writing again is not a retraction.
    ("cancellation_request", "I changed my mind, please cancel my order", "en"),
    ("cancellation_request", "Bonjour, je vous ai écrit hier, merci d'annuler ma commande", "fr"),
    ("cancellation_request", "Please cancel my order, I ordered by mistake.", "en"),
    ("cancellation_request", "Could you please cancel order 20567843-A?", "en"),
    ("cancellation_request", "I don't need it anymore, please cancel it.", "en"),
    ("cancellation_request", "Merci d'annuler ma commande, je n'en ai plus besoin.", "fr"),
    (
        "cancellation_request",
        "Bitte stornieren Sie meine Bestellung, wenn möglich heute noch.",
        "de",
    ),
    ("cancellation_request", "Ich brauche die Bestellung nicht mehr, bitte stornieren.", "de"),
    ("cancellation_request", "Si es posible, cancelen mi pedido, por favor.", "es"),
    ("cancellation_request", "Annullate l'ordine, non mi serve più.", "it"),
    (
        "address_update",
        "Pouvez-vous livrer au 8 avenue Jean Jaurès 33000 Bordeaux à la place ?",
        "fr",
    ),
    (
        "address_update",
        "Bitte an Hauptstraße 5, 10827 Berlin liefern statt an die alte Adresse.",
        "de",
    ),
    ("order_status", "Hi, where is my order? I still have nothing.", "en"),
    ("order_status", "Wann kommt mein Paket an?", "de"),
    (
        "cancellation_request",
        "Please cancel my order.\n\nIf you have any questions, call me.",
        "en",
    ),
    ("cancellation_request", "No puedo esperar tanto, cancelen el pedido", "es"),
    ("cancellation_request", "Non posso aspettare, annullate l'ordine", "it"),
    ("cancellation_request", "It has not arrived so cancel it", "en"),
    ("cancellation_request", "Ich hätte gerne meine Bestellung storniert", "de"),
    ("cancellation_request", "Can I cancel my order please?", "en"),
    (
        "address_update",
        "Could I change the shipping address to 10 Baker Street, London NW1 6XE please?",
        "en",
    ),
    ("order_status", "Tracking stopped updating, where is it?", "en"),
    ("order_status", "Il mio pacco è bloccato in dogana?", "it"),
]


@pytest.mark.parametrize(("intent", "text", "lang"), NOT_REQUESTS)
def test_these_are_never_automated(intent: str, text: str, lang: str) -> None:
    decision = explicit_request(text, intent, lang)
    assert not decision.ok and decision.reason


@pytest.mark.parametrize(("intent", "text", "lang"), REQUESTS)
def test_these_are_requests_to_act(intent: str, text: str, lang: str) -> None:
    assert explicit_request(text, intent, lang).ok
