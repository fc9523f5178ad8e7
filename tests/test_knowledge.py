"""Knowledge base: idempotent ingestion, multilingual hybrid search, drafts (retrieval and LLM)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest
from helpers import Simulator
from openai_stub import ScriptedChat, text
from pydantic import SecretStr
from sqlalchemy import text as sql
from sqlalchemy.orm import Session

from api.app import create_app
from evals.retrieval import summarize
from graph.conversation import read_conversation
from graph.drafting import DraftingService
from graph.llm import chat_model
from knowledge.ingest import KnowledgeBase, KnowledgeError
from knowledge.language import detect_language
from knowledge.retriever import Retriever, reciprocal_rank_fusion
from store.db import get_engine, session_scope
from store.facts import OrderFacts
from store.settings import DEFAULT_MARKETPLACE, Settings

DOCS = Settings().knowledge_dir


@pytest.fixture
def small_kb(db_url: str, tmp_path: Path) -> Iterator[tuple[KnowledgeBase, Path]]:
    root = tmp_path / "docs"
    for rel in ("en/returns.md", "fr/returns.md", "en/warranty.md"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(DOCS / rel, root / rel)
    kb = KnowledgeBase(Settings(), get_engine(), table="kb_test_chunks")
    yield kb, root
    with session_scope() as session:
        kb.drop(session)


def test_ingesting_twice_embeds_nothing_the_second_time(
    small_kb: tuple[KnowledgeBase, Path],
) -> None:
    kb, root = small_kb
    first = kb.ingest(root)
    assert (first.documents, first.embedded, first.unchanged) == (3, first.chunks, 0)
    second = kb.ingest(root)
    assert (second.embedded, second.unchanged, second.removed) == (0, first.chunks, 0)


def test_editing_a_document_replaces_only_its_changed_chunks(
    small_kb: tuple[KnowledgeBase, Path],
) -> None:
    kb, root = small_kb
    first = kb.ingest(root)
    path = root / "en" / "returns.md"
    path.write_text(
        path.read_text().replace(
            "within 14 days of receiving the returned product",
            "within 10 days of receiving the returned product",
        )
    )
    edited = kb.ingest(root)
    assert (edited.embedded, edited.removed, edited.unchanged) == (1, 1, first.chunks - 1)
    hits = Retriever(kb).search("How fast is the refund after a return?", k=3, lang="en").hits
    assert "within 10 days of receiving" in hits[0].content


def test_deleting_a_document_removes_its_chunks(small_kb: tuple[KnowledgeBase, Path]) -> None:
    kb, root = small_kb
    kb.ingest(root)
    (root / "en" / "warranty.md").unlink()
    report = kb.ingest(root)
    assert (
        report.removed_documents == ["en/warranty.md"]
        and report.removed > 0
        and report.embedded == 0
    )
    hits = Retriever(kb).search("Is my vacuum still under warranty after 13 months?", k=10).hits
    assert {h.doc for h in hits} == {"returns"}


def test_embeddings_of_another_kind_are_refused(small_kb: tuple[KnowledgeBase, Path]) -> None:
    kb, root = small_kb
    kb.ingest(root)
    with session_scope() as session:
        session.execute(
            sql(
                "UPDATE kb_collections SET embeddings_kind = 'openai', embeddings_model = 'text-embedding-3-small' WHERE name = 'kb_test_chunks'"
            )
        )
    with pytest.raises(
        KnowledgeError,
        match="built with openai embeddings .* Re-ingest with `csagent kb ingest --recreate`",
    ):
        kb.ingest(root)
    report = kb.ingest(root, recreate=True)
    assert report.embedded == report.chunks


@pytest.mark.parametrize(
    ("question", "lang", "path"),
    [
        ("Comment retourner un produit que j'ai reçu ?", "fr", "fr/returns.md"),
        ("Wie kann ich einen Artikel zurückschicken?", "de", "de/returns.md"),
        ("Posso restituire il frullatore che non mi piace?", "it", "it/returns.md"),
    ],
)
def test_return_questions_in_any_language_find_the_return_policy(
    knowledge: KnowledgeBase, question: str, lang: str, path: str
) -> None:
    # Among the first two passages, in the customer's language (a product named in the question,
    # "il frullatore", may rank its care guide first; drafts also narrow by the request's intent).
    hits = Retriever(knowledge).search(question, k=5).hits
    assert path in [h.path for h in hits[:2]]


def test_a_german_question_finds_the_german_policy(knowledge: KnowledgeBase) -> None:
    # Every policy exists in the five languages: a German customer gets German, not English.
    hits = Retriever(knowledge).search("Ist die Garantie nach 13 Monaten noch gültig?", k=3).hits
    assert hits[0].doc == "warranty" and hits[0].lang == "de"


def test_french_full_text_is_stemmed_as_french(knowledge: KnowledgeBase) -> None:
    # "remboursée" and "remboursement" share the French stem; no vector search involved.
    hits = Retriever(knowledge).search("Quand serai-je remboursée ?", k=5, mode="fulltext").hits
    assert hits and all(h.lang == "fr" for h in hits[:3])
    assert any("rembours" in h.content.lower() for h in hits[:1])


def test_filters_by_language_and_document_type(knowledge: KnowledgeBase) -> None:
    retriever = Retriever(knowledge)
    assert {h.lang for h in retriever.search("return", k=10, lang="en").hits} == {"en"}
    assert {h.doc_type for h in retriever.search("return", k=10, doc_type="warranty").hits} == {
        "warranty"
    }


def test_reciprocal_rank_fusion() -> None:
    scores = reciprocal_rank_fusion([["a", "b", "c"], ["c", "a"]], [1.0, 0.5], k=60)
    assert scores["a"] == pytest.approx(1 / 61 + 0.5 / 62)
    assert scores["c"] == pytest.approx(1 / 63 + 0.5 / 61)
    assert max(scores, key=scores.__getitem__) == "a"


@pytest.mark.parametrize(
    ("text_", "locale", "expected"),
    [
        ("Bonjour, où est ma commande ?", None, "fr"),
        ("Hallo, wo ist meine Bestellung?", None, "de"),
        ("Hola, ¿dónde está mi pedido?", None, "es"),
        ("Buongiorno, dov'è il mio ordine?", None, "it"),
        ("Hi, where is my order?", None, "en"),
        ("ok", "it_IT", "it"),
        ("Hello, please cancel my order, I ordered it by mistake", "fr_FR", "en"),
        ("12345", None, "en"),
    ],
)
def test_language_detection(text_: str, locale: str | None, expected: str) -> None:
    assert detect_language(text_, locale) == expected


def test_retrieval_metrics_by_hand() -> None:
    summary = summarize([1, 3, None, 2], [10.0, 20.0, 30.0, 40.0])
    assert summary["recall@1"] == 0.25 and summary["recall@5"] == 0.75
    assert summary["mrr"] == pytest.approx((1 + 1 / 3 + 1 / 2) / 4)


# -- drafts --------------------------------------------------------------------------------------


def return_thread(session: Session, sim: Simulator | None = None) -> str:
    """A French customer, order delivered, asking how to send the coffee machine back (also on
    the simulated Mirakl when given, as a real thread would be)."""
    from store.business import seed_business_data
    from store.v1_import import import_v1

    seed_business_data(session)
    record = {
        "id": "t-return-fr", "topic": {"type": "FREE_TEXT", "value": "Retour"},
        "entities": [{"type": "MMP_ORDER", "id": "20576630-A"}],
        "current_participants": [{"type": "CUSTOMER", "id": "cust-4442", "display_name": "Isabelle L."}],
        "date_created": "2026-11-20T09:00:00Z",
        "messages": [{"id": "m-ret-1", "from": {"type": "CUSTOMER"}, "date_created": "2026-11-20T09:00:00Z",
                      "body": "Bonjour, la machine à café est trop bruyante, je voudrais la retourner. Comment faire pour le retour ?"}],
    }  # fmt: skip
    import_v1(session, [record], sla_hours=24, marketplace=DEFAULT_MARKETPLACE)
    if sim is not None:
        sim.state.add_thread(record)
    return "t-return-fr"


def mirakl_facts(order_id: str) -> OrderFacts:
    """An example order's facts as if just read from Mirakl."""
    import json
    from datetime import UTC, datetime

    from examples import MIRAKL_ORDERS
    from store.facts import facts_from_mirakl
    from store.mirakl_models import Order

    orders = json.loads(MIRAKL_ORDERS.read_text(encoding="utf-8"))["orders"]
    [raw] = [o for o in orders if o["order_id"] == order_id]
    return facts_from_mirakl(Order.model_validate(raw), datetime.now(UTC))


