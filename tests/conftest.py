"""One real PostgreSQL per test session: embedded in a temp dir, or `DATABASE_URL` if set.

Tests that touch the database take the `db_url` or `session` fixture; every table is emptied
after each of them, so tests see a clean schema. With `DATABASE_URL`, use a throwaway database.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from helpers import Internal, Simulator, serve
from sqlalchemy.orm import Session, sessionmaker

from store import migrate
from store.db import get_engine, libpq_url, start_embedded_server
from store.models import Base
from store.settings import DEFAULT_MARKETPLACE, get_settings


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """URL of the session's server, on its maintenance database (to create other databases)."""
    external = os.environ.get("DATABASE_URL")
    if external:
        return libpq_url(external)
    data_dir = tmp_path_factory.mktemp("pg")
    return start_embedded_server(data_dir, "csagent_test")


@pytest.fixture(scope="session")
def migrated_url(server_url: str) -> Iterator[str]:
    """The test database at the newest schema; every csagent entry point resolves to it."""
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = server_url
    # Ingestion, sync and API tests are about storage; the agent graph has tests of its own that
    # build it explicitly (tests/test_graph.py).
    os.environ.setdefault("CSAGENT_PROCESSING", "store")
    get_settings.cache_clear()
    migrate.upgrade(server_url)
    yield server_url
    if previous is None:
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = previous
    get_settings.cache_clear()


def truncate_all(url: str) -> None:
    # The knowledge-base registry stays: re-embedding the policies for every test costs seconds.
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables if t.name != "kb_collections")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture
def db_url(migrated_url: str) -> Iterator[str]:
    yield migrated_url
    truncate_all(migrated_url)


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    factory = sessionmaker(bind=get_engine(), expire_on_commit=False)
    with factory() as s:
        yield s
        s.rollback()


@pytest.fixture(scope="session")
def serve_app() -> Callable[[FastAPI], AbstractContextManager[str]]:
    return serve


@pytest.fixture(scope="session")
def _simulator_server() -> Iterator[Simulator]:
    from tools.mirakl.simulator import create_simulator

    app = create_simulator()
    with serve(app) as url:
        yield Simulator(app, url)


@pytest.fixture
def mirakl_sim(_simulator_server: Simulator) -> Simulator:
    """The Mirakl simulator over loopback HTTP, reset to its seeded state for each test."""
    _simulator_server.state.reset()
    _simulator_server.state.webhook_url = None
    return _simulator_server


@pytest.fixture
def internal(db_url: str) -> Iterator[Internal]:
    """The app with the demo business data, serving /internal/v1 with key `internal-key`."""
    from pydantic import SecretStr

    from api.app import create_app
    from store.business import seed_business_data
    from store.db import session_scope
    from store.settings import Settings

    with session_scope() as session:
        seed_business_data(session)
    settings = Settings(
        api_key=SecretStr("webhook-key"), internal_api_key=SecretStr("internal-key")
    )
    with serve(create_app(settings, queue_worker=False), lifespan="on") as url:
        yield Internal(url)


@pytest.fixture
def tools(internal: Internal) -> Iterator[dict[str, Any]]:
    """The agent's business tools, bound to the `internal` API."""
    from store.settings import Settings
    from tools.business import BusinessApi, make_business_tools
    from tools.refunds import RefundRules

    api = BusinessApi(f"{internal.url}/internal/v1", "internal-key")
    yield make_business_tools(
        api, RefundRules.load(Settings().refund_rules_path), DEFAULT_MARKETPLACE
    )
    api.close()


@pytest.fixture
def knowledge(db_url: str) -> Any:
    """The shipped knowledge base, ingested into the test database (embedded once per session)."""
    from knowledge.ingest import KnowledgeBase
    from store.db import get_engine
    from store.settings import Settings

    settings = Settings()
    kb = KnowledgeBase(settings, get_engine())
    kb.ingest(settings.knowledge_dir)
    return kb
