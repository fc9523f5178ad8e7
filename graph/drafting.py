"""Reply drafts for a thread, grounded in the knowledge base and the order's facts.

With an LLM: grounded generation (optionally with the read-only business tools). Without one: a
retrieval draft in the customer's language — greeting, the order facts that matter, the most
relevant policy passages, a sign-off. Both say where their facts came from.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

import yaml
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.tools import BaseTool
from sqlalchemy import Engine

from graph.claims import unsupported_claims
from graph.replies import Decision, day, decide, policy_sentences, waited_too_long
from graph.state import Conversation
from knowledge.ingest import KnowledgeError
from knowledge.language import detect_language
from knowledge.retriever import Hit, Retriever
from store.facts import OrderFacts
from store.mirakl_models import CANCELLABLE_STATES
from store.settings import DEFAULT_MARKETPLACE, Settings
from tools.business import BusinessApi
from tools.refunds import RefundRules

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
    decision: str | None = None  # the decision stated first (graph/replies.py), if any
    flags: list[str] = field(default_factory=list)  # what the draft states the facts do not


# -- the retrieval draft, one phrasebook per language ------------------------------------------

PHRASEBOOK = yaml.safe_load(files("graph").joinpath("phrases.yaml").read_text(encoding="utf-8"))
PHRASES: dict[str, dict[str, str]] = PHRASEBOOK["phrases"]
DECISIONS: dict[str, dict[str, str]] = PHRASEBOOK["decisions"]
LANGUAGE_NAMES: dict[str, dict[str, str]] = PHRASEBOOK["language_names"]


def order_sentence(facts: OrderFacts, lang: str) -> str | None:
    """What can truthfully be said of an order from its Mirakl facts, or None (nothing safe)."""
    p = PHRASES[lang]
    state, order_id = facts["state"], facts["order_id"]
    if state in CANCELLABLE_STATES:  # not yet debited: being confirmed
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


def greeting(name: str | None, lang: str, title: str | None = None) -> str:
    """ "Bonjour Madame Dupont," for a customer who goes by a title, "Bonjour Claire," for a
    first name, "Bonjour," when the only name is a screen name."""
    p = PHRASES[lang]
    if not name:
        return p["hello_anon"]
    return (
        p[f"hello_{title}"].format(name=name)
        if title in ("mr", "mrs")
        else p["hello"].format(name=name)
    )


def sign_off(lang: str, shop: str) -> list[str]:
    p = PHRASES[lang]
    return [p["close"], p["sign"].format(shop=shop)]


def reply_language(language: str) -> str:
    """The phrasebook's language for a customer's language (English when it has none)."""
    return language if language in PHRASES else "en"


# Decisions that wait for something (the order to be verified, its number): the policy
# passages that answer the question follow them.
ASKING = frozenset({"order_checking", "order_needed"})
ELIDED = {"il": "l'", "al": "all'", "dal": "dall'", "del": "dell'", "nel": "nell'"}


def italian_articles(text: str) -> str:
    """Dates after an article, as Italian writes them: "l'8 ottobre", "all'11 novembre",
    "il 1º dicembre"."""
    text = re.sub(
        r"\b(il|al|dal|del|nel) (8|11) ",
        lambda m: f"{ELIDED[m.group(1)]}{m.group(2)} ",
        text,
    )
    return re.sub(r"\b(il|al|dal|del|nel) 1 ", r"\1 1º ", text)


def decision_sentence(decision: Decision, order: OrderFacts | None, lang: str) -> str | None:
    """The decision in the customer's language, or None when there is no sentence for it."""
    if decision.kind == "order_checking":
        return PHRASES[lang]["checking"]
    if decision.kind == "order_state":
        return order_sentence(order, lang) if order is not None else None
    template = DECISIONS[lang].get(decision.kind)
    try:
        sentence = template.format(**decision.values) if template else None
        return italian_articles(sentence) if sentence and lang == "it" else sentence
    except KeyError as missing:  # a fact the sentence needs is unknown: say nothing of it
        log.warning("no %s sentence without %s", decision.kind, missing)
        return None


