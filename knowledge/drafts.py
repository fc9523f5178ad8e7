"""Reply drafts for a thread, grounded in the knowledge base and the order's facts.

With an LLM: grounded generation (optionally with the read-only business tools). Without one: a
retrieval draft in the customer's language — greeting, the order facts that matter, the most
relevant policy passages, a sign-off. Both say where their facts came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.tools import BaseTool
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from knowledge.language import detect_language
from knowledge.retriever import Hit, Retriever
from store.business import NotFound
from store.models import Customer, Message, Order, Shipment, Thread
from store.settings import Settings


@dataclass(frozen=True)
class OrderFacts:
    order_id: str
    state: str | None
    products: list[str]
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    shipment_status: str | None = None
    last_event: str | None = None


@dataclass(frozen=True)
class ThreadContext:
    thread_id: str
    customer_name: str | None
    language: str
    history: list[tuple[str, str]]  # (direction, body), oldest first
    question: str  # the customer's messages since our last reply
    order: OrderFacts | None = None
    search_query: str = ""  # what retrieval looks for: the question, with context if it is short


@dataclass(frozen=True)
class Source:
    doc: str
    path: str
    heading: str
    score: float


@dataclass(frozen=True)
class Draft:
    text: str
    sources: list[Source]
    generator: Literal["llm", "retrieval"]
    language: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)


def load_thread_context(session: Session, mirakl_thread_id: str) -> ThreadContext:
    thread = session.scalar(select(Thread).where(Thread.mirakl_thread_id == mirakl_thread_id))
    if thread is None:
        raise NotFound(f"thread {mirakl_thread_id} not found")
    messages = session.scalars(
        select(Message).where(Message.thread_id == thread.id).order_by(Message.created_at)
    ).all()
    history = [(m.direction, m.body) for m in messages]
    pending: list[str] = []
    for direction, body in reversed(history):
        if direction == "outbound":
            break
        pending.insert(0, body)
    question = "\n".join(pending) or (history[-1][1] if history else "")
    # "Thanks, but the tracking does not work?" means little alone: add what the customer said
    # before, so retrieval sees the topic of the conversation.
    earlier = [body for direction, body in history if direction == "inbound"]
    search_query = question if len(question) >= 80 else "\n".join(earlier[-3:])
    customer = session.get(Customer, thread.customer_id) if thread.customer_id else None
    name = (customer.firstname or customer.display_name) if customer else None
    order = session.get(Order, thread.order_id) if thread.order_id else None
    return ThreadContext(
        thread_id=mirakl_thread_id,
        customer_name=(name or "").split(" ")[0] or None,
        language=detect_language(
            question, thread.locale or (customer.locale if customer else None)
        ),
        history=history,
        question=question,
        order=_order_facts(session, order) if order else None,
        search_query=search_query,
    )


def _order_facts(session: Session, order: Order) -> OrderFacts:
    shipment = session.scalar(select(Shipment).where(Shipment.order_id == order.id))
    events = (shipment.events or []) if shipment else []
    return OrderFacts(
        order_id=order.mirakl_order_id,
        state=order.state,
        products=[line.product_title or line.offer_sku for line in order.lines],
        carrier=shipment.carrier_name or shipment.carrier_code if shipment else None,
        tracking_number=shipment.tracking_number if shipment else None,
        tracking_url=shipment.tracking_url if shipment else None,
        shipment_status=shipment.status if shipment else None,
        last_event=str(events[-1].get("at", ""))[:10] if events else None,
    )


# -- the retrieval draft, one phrasebook per language ------------------------------------------

PHRASEBOOK = yaml.safe_load((Path(__file__).with_name("phrases.yaml")).read_text(encoding="utf-8"))
PHRASES: dict[str, dict[str, str]] = PHRASEBOOK["phrases"]
LANGUAGE_NAMES: dict[str, dict[str, str]] = PHRASEBOOK["language_names"]


def order_sentence(facts: OrderFacts, lang: str) -> str | None:
    p = PHRASES[lang]
    status = facts.shipment_status
    if facts.state in ("CANCELED", "REFUSED"):
        return p["canceled"].format(order=facts.order_id)
    if status in ("shipped", "in_transit") and facts.tracking_number:
        url = f" ({facts.tracking_url})" if facts.tracking_url else ""
        return p["shipped"].format(
            order=facts.order_id,
            carrier=facts.carrier or "?",
            tracking=facts.tracking_number,
            url=url,
        )
    if status == "delivered":
        return p["delivered"].format(
            order=facts.order_id, carrier=facts.carrier or "?", date=facts.last_event or "?"
        )
    if status == "preparing" or facts.state == "SHIPPING":
        return p["preparing"].format(order=facts.order_id)
    if status == "pending" or (facts.state or "").startswith(("WAITING", "STAGING")):
        return p["pending"].format(order=facts.order_id)
    return None


def choose_passages(hits: list[Hit], lang: str, limit: int = 2) -> list[Hit]:
    """Passages of the best document, preferring the customer's language when it exists."""
    if not hits:
        return []
    # The document most of the best chunks come from, not just the single best chunk: a
    # question that names a product ("the coffee machine") should still land on the policy.
    weight: dict[str, float] = {}
    for hit in hits:
        weight[hit.doc] = weight.get(hit.doc, 0.0) + hit.score
    first_rank = {h.doc: i for i, h in reversed(list(enumerate(hits)))}
    best_doc = max(weight, key=lambda doc: (weight[doc], -first_rank[doc]))
    same_doc = [h for h in hits if h.doc == best_doc]
    # The customer's language first; else English, the likeliest second language; else any.
    in_language = [h for h in same_doc if h.lang == lang]
    in_english = [h for h in same_doc if h.lang == "en"]
    return (in_language or in_english or same_doc)[:limit]


