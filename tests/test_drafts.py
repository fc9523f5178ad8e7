"""Drafts a reviewer can send as they are: the decision first, in the customer's language, with
the facts read from Mirakl, aware of the thread; LLM drafts checked for invented facts; and the
draft evaluation that measures all of it (and fails when drafts are bad)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from helpers import Csagent
from openai_stub import ScriptedChat, text
from pydantic import SecretStr
from sqlalchemy.orm import Session
from test_mirakl_truth import empty_mirakl, make_world, order_json  # noqa: F401
from typer.testing import CliRunner

from cli.main import app
from evals.drafts import DATASET, evaluate_drafts, load_threads, score_draft
from graph.claims import unsupported_claims
from graph.drafting import Draft, DraftingService
from graph.llm import chat_model
from graph.replies import addressee, day, money
from knowledge.ingest import KnowledgeBase
from knowledge.language import detect_language
from store.db import get_engine
from store.settings import DEFAULT_MARKETPLACE, Settings

runner = CliRunner()


# -- names, dates, money -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "last", "display", "expected"),
    [
        (None, None, "M. Dupont", ("Dupont", "mr")),
        ("Roberto", "De Luca", "Sig. De Luca", ("De Luca", "mr")),
        (None, None, "Frau Krüger", ("Krüger", "mrs")),
        (None, None, "Sra. López", ("López", "mrs")),
        ("Ciarán", "O'Donnell", "Ciarán O'Donnell", ("Ciarán O'Donnell", None)),
        ("Claire", None, "Claire M.", ("Claire", None)),
        (None, None, "Claire M.", ("Claire", None)),
        (None, None, "kaffeeliebhaber_89", (None, None)),
        (None, None, "mario.r77", (None, None)),
        (None, None, "M.", (None, None)),
    ],
)
def test_the_greeting_fits_the_name(
    first: str | None, last: str | None, display: str, expected: tuple[str | None, str | None]
) -> None:
    who = addressee(first, last, display)
    assert (who.name, who.title) == expected


def test_dates_and_money_are_written_as_the_language_writes_them() -> None:
    moment = date(2026, 10, 31)
    assert day(moment, "de") == "31. Oktober 2026"
    assert day(moment, "fr") == "31 octobre 2026"
    assert day(moment, "es") == "31 de octubre de 2026"
    assert day(moment, "it") == "31 ottobre 2026"
    # The seller's day (Europe/Paris): 23:30 UTC on 31 October is already 1 November there.
    assert day("2026-10-31T23:30:00+00:00", "en") == "1 November 2026"
    assert day("2026-10-31T23:30:00+00:00", "fr") == "1er novembre 2026"
    assert money(Decimal("54.8"), "EUR", "fr").replace("\u202f", " ") == "54,80\xa0€"
    assert money(Decimal("54.8"), "EUR", "en") == "€54.80"


# -- what a draft may claim ----------------------------------------------------------------------


def test_claims_absent_from_the_facts_are_flagged() -> None:
    facts = [
        '{"order_id": "20585556-A", "tracking_number": "6A12345678901", "shipped": '
        '"2026-11-16T08:00:00+00:00", "lines": [{"price": "59.90"}], "shipping_price": "4.90"}',
        "Once the parcel has left the warehouse, the order can no longer be cancelled. You can "
        "return it within 14 days; refunds take 3 to 5 working days.",
    ]
    honest = (
        "Ihre Bestellung 20585556-A hat unser Lager am 16. November 2026 verlassen "
        "(Sendungsnummer 6A12345678901); Sie erhalten 64,80 € in 3 bis 5 Werktagen zurück, "
        "binnen 14 Tagen."
    )
    assert unsupported_claims(honest, [*facts, "64,80 €"]) == []
    invented = (
        "Your order 20585599-A left on 17/11/2026 with tracking 6A99999999999; we refund "
        "€70.00 within 2 days."
    )
    flags = unsupported_claims(invented, facts)
    assert any("order 20585599-A" in f for f in flags)
    assert any("6A99999999999" in f for f in flags)
    assert any("date 2026-11-17" in f for f in flags)
    assert any("number 70" in f for f in flags) and any("number 2 " in f + " " for f in flags)


# -- the evaluation, and that it can fail ----------------------------------------------------------


def test_the_draft_file_is_big_enough_and_covers_five_languages() -> None:
    rows = load_threads(DATASET)
    assert len(rows) >= 60
    by_language: dict[str, int] = {}
    for row in rows:
        by_language[row["language"]] = by_language.get(row["language"], 0) + 1
    assert set(by_language) == {"en", "fr", "de", "es", "it"} and min(by_language.values()) >= 12


def _row(**expect: Any) -> dict[str, Any]:
    return {
        "id": "t",
        "language": "de",
        "intent": "cancellation_request",
        "customer": {"display_name": "kaffeeliebhaber_89"},
        "expect": {"decision": "cancel_refused_shipped", **expect},
    }


def test_the_scoring_catches_what_a_reviewer_would_not_send() -> None:
    bad = Draft(
        text="Hallo kaffeeliebhaber_89,\n\nVielen Dank für Ihre Nachricht.\n\nYou can cancel it "
        "free of charge: we cancel it at once and you are not charged.\n\nBitte schicken Sie "
        "uns Fotos des Produkts.\n\nMit freundlichen Grüßen",
        sources=[],
        generator="retrieval",
        language="de",
        decision="cancel_possible",
        flags=["date 2026-11-17 is not in the facts"],
    )
    score = score_draft(
        _row(
            dates=["2026-11-16"],
            strings=["20585556-A"],
            must_not_contain=["cancel it at once"],
            asks_for_photos=False,
            greeting_name=None,
            apology=True,
        ),
        bad,
    )
    assert not score.purity  # an English paragraph in a German draft
    assert score.required_found == 0 and score.required == 2
    assert "says 'cancel it at once'" in score.forbidden
    assert "date 2026-11-17 is not in the facts" in score.forbidden
    assert "asks again for photos the customer sent" in score.forbidden
    assert not score.decision_stated and not score.greeting_ok and not score.apology_ok


def test_eval_drafts_meets_its_targets_on_the_project_file(knowledge: KnowledgeBase) -> None:
    result = runner.invoke(app, ["eval", "drafts", "--json"])
    report = json.loads(result.stdout)
    overall = report["overall"]
    assert result.exit_code == 0, report["failures"]
    assert overall["purity"] == 1.0 and overall["forbidden"] == 0
    assert overall["required"] >= 0.95 and overall["decision"] == 1.0
    assert overall["threads"] >= 60


# -- the LLM path: the model only phrases; what it invents is flagged -----------------------------


def _phrase_the_decision(request: dict[str, Any]) -> dict[str, Any]:
    """A well-behaved model: greeting, the decision in the suggested wording, a sign-off."""
    prompt = request["messages"][1]["content"]
    hello = re.search(r"greet the customer with: (.*)", prompt)
    wording = re.search(r"Suggested wording: (.*)", prompt)
    body = wording.group(1) if wording else "Nous vérifions et revenons vers vous."
    return text(f"{hello.group(1) if hello else ''}\n\n{body}\n\nMaison Électro")


def _invent_a_date(request: dict[str, Any]) -> dict[str, Any]:
    honest = _phrase_the_decision(request)["content"]
    # A date slipped in (written the same way in every language): the claims check flags it.
    return text(honest.replace("\n\nMaison", " (03.12.2026)\n\nMaison"))


def _llm_service(url: str) -> DraftingService:
    settings = Settings(
        openai_api_key=SecretStr("t"), openai_base_url=f"{url}/v1", openai_model="scripted"
    )
    return DraftingService(settings, get_engine(), model=chat_model(settings))


def test_the_llm_path_gets_the_decision_and_is_scored_like_the_retrieval_path(
    knowledge: KnowledgeBase, serve_app: Callable[..., AbstractContextManager[str]]
) -> None:
    rows = [r for r in load_threads(DATASET) if r["id"].endswith(("-cancel-03", "-return-02"))]
    honest = ScriptedChat(then=_phrase_the_decision)
    with serve_app(honest.app()) as url:
        report = evaluate_drafts(_llm_service(url), rows)
    assert report["overall"]["forbidden"] == 0 and report["overall"]["decision"] == 1.0
    assert report["overall"]["purity"] == 1.0 and report["overall"]["required"] == 1.0
    prompt = honest.requests[0]["messages"][1]["content"]
    assert "DECISION: refused" in prompt and "Suggested wording:" in prompt

    inventive = ScriptedChat(then=_invent_a_date)
    with serve_app(inventive.app()) as url:
        report = evaluate_drafts(_llm_service(url), rows)
    assert report["overall"]["forbidden"] == len(rows)
    assert not report["met"]["forbidden"]
    assert all(
        any("date 2026-12-03 is not in the facts" in p for p in f["problems"])
        for f in report["failures"]
    )


def test_a_draft_in_the_wrong_language_or_a_failing_server_falls_back_to_the_knowledge_base(
    knowledge: KnowledgeBase, serve_app: Callable[..., AbstractContextManager[str]]
) -> None:
    from evals.drafts import thread_input

    row = next(r for r in load_threads(DATASET) if r["language"] == "de")
    conversation, order, now, latest = thread_input(row)
    asked: dict[str, Any] = {
        "intent": row["intent"], "text": latest, "now": now, "marketplace": DEFAULT_MARKETPLACE,
    }  # fmt: skip
    english = ScriptedChat(
        then=text("Hello, thank you for your message. We will check your order.")
    )
    with serve_app(english.app()) as url:
        draft = _llm_service(url).draft(conversation, order, **asked)
    assert english.requests  # the model was asked...
    assert draft.generator == "retrieval"  # ...and its English answer to a German customer dropped
    assert any("answered in en, not in de" in f for f in draft.flags)
    assert detect_language(draft.text) == "de"

    down = ScriptedChat(then={"error": 503})
    with serve_app(down.app()) as url:
        draft = _llm_service(url).draft(conversation, order, **asked)
    assert draft.generator == "retrieval" and detect_language(draft.text) == "de"
    assert any("the LLM could not draft" in f for f in draft.flags)


# -- the user's path: orders created on the simulator, customers writing there ----------------


@pytest.fixture
def world(knowledge: KnowledgeBase, empty_mirakl: str) -> Iterator[Csagent]:  # noqa: F811
    yield from make_world(empty_mirakl)


def _shipped(order_id: str, customer: str, days_ago: int, **fields: Any) -> dict[str, Any]:
    order = order_json(order_id, customer, "SHIPPED", age=timedelta(days=days_ago + 1),
                       tracking="JJD000390012345")  # fmt: skip
    shipped = datetime.now(UTC) - timedelta(days=days_ago)
    order["order_lines"][0]["shipped_date"] = shipped.isoformat()
    order["customer"].update(fields)
    return order


def test_a_german_cancellation_after_shipment_is_refused_in_german_with_the_date(
    world: Csagent, session: Session
) -> None:
    order = _shipped("42000001-A", "cust-de-1", 2, firstname="Jonas", lastname="Weber",
                     locale="de_DE")  # fmt: skip
    world.create_order(order)
    answer = world.customer_writes(
        "de-cancel", "Guten Tag, bitte stornieren Sie meine Bestellung 42000001-A. Danke!",
        "42000001-A", customer_name="Jonas W.",
    )  # fmt: skip
    assert answer["status"] == "awaiting_approval", answer
    reply = world.pending_review("de-cancel")["action_request"]["args"]["reply"]
    shipped = day(order["order_lines"][0]["shipped_date"], "de")
    assert reply.startswith("Guten Tag Jonas Weber,")
    assert "nicht mehr stornieren" in reply and shipped in reply and "42000001-A" in reply
    assert "kostenlos" not in reply and "auf Englisch" not in reply
    assert world.shop_messages("de-cancel") == []  # a draft waits for a person


def test_photos_sent_on_mirakl_are_not_asked_for_again(world: Csagent, session: Session) -> None:
    order = order_json("42000002-A", "cust-fr-2", "RECEIVED", age=timedelta(days=4))
    order["order_lines"][0]["received_date"] = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    world.create_order(order)
    answer = world.customer_writes(
        "fr-damaged",
        "Bonjour, la bouilloire est arrivée cabossée et fendue. Je vous joins deux photos.",
        "42000002-A",
        customer_name="Mme Martin",
        attachments=[{"name": "IMG_1.jpg", "type": "image/jpeg"}, {"name": "IMG_2.jpg"}],
    )
    assert answer["status"] == "awaiting_approval", answer
    review = world.pending_review("fr-damaged")
    reply = review["action_request"]["args"]["reply"]
    assert reply.startswith("Bonjour Madame Martin,")
    assert "Merci pour les photos" in reply and "envoyer des photos" not in reply
    # The damaged rule refunds the product and the shipping: 59.90 + 4.90.
    assert "64,80" in reply
    assert review["draft"]["decision"] == "damaged_photos_received"


def test_a_return_outside_the_window_says_when_it_closed_in_italian(world: Csagent) -> None:
    order = order_json("42000003-A", "cust-it-3", "CLOSED", age=timedelta(days=40))
    received = datetime.now(UTC) - timedelta(days=30)
    order["order_lines"][0]["received_date"] = received.isoformat()
    order["customer"].update(firstname=None, lastname=None)  # known only by a screen name
    world.create_order(order)
    world.customer_writes(
        "it-return",
        "Buongiorno, vorrei restituire il bollitore, non mi piace il colore. Come faccio?",
        "42000003-A",
        customer_name="mario.r77",
    )
    reply = world.pending_review("it-return")["action_request"]["args"]["reply"]
    closed = day(received + timedelta(days=14), "it")
    assert reply.startswith("Buongiorno,\n") and "mario" not in reply
    assert "è scaduto il " + closed in reply
    assert " voi " not in f" {reply} " and "potete" not in reply


def test_an_order_named_only_in_the_text_is_the_one_the_draft_talks_about(world: Csagent) -> None:
    order = order_json("42000004-A", "cust-en-4", "SHIPPING", age=timedelta(days=3))
    world.create_order(order)
    thread = httpx.post(
        f"{world.sim}/_sim/threads/en-named/customer-message",
        json={"body": "Hi, could you cancel order 42000004-A please?", "customer_id": "cust-en-4"},
    ).json()
    world.notify(thread["event"])
    review = world.pending_review("en-named")
    reply = review["action_request"]["args"]["reply"]
    assert "42000004-A" in reply and "can no longer cancel" in reply
    assert day(order["created_date"], "en") in reply


def test_every_decision_sentence_exists_in_five_languages_with_the_same_facts() -> None:
    from string import Formatter

    from graph.drafting import DECISIONS

    def fields(template: str) -> set[str]:
        return {name for _, name, _, _ in Formatter().parse(template) if name}

    english = DECISIONS["en"]
    for lang in ("fr", "de", "es", "it"):
        assert set(DECISIONS[lang]) == set(english), lang
        for kind, template in DECISIONS[lang].items():
            assert fields(template) == fields(english[kind]), (lang, kind)


@pytest.mark.parametrize("intent", ["address_update", "cancellation_request", "invoice_request"])
@pytest.mark.parametrize("state", ["WAITING_ACCEPTANCE", "SHIPPING", "SHIPPED", "CANCELED"])
def test_every_decision_has_the_facts_its_sentence_needs(intent: str, state: str) -> None:
    from graph.drafting import decision_sentence
    from graph.replies import decide
    from store.facts import facts_from_mirakl
    from store.mirakl_models import Order as MiraklOrder

    raw = order_json("42000009-A", "cust-x", state, age=timedelta(hours=3), tracking="6A1")
    order = facts_from_mirakl(MiraklOrder.model_validate(raw), datetime.now(UTC))
    conversation = {"thread_id": "t", "customer_name": None, "language": "en", "history": [],
                    "question": "please", "search_query": "please"}  # fmt: skip
    for lang in ("en", "fr", "de", "es", "it"):
        decision = decide(intent, "please", order, conversation, now=datetime.now(UTC), lang=lang)  # type: ignore[arg-type]
        if decision is None:  # a cancelled order's address or invoice: a person explains
            assert state == "CANCELED" and intent != "cancellation_request"
            continue
        assert decision_sentence(decision, order, lang), (lang, state)


def test_italian_dates_take_the_elided_article() -> None:
    from graph.drafting import italian_articles

    assert (
        italian_articles("ha tempo fino al 11 novembre 2026")
        == "ha tempo fino all'11 novembre 2026"
    )
    assert italian_articles("è scaduto il 8 ottobre 2026") == "è scaduto l'8 ottobre 2026"
    assert (
        italian_articles("il 1 dicembre 2026, il 18 ottobre")
        == "il 1º dicembre 2026, il 18 ottobre"
    )


def _conv(*inbound: str, photos: int = 0, since: str | None = None) -> Any:
    return {"thread_id": "t", "customer_name": None, "language": "en",
            "history": [("inbound", m) for m in inbound], "question": inbound[-1],
            "search_query": inbound[-1], "photos": photos, "waiting_since": since}  # fmt: skip


def _facts(state: str, **lines: Any) -> Any:
    from store.facts import facts_from_mirakl
    from store.mirakl_models import Order as MiraklOrder

    raw = order_json("42000010-A", "cust-y", state, age=timedelta(days=30), tracking="6A123")
    raw["order_lines"][0].update(lines)
    return facts_from_mirakl(MiraklOrder.model_validate(raw), datetime.now(UTC))


def test_decisions_follow_what_the_customer_said_and_when() -> None:
    from graph.replies import decide, wants

    received = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
    order = _facts("RECEIVED", received_date=received.isoformat(),
                   shipped_date=(received - timedelta(days=2)).isoformat())  # fmt: skip
    # Asked on the last day, drafted the next morning: the window was open when they asked.
    asked = _conv("Can I return it?", since="2026-11-24T20:00:00+02:00")
    late_draft = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    d = decide("return_request", "Can I return it?", order, asked, now=late_draft, lang="en")
    assert d is not None and d.kind == "return_open"
    # A parcel that has not arrived is not damaged because "delle" is an Italian article.
    shipped = _facts("SHIPPED", shipped_date=received.isoformat())
    q = "Il pacco non è ancora arrivato, potete darmi delle informazioni?"
    d = decide("delivery_issue", q, shipped, _conv(q), now=late_draft, lang="it")
    assert d is not None and d.kind == "order_state"
    # "The new kettle is broken" asks for nothing; "I don't want a replacement" neither.
    assert wants(_conv("The new kettle arrived broken."), "") == set()
    assert wants(_conv("I don't want a replacement, the kettle is broken"), "") == set()
    assert wants(_conv("Ich bitte um Ersatz."), "") == {"replace"}
    assert wants(_conv("Je préférerais un remboursement plutôt qu'un échange."), "") == {"refund"}
    # Delivered long ago, no photos: no deadline in the past is quoted.
    old = _facts("RECEIVED", received_date="2026-10-01T10:00:00+00:00")
    d = decide("delivery_issue", "It arrived broken", old, _conv("It arrived broken"),
               now=late_draft, lang="en")  # fmt: skip
    assert d is not None and d.kind == "damaged_photos_needed_nodate" and "date" not in d.values
    # Shipped without a delivery date, and the customer says they have it: ask the day.
    says = "I received the kettle and want to return it"
    d = decide("return_request", says, shipped, _conv(says), now=late_draft, lang="en")
    assert d is not None and d.kind == "return_check"
    # A cancellation of a delivered order points to the return, not to refusing the parcel.
    d = decide("cancellation_request", "cancel it", order, _conv("cancel it"),
               now=datetime(2026, 11, 12, tzinfo=UTC), lang="en")  # fmt: skip
    assert d is not None and d.kind == "cancel_refused_shipped_delivered"
    assert d.values["deadline"] == "24 November 2026"


def test_two_units_on_the_damaged_line_state_no_amount() -> None:
    from graph.replies import decide
    from tools.refunds import RefundRules

    rules = RefundRules.load(Settings().refund_rules_path)
    order = _facts("RECEIVED", quantity=2, price=119.8, received_date=datetime.now(UTC).isoformat())
    text = "One of the two kettles arrived cracked, photos attached."
    d = decide("delivery_issue", text, order, _conv(text, photos=2), now=datetime.now(UTC),
               lang="en", refund_rules=rules)  # fmt: skip
    assert d is not None and d.kind == "damaged_photos_received_lines" and "amount" not in d.values


def test_a_policy_passage_keeps_the_title_it_needs_to_make_sense() -> None:
    """ "Los daños causados por una caída…" alone is half a sentence: it is what the warranty
    does not cover, and the customer reads it under that title."""
    from graph.drafting import passage_text
    from knowledge.retriever import Hit

    body = "Los daños causados por una caída, un líquido o un uso indebido."
    hit = Hit(
        id="1", doc="warranty", path="es/warranty.md", lang="es", doc_type="warranty",
        heading="Garantía > Qué no cubre la garantía",
        content=f"Garantía > Qué no cubre la garantía\n\n{body}", score=1.0,
    )  # fmt: skip
    assert passage_text(hit) == f"Qué no cubre la garantía:\n{body}"