def retrieval_draft(
    ctx: Conversation,
    order: OrderFacts | None,
    hits: list[Hit],
    shop: str,
    unverified: str | None = None,
    *,
    decision: Decision | None = None,
    stated: str | None = None,
    reason: str = "",
    late: bool = False,
) -> str:
    """Greeting, an apology when the reply is late, the decision (`stated`: its sentence) and
    its reason (`reason`: one or two sentences of the policy behind it), sign-off. Without a
    decision: what can truthfully be said of the order and the most relevant policy passages,
    in the customer's language."""
    lang = reply_language(ctx["language"])
    p = PHRASES[lang]
    parts = [greeting(ctx["customer_name"], lang, ctx.get("title"))]
    if late:
        parts.append(p["sorry_late"])
    if decision is not None and stated is not None and decision.kind not in ASKING:
        if not decision.kind.startswith("damaged_photos_received"):  # it thanks for the photos
            parts.append(p["thanks"])
        parts.append(stated)
        if reason:
            parts.append(reason)
        return "\n\n".join([*parts, *sign_off(lang, shop)])
    parts.append(p["thanks"])
    if stated is not None:  # no order to decide on yet: say so, then what the policy says
        parts.append(stated)
    elif order is not None and (sentence := order_sentence(order, lang)):
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
        parts.append(intro + "\n\n" + "\n\n".join(passage_text(h) for h in passages))
    return "\n\n".join([*parts, *sign_off(lang, shop)])


def passage_text(hit: Hit) -> str:
    """A policy passage as the customer reads it: under its section's title, which a section
    often needs to make sense ("What the warranty does not cover:" before a list of damages)."""
    title = hit.heading.rsplit(">", 1)[-1].strip() if hit.heading else ""
    body = hit.body.strip()
    if not title or body.startswith(title):
        return body
    return f"{title}:\n{body}"


# -- the LLM draft ---------------------------------------------------------------------------------

SYSTEM_PROMPT = """You draft replies for the customer service of {shop}, a seller of home \
appliances on European marketplaces. A human agent reviews every draft before it is sent.
Rules:
- Write in {language}, the customer's language, politely and briefly; greet the customer by first \
name when known and sign as the {shop} customer service.
- Use only facts from ORDER FACTS, POLICY EXCERPTS and tool results. Never invent a policy, a \
date, an amount, a tracking number or a promise.
- When a DECISION is given, state it first, with its reason, exactly as decided (you may \
rephrase the suggested wording, never change what it decides), then the policy behind it in one \
or two sentences. Never paste whole policy sections.
- Write dates and amounts exactly as given in FACTS. Do not ask for what the customer already \
sent. Apologise for the wait when the FACTS say the reply is late.
- If they do not answer the question, say that you are checking with a colleague and will come \
back to the customer, instead of guessing.
- Never mention costs, margins or internal figures; refunds are only proposed, never confirmed."""


