"""The process's one Mirakl connection for synchronous code (the graph's nodes).

A single `MiraklClient` (one httpx connection pool, one TLS context) lives on one event loop in a
daemon thread, started on first use; nodes submit requests to it from any thread and wait for the
result. No client, SSL context or event loop is built per call, and a process that never calls
Mirakl starts nothing.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from store.metrics import MIRAKL_CALLS, stage
from tools.mirakl.client import MiraklClient

T = TypeVar("T")


class BlockingMirakl:
    def __init__(self, factory: Callable[[], MiraklClient]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: MiraklClient | None = None

    def _started(self) -> tuple[asyncio.AbstractEventLoop, MiraklClient]:
        with self._lock:
            if self._loop is None or self._client is None:
                client = self._factory()  # a bad configuration fails here, before any thread
                loop = asyncio.new_event_loop()
                # A daemon thread: it never keeps a finishing process alive.
                threading.Thread(
                    target=loop.run_forever, name="csagent-mirakl", daemon=True
                ).start()
                self._loop, self._client = loop, client
            return self._loop, self._client

    def call(self, request: Callable[[MiraklClient], Awaitable[T]]) -> T:
        """Run `request(client)` on the shared client and wait for its result."""
        loop, client = self._started()

        async def run() -> T:
            return await request(client)

        with stage("mirakl"):
            try:
                result = asyncio.run_coroutine_threadsafe(run(), loop).result()
            except Exception as exc:
                MIRAKL_CALLS.labels(type(exc).__name__).inc()
                raise
        MIRAKL_CALLS.labels("ok").inc()
        return result

    def close(self) -> None:
        with self._lock:
            loop, client = self._loop, self._client
            self._loop = self._client = None
        if loop is not None and client is not None:
            asyncio.run_coroutine_threadsafe(client.aclose(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)

    def __enter__(self) -> BlockingMirakl:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
