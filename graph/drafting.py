"""Reply drafts for a thread, grounded in the knowledge base and the order's facts.

With an LLM: grounded generation (optionally with the read-only business tools). Without one: a
retrieval draft in the customer's language — greeting, the order facts that matter, the most
relevant policy passages, a sign-off. Both say where their facts came from.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any, Literal

import yaml
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.tools import BaseTool
from sqlalchemy import Engine

from graph.state import Conversation
from knowledge.ingest import KnowledgeError
from knowledge.retriever import Hit, Retriever
from store.facts import OrderFacts
from store.settings import Settings
from tools.business import BusinessApi

log = logging.getLogger(__name__)


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


# -- the retrieval draft, one phrasebook per language ------------------------------------------

PHRASEBOOK = yaml.safe_load(files("graph").joinpath("phrases.yaml").read_text(encoding="utf-8"))
PHRASES: dict[str, dict[str, str]] = PHRASEBOOK["phrases"]
LANGUAGE_NAMES: dict[str, dict[str, str]] = PHRASEBOOK["language_names"]


PENDING_STATES = frozenset(
    {"STAGING", "WAITING_ACCEPTANCE", "WAITING_DEBIT", "WAITING_DEBIT_PAYMENT"}
)


def order_sentence(facts: OrderFacts, lang: str) -> str | None:
    """What can truthfully be said of an order from its Mirakl facts, or None (nothing safe)."""
    p = PHRASES[lang]
    state, order_id = facts["state"], facts["order_id"]
    if state in PENDING_STATES:
        return p["pending"].format(order=order_id)
    if state == "SHIPPING":
        return p["preparing"].format(order=order_id)
    if state in ("SHIPPED", "TO_COLLECT") and facts["tracking_number"]:
        url = f" ({facts['tracking_url']})" if facts["tracking_url"] else ""
        return p["shipped" if state == "SHIPPED" else "to_collect"].format(
            order=order_id,
            carrier=facts["carrier"] or "?",
            tracking=facts["tracking_number"],
            url=url,
        )
    if state in ("RECEIVED", "CLOSED"):
        return p["received"].format(order=order_id)
    if state == "CANCELED":
        return p["canceled"].format(order=order_id)
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


def greeting(name: str | None, lang: str) -> str:
    p = PHRASES[lang]
    return p["hello"].format(name=name) if name else p["hello_anon"]


def sign_off(lang: str, shop: str) -> list[str]:
    p = PHRASES[lang]
    return [p["close"], p["sign"].format(shop=shop)]


def reply_language(language: str) -> str:
    """The phrasebook's language for a customer's language (English when it has none)."""
    return language if language in PHRASES else "en"


def retrieval_draft(
    ctx: Conversation,
    order: OrderFacts | None,
    hits: list[Hit],
    shop: str,
    unverified: str | None = None,
) -> str:
    lang = reply_language(ctx["language"])
    p = PHRASES[lang]
    parts = [greeting(ctx["customer_name"], lang), p["thanks"]]
    if order is not None and (sentence := order_sentence(order, lang)):
        parts.append(sentence)
    elif unverified:
        parts.append(p["checking"])  # nothing about the order was verified: nothing is claimed
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
    return "\n\n".join([*parts, *sign_off(lang, shop)])


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


def context_prompt(
    ctx: Conversation, order: OrderFacts | None, hits: list[Hit], unverified: str | None = None
) -> str:
    lines = ["CONVERSATION (oldest first):"]
    for direction, body in ctx["history"]:
        lines.append(f"- {'customer' if direction == 'inbound' else 'us'}: {body}")
    lines.append("")
    if order is not None:
        o = order
        lines.append("ORDER FACTS:")
        products = ", ".join(line["product"] for line in o["lines"]) or "?"
        lines.append(
            f"- order {o['order_id']}, state {o['state'] or 'unknown'}, products: {products}"
        )
        if o["shipment_status"]:
            lines.append(
                f"- shipment: {o['shipment_status']}, carrier {o['carrier'] or '?'}, "
                f"tracking {o['tracking_number'] or 'none'} {o['tracking_url'] or ''}".rstrip()
            )
        lines.append(f"- read from Mirakl at {o.get('fetched_at') or '?'}")
        lines.append("")
    elif unverified:
        lines.append(f"ORDER FACTS: none could be verified ({unverified}).")
        lines.append(
            "State no order fact (state, date, tracking, amount); say that you are checking."
        )
        lines.append("")
    lines.append("POLICY EXCERPTS:")
    for i, hit in enumerate(hits, start=1):
        lines.append(f"[{i}] {hit.path} — {hit.heading}\n{hit.body.strip()}")
    lines.append("")
    lines.append(f"THE CUSTOMER'S LATEST MESSAGE:\n{ctx['question']}")
    lines.append("\nWrite the reply.")
    return "\n".join(lines)


def llm_draft(
    ctx: Conversation,
    order: OrderFacts | None,
    hits: list[Hit],
    model: BaseChatModel,
    shop: str,
    tools: list[BaseTool] | None = None,
    max_steps: int = 4,
    unverified: str | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    language = LANGUAGE_NAMES["en"].get(ctx["language"], "the customer's language")
    messages = [
        SystemMessage(SYSTEM_PROMPT.format(shop=shop, language=language)),
        HumanMessage(context_prompt(ctx, order, hits, unverified)),
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
    ctx: Conversation,
    order: OrderFacts | None,
    retriever: Retriever,
    *,
    shop: str,
    model: BaseChatModel | None = None,
    tools: list[BaseTool] | None = None,
    k: int = 8,
    max_steps: int = 4,
    query_vector: list[float] | None = None,
    doc_type: str | None = None,
    unverified: str | None = None,
) -> Draft:
    """The draft for a thread: the one function the API and the graph's draft node share.
    `doc_type` narrows retrieval to the policy the request is about (when it has chunks);
    `unverified` says what could not be verified (the draft then claims nothing about it)."""
    query = ctx["search_query"] or ctx["question"]
    try:
        hits = retriever.search(query, k=k, query_vector=query_vector, doc_type=doc_type).hits
        if not hits and doc_type is not None:
            hits = retriever.search(query, k=k, query_vector=query_vector).hits
    except KnowledgeError as exc:
        # No knowledge base yet (or an unusable one): the draft is still written, from the
        # conversation and the order's facts, without policy passages.
        log.warning("drafting without the knowledge base: %s", exc)
        hits = []
    sources = [Source(h.doc, h.path, h.heading, round(h.score, 4)) for h in hits]
    if model is not None:
        text, calls = llm_draft(ctx, order, hits, model, shop, tools, max_steps, unverified)
        return Draft(text, sources, "llm", ctx["language"], calls)
    used = choose_passages(hits, reply_language(ctx["language"]))
    used_sources = [Source(h.doc, h.path, h.heading, round(h.score, 4)) for h in used]
    return Draft(
        retrieval_draft(ctx, order, hits, shop, unverified),
        used_sources or sources,
        "retrieval",
        ctx["language"],
    )


def scoped_tools(tools: list[BaseTool] | None, order_id: str | None) -> list[BaseTool] | None:
    """The drafting tools for one conversation: tools about an order answer only for the order
    verified as this customer's (none when there is none), so a model can never look up, and
    then write, another customer's order facts."""
    if tools is None:
        return None
    scoped: list[BaseTool] = []
    for tool in tools:
        if "order_id" not in tool.args:
            scoped.append(tool)
        elif order_id is not None:
            scoped.append(_only_for(tool, order_id))
    return scoped


