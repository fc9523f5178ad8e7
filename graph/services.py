"""Everything the graph's nodes use outside themselves, built once per process by the
composition root and handed to each run through LangGraph's runtime context."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache

from langgraph.runtime import Runtime
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from graph.classify.model import IntentClassifier, LocalIntentModel
from graph.drafting import DraftingService
from graph.llm import chat_model
from graph.verify import MessageCheck
from store.ingest import IncomingMessage
from store.settings import DEFAULT_MARKETPLACE, MarketplaceConnection, Settings, UnknownMarketplace
from tools.business import BusinessApi
from tools.mirakl.blocking import BlockingMirakl
from tools.mirakl.client import MiraklClient


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]  # transactions of their own (audit rows that must survive)
    classifier: IntentClassifier
    drafting: DraftingService
    mirakl: BlockingMirakl  # the default marketplace's
    business: BusinessApi
    marketplaces: dict[str, BlockingMirakl] = field(default_factory=dict)  # by stored name

    def mirakl_for(self, marketplace: str) -> BlockingMirakl:
        """The Mirakl client of a marketplace (by its stored name); LookupError when csagent
        has no such marketplace configured."""
        if marketplace == DEFAULT_MARKETPLACE:
            return self.mirakl
        try:
            return self.marketplaces[marketplace]
        except KeyError:
            raise UnknownMarketplace(f"no marketplace {marketplace!r} is configured") from None

    def settings_for(self, marketplace: str) -> Settings:
        """The settings as they apply on that marketplace (deadline, window, signature)."""
        return self.settings.for_marketplace(marketplace)

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine) -> Services:
        """One chat model, one business client, one drafting service, one Mirakl client."""
        model = chat_model(settings)
        business = BusinessApi.from_settings(settings)
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessionmaker(bind=engine, expire_on_commit=False),
            classifier=IntentClassifier(
                LocalIntentModel(settings),
                model,
                settings.classifier_llm_threshold,
                settings.llm_structured_output,
            ),  # fmt: skip
            drafting=DraftingService.from_settings(settings, engine, model, business),
            mirakl=_client(settings.default_connection(), settings),
            business=business,
            marketplaces={
                settings.stored_name(c.name): _client(c, settings)
                for c in settings.connections()[1:]
            },
        )

    def close(self) -> None:
        self.mirakl.close()
        for client in self.marketplaces.values():
            client.close()
        self.business.close()


def _client(connection: MarketplaceConnection, settings: Settings) -> BlockingMirakl:
    """A marketplace's client, created on first use (a key missing from the environment fails
    that marketplace's calls, not csagent's start)."""
    if not settings.multi_marketplace:
        return BlockingMirakl(lambda: MiraklClient.from_settings(settings))
    return BlockingMirakl(lambda: MiraklClient.for_marketplace(connection, settings))


@dataclass
class RunContext:
    """The runtime context of one graph run (`context_schema`). Inside csagent it carries the
        process's services and the pipeline's session, which holds the thread's lock and sees the
        stored message, and the webhook's message as it arrived; a run started elsewhere (LangGraph
    Studio) brings none of them."""

    services: Services | None = None
    session: Session | None = None
    message: IncomingMessage | None = None  # what the webhook claimed, checked against Mirakl
    check: MessageCheck | None = None  # that check, when the processor made it before the run


@lru_cache(maxsize=1)
def default_services() -> Services:
    """csagent's services from its settings, for runs started outside csagent (LangGraph
    Studio / `langgraph dev`), which do not hand them over."""
    from store.db import get_engine
    from store.settings import get_settings

    settings = get_settings()
    return Services.from_settings(settings, get_engine(settings))


def services_of(runtime: Runtime[RunContext]) -> Services:
    context = runtime.context
    return (context.services if context else None) or default_services()


@contextmanager
def transaction(runtime: Runtime[RunContext]) -> Iterator[Session]:
    """The run's session inside csagent; outside it, a transaction of the node's own, committed
    when the node returns."""
    context = runtime.context
    if context is not None and context.session is not None:
        yield context.session
        return
    with services_of(runtime).sessions.begin() as session:
        yield session
