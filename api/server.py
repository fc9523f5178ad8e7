"""How csagent's HTTP server reads requests: uvicorn's HTTP/1.1 protocol (h11) with a deadline.

uvicorn bounds the idle time between requests (keep-alive) but not the time a client takes to
send a request: a client that sends its headers or its body a byte at a time, or opens a
connection and sends nothing, held it for 70 s and more (slowloris). Here a request must be read
whole within `CSAGENT_HTTP_READ_TIMEOUT_S` of the connection opening or the previous response
ending; otherwise the connection is closed. Answers that take long (the agent's work, the
dashboard's event stream) are not affected: the deadline ends when the request has arrived.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from store.settings import get_settings

PROTOCOL = "api.server:DeadlineH11Protocol"  # uvicorn's `http=` for `csagent serve` and tests
# The client's states once its request is read whole: DONE (keep-alive), MUST_CLOSE (HTTP/1.0 or
# `Connection: close`, as nginx talks to a backend by default), or the connection switched.
ARRIVED = (h11.DONE, h11.MUST_CLOSE, h11.CLOSED, h11.SWITCHED_PROTOCOL)


class DeadlineH11Protocol(H11Protocol):
    read_timeout_s: float | None = None  # None: the setting

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_read_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_read_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        deadline = getattr(self, "_read_deadline", None)
        if deadline is not None:
            deadline.cancel()
        super().connection_lost(exc)

    def _arm_read_deadline(self) -> None:
        previous = getattr(self, "_read_deadline", None)
        if previous is not None:
            previous.cancel()
        timeout = self.read_timeout_s or get_settings().http_read_timeout_s
        self._read_deadline: Any = self.loop.call_later(timeout, self._read_too_slow)

    def _read_too_slow(self) -> None:
        if self.transport.is_closing() or self.conn.their_state in ARRIVED:
            return  # the request arrived whole: its answer may take as long as it needs
        self.logger.warning("closing a connection whose request was not read in time")
        self.transport.close()
