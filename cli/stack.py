"""A whole csagent on loopback for evaluations and benchmarks: a throwaway embedded PostgreSQL
seeded from examples/, the knowledge base, the Mirakl simulator and the API with the agent."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry
from pydantic import SecretStr
from sqlalchemy import Engine

from cli.local_server import wait_for_health
from store.metrics import multiprocess_registry
from store.settings import Settings

API_KEY = "evals"
REVIEWER_KEY = "evals-reviewer"
REVIEWER_HEADERS = {"X-API-Key": REVIEWER_KEY, "X-Actor": "evals"}


@dataclass
class Stack:
    settings: Settings
    engine: Engine
    simulator: Any  # the simulator's FastAPI app; its state is `simulator.state.sim`
    sim_url: str
    app: Any  # None when the API runs in server processes of its own
    api_url: str
    headers: dict[str, str]  # the webhook sender's
    metrics: CollectorRegistry = REGISTRY  # where the API's stage metrics are read
    reviewer_headers: dict[str, str] = field(default_factory=lambda: dict(REVIEWER_HEADERS))


@contextmanager
def throwaway_stack(name: str, processes: int = 1, **overrides: Any) -> Iterator[Stack]:
    """`processes` > 1 serves the API with `csagent serve --workers N` (as a deployment on one
    machine would) instead of in this process; `overrides` are settings (e.g. shadow mode)."""
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
                    "reviewer_api_key": SecretStr(REVIEWER_KEY),
                    "internal_api_key": SecretStr(f"{API_KEY}-internal"),
                    "mirakl_base_url": f"{sim_url}/api",
                    "internal_api_url": f"http://127.0.0.1:{port}/internal/v1",
                    **overrides,
                }
            )
            engine = get_engine(settings)
            with session_scope(settings) as session:
                seed_business_data(session)
            KnowledgeBase(settings, engine).ingest(settings.knowledge_dir)
            headers = {"X-API-Key": API_KEY}
            if processes > 1:
                metrics_dir = Path(tmp) / "metrics"
                metrics_dir.mkdir()
                with served_by_processes(settings, port, processes, metrics_dir) as api_url:
                    yield Stack(
                        settings, engine, simulator, sim_url, None, api_url, headers,
                        multiprocess_registry(metrics_dir),
                    )  # fmt: skip
                return
            app = create_app(settings, queue_worker=False)
            with serve_in_thread(app, lifespan="on", port=port) as api_url:
                yield Stack(settings, engine, simulator, sim_url, app, api_url, headers)


@contextmanager
def served_by_processes(
    settings: Settings, port: int, workers: int, metrics_dir: Path
) -> Iterator[str]:
    """`csagent serve --workers N` on `settings`, until the block ends."""
    assert settings.api_key is not None and settings.internal_api_key is not None
    env = {
        **os.environ,
        "DATABASE_URL": str(settings.database_url),
        "CSAGENT_PROCESSING": "agent",
        "CSAGENT_API_QUEUE_WORKER": "false",
        "CSAGENT_API_KEY": settings.api_key.get_secret_value(),
        "CSAGENT_INTERNAL_API_KEY": settings.internal_api_key.get_secret_value(),
        "CSAGENT_REVIEWER_API_KEY": REVIEWER_KEY,
        "CSAGENT_MIRAKL_BASE_URL": settings.mirakl_base_url,
        "CSAGENT_INTERNAL_API_URL": settings.internal_api_url,
        "CSAGENT_DATA_DIR": str(settings.data_dir.expanduser().resolve()),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    command = [sys.executable, "-m", "cli", "serve", "--port", str(port), "--workers", str(workers)]
    log = metrics_dir.with_name("serve.log")
    server = subprocess.Popen(command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_for_health(url, server, timeout_s=120):
            raise RuntimeError(f"csagent serve did not start: {log.read_text()[-2000:]}")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
