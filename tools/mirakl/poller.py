"""The seller's intake: Mirakl sends sellers no webhooks, so csagent reads each marketplace's
inbox (M11) every `mirakl_poll_interval_s` seconds and sends every customer message it has not
stored through the same ingestion path as the webhook (tools/mirakl/sync.py `sync_inbox`).

With several csagent processes (or machines) on one database, exactly one poller per marketplace
works at a time: it holds a PostgreSQL session advisory lock on a connection of its own for as
long as it polls. When its process dies, PostgreSQL ends that session and releases the lock; the
others try for it every few seconds and one takes over, from the cursor in the database.

A 429 is waited out by the client (`Retry-After`); a pass that still fails is retried with an
exponential backoff (up to ten intervals) and does not move the cursor. One marketplace failing
never stops the others: each has its own task.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import sessionmaker

from store.metrics import MIRAKL_POLL_PASSES
from store.pollers import release_poller_lock, still_held, try_poller_lock
from store.settings import MarketplaceConnection, Settings
from tools.mirakl.client import MiraklClient
from tools.mirakl.errors import MiraklConfigError, MiraklError
from tools.mirakl.sync import Ingest, SyncReport, sync_inbox

log = logging.getLogger(__name__)

TAKEOVER_CHECK_S = 5.0  # how often a standby process tries to become the poller


@dataclass
class PollStatus:
    """What this process knows of one marketplace's polling (the lag is in the database)."""

    marketplace: str
    polling: bool = False  # this process holds the lock
    passes: int = 0
    last_pass_at: datetime | None = None
    last_report: SyncReport | None = None
    last_error: str | None = None
    mirakl_calls: int = 0
    messages: int = 0


@dataclass
class Poller:
    """Polls every configured marketplace; `run()` until `stop` is set."""

    settings: Settings
    engine: Engine
    ingest: Ingest
    client_for: Callable[..., MiraklClient] | None = None
    status: dict[str, PollStatus] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sessions = sessionmaker(bind=self.engine, expire_on_commit=False)

    def session_scope(self) -> Any:
        return self.sessions.begin()

    async def run(self, stop: threading.Event) -> None:
        tasks = [
            asyncio.create_task(self._marketplace(connection, stop))
            for connection in self.settings.connections()
        ]
        await asyncio.gather(*tasks)

    async def read_once(self, connection: MarketplaceConnection) -> SyncReport:
        """One pass over a marketplace's inbox with the polling settings (the caller holds its
        lock); MiraklError when Mirakl could not be read."""
        stored = self.settings.stored_name(connection.name)
        status = self.status.setdefault(connection.name, PollStatus(connection.name))
        make = self.client_for or MiraklClient.for_marketplace
        async with make(connection, self.settings) as client:
            try:
                return await sync_inbox(
                    client, self.session_scope, self.ingest, marketplace=stored,
                    label=connection.name if self.settings.multi_marketplace else None,
                    overlap=timedelta(seconds=self.settings.mirakl_poll_overlap_s),
                    sla_hours=self.settings.for_marketplace(stored).sla_hours,
                )  # fmt: skip
            finally:
                status.mirakl_calls += client.calls

    def run_in_thread(self, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(
            target=lambda: asyncio.run(self.run(stop)), name="csagent-mirakl-poller", daemon=True
        )
        thread.start()
        return thread

    # -- one marketplace -------------------------------------------------------------------------

    async def _marketplace(self, connection: MarketplaceConnection, stop: threading.Event) -> None:
        stored = self.settings.stored_name(connection.name)
        status = self.status.setdefault(connection.name, PollStatus(connection.name))
        while not stop.is_set():
            try:
                lock = await asyncio.to_thread(try_poller_lock, self.engine, stored)
            except Exception as exc:  # the database is down: try again later
                status.last_error = f"database: {exc!r}"[:300]
                await _sleep(stop, TAKEOVER_CHECK_S)
                continue
            if lock is None:  # another process polls this marketplace
                status.polling = False
                await _sleep(stop, TAKEOVER_CHECK_S)
                continue
            status.polling = True
            log.warning("Mirakl poller [%s]: this process reads the inbox now", connection.name)
            try:
                await self._poll_while_holding(connection, status, stop, lock)
            finally:
                status.polling = False
                await asyncio.to_thread(release_poller_lock, lock)

    async def _poll_while_holding(
        self,
        connection: MarketplaceConnection,
        status: PollStatus,
        stop: threading.Event,
        lock: Connection,
    ) -> None:
        interval = self.settings.mirakl_poll_interval_s
        failures = 0
        while not stop.is_set():
            if not await asyncio.to_thread(still_held, lock):
                status.last_error = "lost the database session holding the poller lock"
                return  # another process may poll now: try for the lock again
            try:
                report = await self.read_once(connection)
                status.passes += 1
                status.last_pass_at = datetime.now(UTC)
                status.last_report = report
                status.messages += report.ingested
                status.last_error = None
                failures = 0
                MIRAKL_POLL_PASSES.labels(connection.name, "ok").inc()
                wait = interval
            except MiraklConfigError as exc:  # a wrong key: say so, retry rarely
                status.last_error = exc.message
                MIRAKL_POLL_PASSES.labels(connection.name, "misconfigured").inc()
                log.error("Mirakl poller [%s]: %s", connection.name, exc.message)
                wait = interval * 10
            except (MiraklError, Exception) as exc:
                failures += 1
                status.last_error = getattr(exc, "message", None) or repr(exc)[:300]
                MIRAKL_POLL_PASSES.labels(connection.name, "failed").inc()
                log.warning(
                    "Mirakl poller [%s]: pass failed (%s); cursor not moved",
                    connection.name,
                    status.last_error,
                )
                wait = min(interval * 2 ** (failures - 1), interval * 10)
            await _sleep(stop, wait)


async def _sleep(stop: threading.Event, seconds: float) -> None:
    """Sleep, waking early when `stop` is set."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not stop.is_set():
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            return
        await asyncio.sleep(min(left, 0.2))
