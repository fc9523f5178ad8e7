"""The process's one Mirakl connection for synchronous code (the graph's nodes).

A single `MiraklClient` (one httpx connection pool, one TLS context) lives on one event loop in a
background thread, started on first use; nodes call it through an anyio blocking portal from any
thread. No client, SSL context or event loop is built per call.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from anyio.from_thread import BlockingPortal, start_blocking_portal

from store.metrics import stage
from tools.mirakl.client import MiraklClient

T = TypeVar("T")


class BlockingMirakl:
    def __init__(self, factory: Callable[[], MiraklClient]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._portal_cm: AbstractContextManager[BlockingPortal] | None = None
        self._portal: BlockingPortal | None = None
        self._client: MiraklClient | None = None

    def _started(self) -> tuple[BlockingPortal, MiraklClient]:
        with self._lock:
            if self._portal is None or self._client is None:
                self._portal_cm = start_blocking_portal(name="csagent-mirakl")
                self._portal = self._portal_cm.__enter__()
                self._client = self._factory()
            return self._portal, self._client

    def call(self, request: Callable[[MiraklClient], Awaitable[T]]) -> T:
        """Run `request(client)` on the shared client and wait for its result."""
        portal, client = self._started()

        async def run() -> T:
            return await request(client)

        with stage("mirakl"):
            return portal.call(run)

    def close(self) -> None:
        with self._lock:
            if self._portal is not None and self._client is not None:
                self._portal.call(self._client.aclose)
            if self._portal_cm is not None:
                self._portal_cm.__exit__(None, None, None)
            self._portal_cm = self._portal = self._client = None

    def __enter__(self) -> BlockingMirakl:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