@pytest.fixture
def api_url(
    knowledge: KnowledgeBase,
    serve_app: Callable[..., AbstractContextManager[str]],
    mirakl_sim: Simulator,
) -> Iterator[str]:
    settings = Settings(
        api_key=SecretStr("webhook"),
        reviewer_api_key=SecretStr("k"),
        mirakl_base_url=mirakl_sim.api,
    )
    app = create_app(settings, queue_worker=False)
    with serve_app(app, lifespan="on") as url:
        yield url


def test_a_draft_for_a_return_question_cites_the_return_policy(
    api_url: str, mirakl_sim: Simulator
) -> None:
    with session_scope() as session:
        thread_id = return_thread(session, mirakl_sim)
    response = httpx.post(
        f"{api_url}/api/v1/threads/{thread_id}/draft", headers={"X-API-Key": "k"}, timeout=30
    )
    assert response.status_code == 200, response.text
    draft = response.json()
    assert draft["generator"] == "retrieval" and draft["language"] == "fr"
    assert {s["doc"] for s in draft["sources"]} == {"returns"}
    body = draft["draft"]
    # First and last name (the formal register); the question waited days: an apology first.
    assert body.startswith("Bonjour Isabelle Laurent,\n\nVeuillez nous excuser")
    # The order fact that matters, as Mirakl has it now.
    assert "votre commande 20576630-A a été livrée" in body
    assert (
        "étiquette de retour prépayée" in body
    )  # the French return policy, adapted into the reply
    assert body.rstrip().endswith("Le service client Maison Électro")


