"""What one csagent process works with, built once: the services (Mirakl clients, the business
API, the classifier, the drafting service), the agent that uses them, the queue it processes and
the poller that fills it. The CLI's app factory builds it and hands it to the HTTP app, the
dashboard, the queue worker and the poller; nothing takes a service back out of another."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from graph.processor import Agent
from graph.services import Services
from store.db import get_engine
from store.queue import Pipeline, Processor, store_only
from store.settings import Settings
from tools.mirakl.poller import Poller


@dataclass
class Composition:
    settings: Settings
    engine: Engine
    services: Services
    agent: Agent | None  # None: the agent is off (CSAGENT_PROCESSING=store) or replaced
    pipeline: Pipeline
    poller: Poller | None  # None: the marketplaces' inboxes are not read by this process

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        engine: Engine | None = None,
        processor: Processor | None = None,
        poll: bool = False,
    ) -> Composition:
        """`processor`: what processes each stored message instead of the agent (tests);
        `poll`: read each marketplace's inbox in the background (tools/mirakl/poller.py)."""
        engine = engine or get_engine(settings)
        services = Services.from_settings(settings, engine)
        agent = None
        if processor is None and settings.processing != "store":
            agent = Agent.create(services)
        pipeline = Pipeline.from_settings(
            settings, engine=engine, processor=processor or agent or store_only
        )
        # A polled message takes the webhook's path: recorded, then processed by the queue.
        poller = Poller(settings, engine, pipeline.enqueue) if poll else None
        return cls(settings, engine, services, agent, pipeline, poller)

    def close(self) -> None:
        self.services.close()