def retrieval_draft(ctx: ThreadContext, hits: list[Hit], shop: str) -> str:
    lang = ctx.language if ctx.language in PHRASES else "en"
    p = PHRASES[lang]
    parts = [p["hello"].format(name=ctx.customer_name) if ctx.customer_name else p["hello_anon"]]
    parts.append(p["thanks"])
    if ctx.order is not None and (sentence := order_sentence(ctx.order, lang)):
        parts.append(sentence)
    passages = choose_passages(hits, lang)
    if passages:
        other = passages[0].lang != lang
        names = LANGUAGE_NAMES[lang]
        intro = (
            p["policy_other"].format(lang=names.get(passages[0].lang, passages[0].lang))
            if other
            else p["policy"]
        )
        parts.append(intro + "\n\n" + "\n\n".join(h.body.strip() for h in passages))
    parts.append(p["close"])
    parts.append(p["sign"].format(shop=shop))
    return "\n\n".join(parts)


# -- the LLM draft ---------------------------------------------------------------------------------

SYSTEM_PROMPT = """You draft replies for the customer service of {shop}, a seller of home \
appliances on European marketplaces. A human agent reviews every draft before it is sent.
Rules:
- Write in {language}, the customer's language, politely and briefly; greet the customer by first \
name when known and sign as the {shop} customer service.
- Use only facts from ORDER FACTS, POLICY EXCERPTS and tool results. Never invent a policy, a \
date, an amount, a tracking number or a promise.
- If they do not answer the question, say that you are checking with a colleague and will come \
back to the customer, instead of guessing.
- Never mention costs, margins or internal figures; refunds are only proposed, never confirmed."""


def context_prompt(ctx: ThreadContext, hits: list[Hit]) -> str:
    lines = ["CONVERSATION (oldest first):"]
    for direction, body in ctx.history[-8:]:
        lines.append(f"- {'customer' if direction == 'inbound' else 'us'}: {body}")
    lines.append("")
    if ctx.order is not None:
        o = ctx.order
        lines.append("ORDER FACTS:")
        products = ", ".join(o.products) or "?"
        lines.append(f"- order {o.order_id}, state {o.state or 'unknown'}, products: {products}")
        if o.shipment_status:
            lines.append(
                f"- shipment: {o.shipment_status}, carrier {o.carrier or '?'}, "
                f"tracking {o.tracking_number or 'none'} {o.tracking_url or ''}".rstrip()
            )
        lines.append("")
    lines.append("POLICY EXCERPTS:")
    for i, hit in enumerate(hits, start=1):
        lines.append(f"[{i}] {hit.path} — {hit.heading}\n{hit.body.strip()}")
    lines.append("")
    lines.append(
        f"CUSTOMER CUSTOMER'S LATEST MESSAGE:\n{ctx.question}".replace(
            "CUSTOMER CUSTOMER'S", "THE CUSTOMER'S"
        )
    )
    lines.append("\nWrite the reply.")
    return "\n".join(lines)