def context_prompt(
    ctx: Conversation,
    order: OrderFacts | None,
    hits: list[Hit],
    unverified: str | None = None,
    *,
    decision: Decision | None = None,
    stated: str | None = None,
    late: bool = False,
) -> str:
    lines = ["CONVERSATION (oldest first):"]
    for direction, body in ctx["history"]:
        lines.append(f"- {'customer' if direction == 'inbound' else 'us'}: {body}")
    lines.append("")
    lang = reply_language(ctx["language"])
    lines.append("FACTS ABOUT THE THREAD:")
    hello = greeting(ctx["customer_name"], lang, ctx.get("title"))
    lines.append(f"- greet the customer with: {hello}")
    if ctx.get("photos"):
        lines.append(f"- the customer has already attached {ctx.get('photos')} photo(s)")
    if late:
        lines.append("- the reply is late (past the reply deadline): apologise for the wait")
    lines.append("")
    if decision is not None:
        lines.append(f"DECISION: {decision.why}")
        if stated:  # the facts in the words that say what they are
            lines.append(f"Suggested wording: {stated}")
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
    *,
    decision: Decision | None = None,
    stated: str | None = None,
    late: bool = False,
    tool_choice: str = "auto",
) -> tuple[str, list[dict[str, Any]], list[str]]:
    """(draft, tool calls, what the tools answered): the model only phrases what was decided."""
    language = LANGUAGE_NAMES["en"].get(ctx["language"], "the customer's language")
    prompt = context_prompt(
        ctx, order, hits, unverified, decision=decision, stated=stated, late=late
    )
    messages = [
        SystemMessage(SYSTEM_PROMPT.format(shop=shop, language=language)),
        HumanMessage(prompt),
    ]
    if tools:
        from langchain_core.messages import ToolMessage

        from graph.tool_loop import run_tool_loop

        result = run_tool_loop(model, messages, tools, max_steps=max_steps, tool_choice=tool_choice)  # type: ignore[arg-type]
        answers = [str(m.content) for m in result.messages if isinstance(m, ToolMessage)]
        if result.outcome == "answered" and result.text:
            return result.text, result.tool_calls, answers
        # The model kept calling tools: fall back to answering from what it already has.
    reply = model.invoke(messages)
    return str(reply.content), [], []


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
    decision: Decision | None = None,
    late: bool = False,
    knowledge_dir: Path | None = None,
    tool_choice: str = "auto",
) -> Draft:
    """The draft for a thread: the one function the API and the graph's draft node share.
    `doc_type` narrows retrieval to the policy the request is about (when it has chunks);
    `unverified` says what could not be verified (the draft then claims nothing about it);
    `decision` is what the seller decided (stated first); `late`: apologise for the wait."""
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
    lang = reply_language(ctx["language"])
    stated = decision_sentence(decision, order, lang) if decision is not None else None
    reason = (
        policy_sentences(knowledge_dir, lang, decision.policy)
        if decision is not None and decision.policy is not None and knowledge_dir is not None
        else ""
    )
    facts = fact_sources(ctx, order, decision, [stated or "", reason])
    sources = [Source(h.doc, h.path, h.heading, round(h.score, 4)) for h in hits]
    kind = decision.kind if decision is not None and stated is not None else None
    fallback: list[str] = []  # why the model's draft was not used
    if model is not None:
        try:
            text, calls, answers = llm_draft(
                ctx, order, hits, model, shop, tools, max_steps, unverified,
                decision=decision if kind else None, stated=stated, late=late,
                tool_choice=tool_choice,
            )  # fmt: skip
        except Exception as exc:  # the server is down, refused, timed out: draft without it
            log.warning("LLM draft failed, drafting from the knowledge base: %r", exc)
            fallback.append(f"the LLM could not draft ({type(exc).__name__}): drafted without it")
        else:
            written_in = detect_language(text, default=lang) if text.strip() else None
            if written_in == lang:
                flags = unsupported_claims(text, [*facts, *(h.body for h in hits), *answers])
                return Draft(text, sources, "llm", ctx["language"], calls, kind, flags)
            fallback.append(
                f"the LLM answered in {written_in or 'nothing'}, not in {lang}: drafted without it"
            )
    text = retrieval_draft(
        ctx, order, hits, shop, unverified,
        decision=decision, stated=stated, reason=reason, late=late,
    )  # fmt: skip
    used = [] if kind else choose_passages(hits, lang)
    used_sources = [Source(h.doc, h.path, h.heading, round(h.score, 4)) for h in used]
    if kind and decision is not None and decision.policy is not None and reason:
        used_sources = [Source(decision.policy[0], f"{lang}/{decision.policy[0]}.md", "", 1.0)]
    flags = fallback + unsupported_claims(text, [*facts, *(h.body for h in hits)])
    return Draft(text, used_sources or sources, "retrieval", ctx["language"], [], kind, flags)