def test_draft_needs_the_key_and_an_existing_thread(api_url: str) -> None:
    assert httpx.post(f"{api_url}/api/v1/threads/nope/draft").status_code == 401
    # The webhook sender's key does not open the agents' API.
    webhook_key = {"X-API-Key": "webhook"}
    assert (
        httpx.post(f"{api_url}/api/v1/threads/nope/draft", headers=webhook_key).status_code == 401
    )
    missing = httpx.post(f"{api_url}/api/v1/threads/nope/draft", headers={"X-API-Key": "k"})
    assert missing.status_code == 404 and missing.json()["message"] == "thread nope not found"


def test_llm_draft_is_grounded_in_the_retrieved_policy(
    knowledge: KnowledgeBase, serve_app: Callable[..., AbstractContextManager[str]]
) -> None:
    with session_scope() as session:
        thread_id = return_thread(session)
        context = read_conversation(session, thread_id, DEFAULT_MARKETPLACE)
    order = mirakl_facts("20576630-A")
    script = ScriptedChat(
        text("Bonjour Isabelle, ouvrez une demande de retour depuis votre commande.")
    )
    with serve_app(script.app()) as url:
        settings = Settings(
            openai_api_key=SecretStr("t"), openai_base_url=f"{url}/v1", openai_model="scripted"
        )
        service = DraftingService(settings, get_engine(), model=chat_model(settings))
        draft = service.draft(context, order, marketplace=DEFAULT_MARKETPLACE)
    assert (draft.generator, draft.text) == (
        "llm",
        "Bonjour Isabelle, ouvrez une demande de retour depuis votre commande.",
    )
    prompt = script.requests[0]["messages"]
    assert (
        "Write in French" in prompt[0]["content"]
        and "Never invent a policy" in prompt[0]["content"]
    )
    assert (
        "fr/returns.md" in prompt[1]["content"]
        and "étiquette de retour prépayée" in prompt[1]["content"]
    )
    assert "order 20576630-A, state RECEIVED" in prompt[1]["content"]
    assert "returns" in {source.doc for source in draft.sources}


def test_kb_and_eval_commands(knowledge: KnowledgeBase, tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from cli.main import app

    runner = CliRunner()
    search = runner.invoke(
        app, ["kb", "search", "Wie lange habe ich Zeit für eine Rücksendung?", "-k", "2"]
    )
    assert search.exit_code == 0, search.output
    assert search.output.startswith(
        "1. de/returns.md — Rücksendungen und 14-tägiges Widerrufsrecht"
    )
    dataset = tmp_path / "q.jsonl"
    dataset.write_text(
        "\n".join(json.dumps(r) for r in [
            {"question": "Comment retourner un produit ?", "lang": "fr", "doc": "returns"},
            {"question": "Is the air fryer basket dishwasher safe?", "lang": "en", "doc": "product-care"},
            {"question": "How long is the legal guarantee?", "lang": "en", "doc": "faq"},  # wrong on purpose
        ])
    )  # fmt: skip
    result = runner.invoke(app, ["eval", "retrieval", "--dataset", str(dataset), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    hybrid = report["modes"]["hybrid"]
    assert report["n"] == 3 and hybrid["recall@1"] == pytest.approx(2 / 3)
    assert set(report["modes"]) == {"vector", "fulltext", "hybrid"}
    assert set(hybrid["per_language"]) == {"en", "fr"}
    bad = runner.invoke(app, ["eval", "retrieval", "--dataset", str(tmp_path / "missing.jsonl")])
    assert bad.exit_code == 2 and "cannot read the dataset" in bad.output


def test_without_a_knowledge_base_the_draft_is_still_written_from_the_order(
    db_url: str,
) -> None:
    """A fresh install before any `kb ingest`: no passages, but a draft, never a failure."""
    from knowledge.retriever import Retriever

    with session_scope() as session:
        thread_id = return_thread(session)
        context = read_conversation(session, thread_id, DEFAULT_MARKETPLACE)
    order = mirakl_facts("20576630-A")
    settings = Settings()
    service = DraftingService(settings, get_engine())
    service._retriever = Retriever(KnowledgeBase(settings, get_engine(), table="kb_never_built"))
    draft = service.draft(context, order, marketplace=DEFAULT_MARKETPLACE)
    assert draft.generator == "retrieval" and draft.sources == []
    assert draft.text.startswith("Bonjour Isabelle")
    assert "20576630-A" in draft.text  # the order's facts
