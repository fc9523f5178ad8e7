"""Everything the graph's nodes call outside themselves, handed over in the run's config."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import lru_cache, wraps
from typing import Any, TypeVar

from langchain_core.runnables import RunnableConfig
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from graph.classify.model import IntentClassifier
from knowledge.drafts import DraftingService
from store.settings import Settings
from tools.business import BusinessApi
from tools.mirakl.client import MiraklClient

T = TypeVar("T")


@dataclass
class Services:
    settings: Settings
    engine: Engine
    classifier: IntentClassifier
    drafting: DraftingService
    mirakl: Callable[[], MiraklClient]
    business: BusinessApi

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine) -> Services:
        from graph.classify.model import LocalIntentModel
        from graph.llm import chat_model

        return cls(
            settings=settings,
            engine=engine,
            classifier=IntentClassifier(
                LocalIntentModel(settings), chat_model(settings), settings.classifier_llm_threshold
            ),
            drafting=DraftingService.from_settings(settings, engine),
            mirakl=lambda: MiraklClient.from_settings(settings),
            business=BusinessApi.from_settings(settings),
        )

    def own_transaction(self) -> AbstractContextManager[Session]:
        """A transaction of its own, committed at once (for audit rows that must survive)."""
        return sessionmaker(bind=self.engine).begin()

    def run_mirakl(self, call: Callable[[MiraklClient], Coroutine[Any, Any, T]]) -> T:
        async def go() -> T:
            async with self.mirakl() as client:
                return await call(client)

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(go())
        # Called from async code (e.g. `sync`): run the client on a loop of its own.
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, go()).result()


@lru_cache(maxsize=1)
def default_services() -> Services:
    """csagent's services from its settings, for runs started outside csagent (LangGraph
    Studio / `langgraph dev`), which do not hand them over in the config."""
    from store.db import get_engine
    from store.settings import get_settings

    settings = get_settings()
    return Services.from_settings(settings, get_engine(settings))


def services_of(config: RunnableConfig) -> Services:
    services: Services | None = config.get("configurable", {}).get("services")
    return services or default_services()


def session_of(config: RunnableConfig) -> Session:
    """The session of the processing run (it holds the thread's lock and sees its message)."""
    session: Session = config["configurable"]["session"]
    return session


def with_session(node: Callable[..., T]) -> Callable[..., T]:
    """Give a node a transaction of its own when the run did not bring one (LangGraph Studio);
    inside csagent the pipeline's session is used and this is a pass-through."""

    @wraps(node)
    def run(state: Any, config: RunnableConfig) -> T:
        configurable = config.get("configurable", {})
        if "session" in configurable:
            return node(state, config)
        services = services_of(config)
        with services.own_transaction() as session:
            inner = {
                **config,
                "configurable": {**configurable, "session": session, "services": services},
            }
            return node(state, inner)

    return run