def fact_sources(
    ctx: Conversation, order: OrderFacts | None, decision: Decision | None, extra: list[str]
) -> list[str]:
    """Everything a draft may rest on, as text: the conversation, the order as read from
    Mirakl (its facts, not its timestamps' hours and minutes), the decision."""
    texts = [body for _, body in ctx["history"]] + [ctx["question"], *extra]
    if ctx.get("photos"):
        texts.append(f"photos attached: {ctx.get('photos')}")
    if order is not None:
        texts.append(order_text(order))
        lang = reply_language(ctx["language"])
        for key in ("created", "shipped", "delivered"):
            value = order.get(key)
            if isinstance(value, str) and value:
                texts.append(day(value, lang))
    if decision is not None:
        texts.extend([decision.why, *decision.values.values()])
    return texts


def read_new_address(text: str, order: OrderFacts, lang: str) -> dict[str, Any] | None:
    """The new delivery address the customer gave, when it reads completely and safely."""
    from graph.address import parse_address

    current: dict[str, Any] = dict(order["address"] or {})
    reading = parse_address(text, current.get("country"), lang)
    return reading.fields() if reading.complete and not reading.problems else None


def order_text(order: OrderFacts) -> str:
    """The facts of an order a reply may state, one per line."""
    lines = [f"order {order['order_id']} ({order['order_id'].split('-')[0]}), {order['state']}"]
    for line in order["lines"]:
        lines.append(f"{line['qty']} x {line['product']}: {line['price']} {order['currency']}")
    if order.get("shipping_price"):
        lines.append(f"shipping {order.get('shipping_price')} {order['currency']}")
    for key in ("created", "shipped", "delivered"):
        value = order.get(key)
        if isinstance(value, str) and value:
            lines.append(f"{key} {value[:10]}")
    if order["tracking_number"]:
        lines.append(f"{order['carrier'] or ''} {order['tracking_number']}")
    if order["tracking_url"]:
        lines.append(order["tracking_url"])
    if order["address"]:
        address = order["address"]
        lines.append(" ".join(str(v) for v in address.values() if v))
    return "\n".join(lines)


# With CSAGENT_LLM_TOOL_CHOICE=intent: the one tool a request of this intent needs is called
# first (a forced call: servers bound its arguments by max_tokens, which llama.cpp does not do
# for tool_choice=auto), then the model answers without tools.
INTENT_TOOLS = {
    "product_question": "check_inventory",
    "order_status": "get_shipment",
    "delivery_issue": "get_shipment",
}


def tool_choice_for(setting: str, intent: str | None) -> str:
    """The tool_choice of a draft's first model turn: the setting, or with `intent`, the name
    of the tool the intent calls for (`none` when it calls for none)."""
    if setting != "intent":
        return setting
    return INTENT_TOOLS.get(intent or "", "none")


def scoped_tools(
    tools: list[BaseTool] | None,
    order_id: str | None,
    skus: Collection[str] = (),
    written: str = "",
) -> list[BaseTool] | None:
    """The drafting tools for one conversation: tools about an order answer only for the order
    verified as this customer's (none when there is none), and stock only for that order's SKUs
    and the ones the customer wrote, so a model can never look up, and then write, another
    customer's order facts, whatever a message tells it to call."""
    if tools is None:
        return None
    scoped: list[BaseTool] = []
    for tool in tools:
        if "order_id" in tool.args:
            if order_id is not None:
                scoped.append(_only_for(tool, "order_id", {order_id}, f"order {order_id}"))
        elif "sku" in tool.args:
            allowed = {s for s in skus if s} | _written_skus(written)
            scoped.append(_only_for(tool, "sku", allowed, "this order's products or those named"))
        else:
            scoped.append(tool)
    return scoped