def llm_draft(
    ctx: ThreadContext,
    hits: list[Hit],
    model: BaseChatModel,
    shop: str,
    tools: list[BaseTool] | None = None,
    max_steps: int = 4,
) -> tuple[str, list[dict[str, Any]]]:
    language = LANGUAGE_NAMES["en"].get(ctx.language, "the customer's language")
    messages = [
        SystemMessage(SYSTEM_PROMPT.format(shop=shop, language=language)),
        HumanMessage(context_prompt(ctx, hits)),
    ]
    if tools:
        from graph.tool_loop import run_tool_loop

        result = run_tool_loop(model, messages, tools, max_steps=max_steps)  # type: ignore[arg-type]
        if result.outcome == "answered" and result.text:
            return result.text, result.tool_calls
        # The model kept calling tools: fall back to answering from what it already has.
    reply = model.invoke(messages)
    return str(reply.content), []


def draft_reply(
    ctx: ThreadContext,
    retriever: Retriever,
    *,
    shop: str,
    model: BaseChatModel | None = None,
    tools: list[BaseTool] | None = None,
    k: int = 8,
    max_steps: int = 4,
    query_vector: list[float] | None = None,
    doc_type: str | None = None,
) -> Draft:
    """The draft for a thread: the one function the API and the graph's draft node share.
    `doc_type` narrows retrieval to the policy the request is about (when it has chunks)."""
    query = ctx.search_query or ctx.question
    hits = retriever.search(query, k=k, query_vector=query_vector, doc_type=doc_type).hits
    if not hits and doc_type is not None:
        hits = retriever.search(query, k=k, query_vector=query_vector).hits
    sources = [Source(h.doc, h.path, h.heading, round(h.score, 4)) for h in hits]
    if model is not None:
        text, calls = llm_draft(ctx, hits, model, shop, tools, max_steps)
        return Draft(text, sources, "llm", ctx.language, calls)
    used = choose_passages(hits, ctx.language if ctx.language in PHRASES else "en")
    used_sources = [Source(h.doc, h.path, h.heading, round(h.score, 4)) for h in used]
    return Draft(
        retrieval_draft(ctx, hits, shop), used_sources or sources, "retrieval", ctx.language
    )


class DraftingService:
    """Drafting with this process's knowledge base, model (if configured) and business tools."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        model: BaseChatModel | None = None,
        tools: list[BaseTool] | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.model = model
        self.tools = tools
        self._retriever: Retriever | None = None

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine) -> DraftingService:
        from graph.llm import chat_model
        from tools.business import DRAFTING_TOOLS, BusinessApi, make_business_tools
        from tools.refunds import RefundRules

        model = chat_model(settings)
        tools = None
        if model is not None:
            rules = RefundRules.load(settings.refund_rules_path)
            available = make_business_tools(BusinessApi.from_settings(settings), rules)
            tools = [available[name] for name in DRAFTING_TOOLS]
        return cls(settings, engine, model=model, tools=tools)

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            from knowledge.ingest import KnowledgeBase

            self._retriever = Retriever(KnowledgeBase(self.settings, self.engine))
        return self._retriever

    def draft(
        self,
        ctx: ThreadContext,
        query_vector: list[float] | None = None,
        doc_type: str | None = None,
    ) -> Draft:
        return draft_reply(
            ctx,
            self.retriever,
            shop=self.settings.shop_name,
            model=self.model,
            tools=self.tools,
            max_steps=self.settings.llm_max_tool_steps,
            query_vector=query_vector,
            doc_type=doc_type,
        )