def _only_for(tool: BaseTool, order_id: str) -> BaseTool:
    from langchain_core.tools import StructuredTool

    def call(**kwargs: Any) -> Any:
        if kwargs.get("order_id") != order_id:
            return {"error": f"only order {order_id}, this conversation's, can be looked up"}
        return tool.invoke(kwargs)

    return StructuredTool.from_function(
        call, name=tool.name, description=tool.description, args_schema=tool.args_schema
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
    def from_settings(
        cls,
        settings: Settings,
        engine: Engine,
        model: BaseChatModel | None,
        business: BusinessApi,
    ) -> DraftingService:
        """With a model, the read-only business tools (and refund quotes) come along."""
        from tools.business import DRAFTING_TOOLS, make_business_tools
        from tools.refunds import RefundRules

        tools = None
        if model is not None:
            rules = RefundRules.load(settings.refund_rules_path)
            available = make_business_tools(business, rules)
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
        ctx: Conversation,
        order: OrderFacts | None,
        query_vector: list[float] | None = None,
        doc_type: str | None = None,
        unverified: str | None = None,
    ) -> Draft:
        return draft_reply(
            ctx,
            order,
            self.retriever,
            shop=self.settings.shop_name,
            model=self.model,
            tools=scoped_tools(self.tools, order["order_id"] if order and not unverified else None),
            max_steps=self.settings.llm_max_tool_steps,
            query_vector=query_vector,
            doc_type=doc_type,
            unverified=unverified,
        )