SKU_LIKE = re.compile(r"(?<![\w-])[A-Za-z0-9][A-Za-z0-9._-]{2,40}(?![\w-])")


def _written_skus(text: str) -> set[str]:
    """Product references the customer wrote (with a digit or a dash: "VAC-CYC-900")."""
    return {m for m in SKU_LIKE.findall(text[:5_000]) if any(c.isdigit() for c in m) or "-" in m}


def _only_for(tool: BaseTool, arg: str, allowed: set[str], what: str) -> BaseTool:
    from langchain_core.tools import StructuredTool

    def call(**kwargs: Any) -> Any:
        if kwargs.get(arg) not in allowed:
            return {"error": f"only {what} can be looked up in this conversation"}
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
        tools_for: Callable[[str], list[BaseTool]] | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.model = model
        self.tools = tools
        # The tools of one marketplace (their order lookups name it): built per draft.
        self.tools_for = tools_for
        self._retriever: Retriever | None = None
        self._rules: RefundRules | None = None

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

        if model is None:
            return cls(settings, engine)
        rules = RefundRules.load(settings.refund_rules_path)

        def tools_for(marketplace: str) -> list[BaseTool]:
            available = make_business_tools(business, rules, marketplace)
            return [available[name] for name in DRAFTING_TOOLS]

        return cls(
            settings, engine, model=model, tools=tools_for(DEFAULT_MARKETPLACE),
            tools_for=tools_for,
        )  # fmt: skip

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            from knowledge.ingest import KnowledgeBase

            self._retriever = Retriever(KnowledgeBase(self.settings, self.engine))
        return self._retriever

    @property
    def refund_rules(self) -> RefundRules | None:
        if self._rules is None:
            try:
                self._rules = RefundRules.load(self.settings.refund_rules_path)
            except (OSError, ValueError) as exc:
                log.warning("refund rules unreadable, no amount is proposed: %s", exc)
                return None
        return self._rules

    def draft(
        self,
        ctx: Conversation,
        order: OrderFacts | None,
        query_vector: list[float] | None = None,
        doc_type: str | None = None,
        unverified: str | None = None,
        *,
        intent: str | None = None,
        text: str | None = None,
        address: dict[str, Any] | None = None,
        now: datetime | None = None,
        marketplace: str,
    ) -> Draft:
        """The draft for `intent` (when known): the seller's decision first, then the policy,
        with the thread's marketplace's window, deadline, signature and order lookups."""
        s = self.settings.for_marketplace(marketplace)
        moment = now or datetime.now(UTC)
        lang = reply_language(ctx["language"])
        if intent == "address_update" and address is None and order is not None:
            address = read_new_address(text or ctx["question"], order, lang)
        decision = decide(
            intent, text or ctx["question"], order, ctx, now=moment, lang=lang,
            cancellation_window_hours=s.cancellation_window_hours,
            refund_rules=self.refund_rules, address=address, unverified=unverified,
        )  # fmt: skip
        return draft_reply(
            ctx,
            order,
            self.retriever,
            shop=s.shop_name,
            model=self.model,
            tools=scoped_tools(
                self.tools_for(marketplace) if self.tools_for is not None else self.tools,
                order["order_id"] if order and not unverified else None,
                # (a line checkpointed before SKUs were kept names its product by SKU or title)
                skus=[ln.get("sku") or ln["product"] for ln in order["lines"]]
                if order and not unverified
                else [],
                written=text or ctx["question"],
            ),
            max_steps=self.settings.llm_max_tool_steps,
            tool_choice=tool_choice_for(self.settings.llm_tool_choice, intent),
            query_vector=query_vector,
            doc_type=doc_type,
            unverified=unverified,
            decision=decision,
            late=waited_too_long(ctx, moment, s.sla_hours),
            knowledge_dir=self.settings.knowledge_dir,
        )
