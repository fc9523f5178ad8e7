"""A whole csagent on loopback for evaluations and benchmarks: a throwaway embedded PostgreSQL
seeded from examples/, the knowledge base, the Mirakl simulator and the API with the agent."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Engine

from store.settings import Settings

API_KEY = "evals"


@dataclass
class Stack:
    settings: Settings
    engine: Engine
    simulator: Any  # the simulator's FastAPI app; its state is `simulator.state.sim`
    sim_url: str
    app: Any
    api_url: str
    headers: dict[str, str]


@contextmanager
def throwaway_stack(name: str) -> Iterator[Stack]:
    from api.app import create_app
    from cli.local_server import free_port, serve_in_thread
    from knowledge.ingest import KnowledgeBase
    from store import migrate
    from store.business import seed_business_data
    from store.db import get_engine, session_scope, start_embedded_server
    from store.settings import get_settings
    from tools.mirakl.simulator import create_simulator

    with tempfile.TemporaryDirectory(prefix=f"csagent-{name}-") as tmp:
        url = start_embedded_server(Path(tmp), name)
        migrate.upgrade(url)
        simulator = create_simulator()
        with serve_in_thread(simulator) as sim_url:
            port = free_port()
            settings = get_settings().model_copy(
                update={
                    "database_url": url,
                    "processing": "agent",
                    "api_key": SecretStr(API_KEY),
                    "internal_api_key": SecretStr(f"{API_KEY}-internal"),
                    "mirakl_base_url": f"{sim_url}/api",
                    "internal_api_url": f"http://127.0.0.1:{port}/internal/v1",
                }
            )
            engine = get_engine(settings)
            with session_scope(settings) as session:
                seed_business_data(session)
            KnowledgeBase(settings, engine).ingest(settings.knowledge_dir)
            app = create_app(settings, queue_worker=False)
            with serve_in_thread(app, lifespan="on", port=port) as api_url:
                yield Stack(
                    settings, engine, simulator, sim_url, app, api_url, {"X-API-Key": API_KEY}
                )
