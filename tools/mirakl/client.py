"""Async client of the Mirakl Seller API subset csagent uses (docs/mirakl-contract.md).

Resilience (tenacity): a 429 is waited out for its Retry-After (bounded); 5xx and network errors
are retried with jittered exponential backoff a bounded number of times; other 4xx raise at once.

Calls that change the world are never blindly re-sent. They are retried automatically only when
the request provably did not reach Mirakl (connection refused or not established, or a 429,
which Mirakl answers before doing anything). After an ambiguous failure (timeout while waiting for
the answer, 5xx, dropped connection) the client *checks Mirakl's state before re-sending*: a reply
is looked for in the thread's messages, a cancellation in the order's state. A refund cannot be
checked through the API, so an ambiguous refund raises MiraklOutcomeUnknown and is not re-sent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, TypeVar

import httpx
from pydantic import ValidationError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from store.ids import InvalidId, list_item, url_segment
from store.settings import MarketplaceConnection, Settings, get_settings
from tools.mirakl.errors import (
    MiraklConfigError,
    MiraklError,
    MiraklNotFound,
    MiraklOutcomeUnknown,
    MiraklRejected,
    MiraklUnavailable,
)
from tools.mirakl.models import (
    InboxMessage,
    InboxThread,
    LineAmount,
    Order,
    OrderPage,
    Participant,
    ReplyInput,
    ReplyResult,
    Shop,
    ThreadPage,
    TrackingUpdate,
)

T = TypeVar("T")

# Clock skew tolerated between us and Mirakl when looking for a reply we may have sent.
REPLY_LOOKBACK = timedelta(minutes=5)


class Retry(Enum):
    ALL = "all"  # reads and idempotent writes: any transient failure may be retried
    NOT_REACHED = "not_reached"  # non-idempotent writes: only failures before Mirakl saw it


class _RateLimited(MiraklUnavailable):
    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message, 429)
        self.retry_after = retry_after


class _NotReached(MiraklUnavailable):
    """The request never reached Mirakl (no connection)."""


class _Ambiguous(MiraklUnavailable):
    """The request may have reached Mirakl (timeout waiting for the answer, 5xx, reset)."""


def segment(value: str) -> str:
    """An id as one path segment (store/ids.py); an impossible id is refused before any call."""
    try:
        return url_segment(value, "Mirakl id")
    except InvalidId as exc:
        raise MiraklRejected(f"invalid Mirakl id: {exc}", 400) from None


def _list(values: Iterable[str]) -> str:
    try:
        return ",".join(list_item(v, "Mirakl id") for v in values)
    except InvalidId as exc:
        raise MiraklRejected(f"invalid Mirakl id: {exc}", 400) from None


def _mirakl_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return json.dumps(body)[:300]


def _retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class MiraklClient:
    """One shop's connection to Mirakl; use as `async with MiraklClient.from_settings() as m:`."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        shop_id: str | None = None,
        timeout_s: float = 10.0,
        max_attempts: int = 4,
        max_retry_after_s: float = 60.0,
        backoff_s: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.shop_id = shop_id
        self.calls = 0  # HTTP requests sent (retries included): what polling costs in calls
        self.max_attempts = max_attempts
        self.max_retry_after_s = max_retry_after_s
        self._backoff = wait_random_exponential(multiplier=backoff_s, max=max(backoff_s * 16, 1))
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": api_key, "Accept": "application/json"},
            timeout=timeout_s,
            transport=transport,
        )

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides: Any) -> MiraklClient:
        """The default marketplace's client (the `mirakl_*` settings when only one is set)."""
        s = settings or get_settings()
        return cls.for_marketplace(s.default_connection(), s, **overrides)

    @classmethod
    def for_marketplace(
        cls, connection: MarketplaceConnection, settings: Settings | None = None, **overrides: Any
    ) -> MiraklClient:
        """The client of one marketplace (its base URL, key and shop id; timeouts from
        `settings`)."""
        s = settings or get_settings()
        options: dict[str, Any] = {
            "shop_id": connection.shop_id,
            "timeout_s": s.mirakl_timeout_s,
            "max_attempts": s.mirakl_max_attempts,
            "max_retry_after_s": s.mirakl_max_retry_after_s,
        }
        options.update(overrides)
        try:
            key = connection.key().get_secret_value()
        except ValueError as exc:  # its key is not in the environment: fix the settings
            raise MiraklConfigError(str(exc)) from None
        return cls(connection.base_url, key, **options)

    async def __aenter__(self) -> MiraklClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- transport ---------------------------------------------------------------------------

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RateLimited) and exc.retry_after is not None:
            return exc.retry_after
        return float(self._backoff(state))

    @staticmethod
    def _retryable(policy: Retry) -> Callable[[BaseException], bool]:
        def check(exc: BaseException) -> bool:
            if isinstance(exc, _RateLimited | _NotReached):
                return True
            return policy is Retry.ALL and isinstance(exc, _Ambiguous)

        return check

    async def _send_once(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        params = dict(kwargs.pop("params", None) or {})
        if self.shop_id:
            params["shop_id"] = self.shop_id
        self.calls += 1
        try:
            response = await self._http.request(method, path, params=params or None, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise _NotReached(f"could not connect to Mirakl: {exc!r}") from exc
        except httpx.TransportError as exc:
            raise _Ambiguous(f"no answer from Mirakl: {exc!r}") from exc
        if response.status_code < 400:
            return response
        message = _mirakl_message(response)
        status = response.status_code
        if status == 429:
            retry_after = _retry_after_seconds(response)
            if retry_after is not None and retry_after > self.max_retry_after_s:
                raise MiraklUnavailable(
                    f"Mirakl rate limit: asked to wait {retry_after:g} s, more than the "
                    f"{self.max_retry_after_s:g} s allowed (MIRAKL_MAX_RETRY_AFTER_S)",
                    429,
                )
            raise _RateLimited(f"Mirakl rate limit (429): {message}", retry_after)
        if status >= 500:
            raise _Ambiguous(f"Mirakl error {status}: {message}", status)
        if status in (401, 403):
            raise MiraklConfigError(
                f"Mirakl refused the credentials ({status}: {message}); "
                "check CSAGENT_MIRAKL_API_KEY and CSAGENT_MIRAKL_SHOP_ID",
                status,
            )
        if status == 404:
            raise MiraklNotFound(f"not found on Mirakl: {message}", status)
        raise MiraklRejected(message, status)

    async def _request(
        self, method: str, path: str, *, policy: Retry = Retry.ALL, **kwargs: Any
    ) -> httpx.Response:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(self._retryable(policy)),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._send_once(method, path, **kwargs)
        except (_RateLimited, _NotReached) as exc:
            raise MiraklUnavailable(
                f"{exc.message} (gave up after {self.max_attempts} attempts)", exc.status
            ) from exc
        except _Ambiguous as exc:
            if policy is Retry.ALL:
                raise MiraklUnavailable(
                    f"{exc.message} (gave up after {self.max_attempts} attempts)", exc.status
                ) from exc
            raise
        raise AssertionError("unreachable: tenacity either returns or raises")

    async def _write_checked(
        self,
        send: Callable[[], Awaitable[T]],
        already_done: Callable[[], Awaitable[T | None]],
        what: str,
    ) -> T:
        """Send a non-idempotent write; after an ambiguous failure, check before re-sending."""
        last: MiraklError | None = None
        for attempt in range(self.max_attempts):
            try:
                return await send()
            except _Ambiguous as exc:
                last = exc
            try:
                done = await already_done()
            except MiraklError as exc:
                raise MiraklOutcomeUnknown(
                    f"{what}: the request may have reached Mirakl ({last.message}) and its "
                    f"outcome could not be checked ({exc.message}); not re-sent"
                ) from exc
            if done is not None:
                return done
            await asyncio.sleep(self._backoff.multiplier * 2**attempt)
        assert last is not None
        raise MiraklUnavailable(
            f"{what}: {last.message} (gave up after {self.max_attempts} attempts)", last.status
        )

    # -- inbox ---------------------------------------------------------------------------------

    async def list_threads(
        self,
        *,
        updated_since: datetime | None = None,
        with_messages: bool = False,
        entity_type: str | None = None,
        entity_ids: Iterable[str] = (),
        limit: int = 50,
        page_token: str | None = None,
    ) -> ThreadPage:
        """M11: one page of threads."""
        params: dict[str, Any] = {"limit": limit, "with_messages": str(with_messages).lower()}
        if updated_since is not None:
            params["updated_since"] = updated_since.isoformat()
        if entity_type:
            params["entity_type"] = entity_type
        if ids := list(entity_ids):
            params["entity_id"] = ids
        if page_token:
            params["page_token"] = page_token
        response = await self._request("GET", "/inbox/threads", params=params)
        return ThreadPage.model_validate(response.json())

    async def iter_threads(self, **filters: Any) -> AsyncIterator[InboxThread]:
        """Every thread matching the filters, following the seek paging to the last page."""
        token: str | None = None
        while True:
            page = await self.list_threads(page_token=token, **filters)
            for thread in page.data:
                yield thread
            token = page.next_page_token
            if not token:
                return

    async def get_thread(self, thread_id: str) -> InboxThread:
        """M10: one thread with its messages (oldest first)."""
        response = await self._request("GET", f"/inbox/threads/{segment(thread_id)}")
        return InboxThread.model_validate(response.json())

    async def download_attachment(self, attachment_id: str, *, max_bytes: int) -> bytes:
        """M13: an attachment's bytes; MiraklRejected when it is larger than `max_bytes`."""
        response = await self._request("GET", f"/inbox/threads/{segment(attachment_id)}/download")
        if len(response.content) > max_bytes:
            raise MiraklRejected(
                f"attachment {attachment_id} is {len(response.content)} bytes, more than "
                f"{max_bytes} shown here",
                413,
            )
        return response.content

    async def reply(
        self, thread_id: str, body: str, *, to: Iterable[str] = ("CUSTOMER",)
    ) -> ReplyResult:
        """M12: post the shop's reply to the given recipients (CUSTOMER, OPERATOR or both).
        Never duplicated by a retry (see the module docstring)."""
        try:
            checked = ReplyInput(body=body, to=[Participant(type=t) for t in to])
        except ValidationError as exc:  # Mirakl would refuse it: say why before sending
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
            )
            raise MiraklRejected(f"reply not sent: {problems}", 400) from None
        message_input = checked.model_dump(mode="json", exclude_none=True)
        started = datetime.now(UTC) - REPLY_LOOKBACK
        files = {"message_input": (None, json.dumps(message_input), "application/json")}

        async def send() -> ReplyResult:
            response = await self._request(
                "POST",
                f"/inbox/threads/{segment(thread_id)}/message",
                files=files,
                policy=Retry.NOT_REACHED,
            )
            return ReplyResult.model_validate(response.json())

        async def already_sent() -> ReplyResult | None:
            thread = await self.get_thread(thread_id)
            found = find_shop_message(thread.messages, body, started)
            return ReplyResult(message_id=found.id, thread_id=thread_id) if found else None

        return await self._write_checked(send, already_sent, f"reply to thread {thread_id}")

    # -- the shop ----------------------------------------------------------------------------------

    async def get_shop(self) -> Shop:
        """A01: the shop this key belongs to."""
        response = await self._request("GET", "/account")
        return Shop.model_validate(response.json())

    async def get_raw(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """A read whose JSON answer is returned as Mirakl sent it (`csagent mirakl check`
        validates it against the published schemas)."""
        response = await self._request("GET", path, params=params or {})
        return response.json()

    # -- orders --------------------------------------------------------------------------------

    async def list_orders(
        self,
        *,
        order_ids: Iterable[str] = (),
        states: Iterable[str] = (),
        start_update_date: datetime | None = None,
        end_update_date: datetime | None = None,
        max_results: int = 100,
        offset: int = 0,
    ) -> OrderPage:
        """OR11: one page of orders."""
        params: dict[str, Any] = {"max": max_results, "offset": offset, "paginate": "true"}
        if ids := list(order_ids):
            params["order_ids"] = _list(ids)
        if codes := list(states):
            params["order_state_codes"] = ",".join(codes)
        if start_update_date is not None:
            params["start_update_date"] = start_update_date.isoformat()
        if end_update_date is not None:
            params["end_update_date"] = end_update_date.isoformat()
        response = await self._request("GET", "/orders", params=params)
        return OrderPage.model_validate(response.json())

    async def iter_orders(self, *, page_size: int = 100, **filters: Any) -> AsyncIterator[Order]:
        """Every order matching the filters, following the offset paging."""
        offset = 0
        while True:
            page = await self.list_orders(max_results=page_size, offset=offset, **filters)
            for order in page.orders:
                yield order
            offset += len(page.orders)
            if not page.orders or offset >= page.total_count:
                return

    async def get_order(self, order_id: str) -> Order:
        page = await self.list_orders(order_ids=[order_id])
        for order in page.orders:
            if order.order_id == order_id:
                return order
        raise MiraklNotFound(f"order {order_id} not found", 404)

    async def cancel_order(self, order_id: str) -> None:
        """OR29: cancel a whole order (only before the customer is debited)."""

        async def send() -> None:
            await self._request(
                "PUT", f"/orders/{segment(order_id)}/cancel", policy=Retry.NOT_REACHED
            )

        async def already_cancelled() -> None | bool:
            order = await self.get_order(order_id)
            return True if order.order_state == "CANCELED" else None

        await self._write_checked(send, already_cancelled, f"cancel order {order_id}")

    async def cancel_lines(self, order_id: str, lines: list[LineAmount]) -> None:
        """OR30: cancel (and refund) lines of a debited order that has not shipped."""
        body = {"cancelations": [line.model_dump(mode="json") for line in lines]}
        wanted = {line.order_line_id for line in lines}

        async def send() -> None:
            await self._request("PUT", "/orders/cancel", json=body, policy=Retry.NOT_REACHED)

        async def already_cancelled() -> None | bool:
            order = await self.get_order(order_id)
            states = {ln.order_line_id: ln.order_line_state for ln in order.order_lines}
            return True if all(states.get(i) == "CANCELED" for i in wanted) else None

        await self._write_checked(send, already_cancelled, f"cancel lines of order {order_id}")

    async def update_tracking(self, order_id: str, tracking: TrackingUpdate) -> None:
        """OR23: set carrier and tracking number (idempotent, so retried like a read)."""
        await self._request(
            "PUT", f"/orders/{segment(order_id)}/tracking", json=tracking.model_dump(mode="json")
        )

    async def refund_lines(self, lines: list[LineAmount]) -> dict[str, Any]:
        """OR28: refund order lines. Never re-sent after an ambiguous failure (not checkable)."""
        body = {"refunds": [line.model_dump(mode="json") for line in lines]}
        try:
            response = await self._request(
                "PUT", "/orders/refund", json=body, policy=Retry.NOT_REACHED
            )
        except _Ambiguous as exc:
            raise MiraklOutcomeUnknown(
                f"refund: {exc.message}; it may have been applied, check in Mirakl before retrying"
            ) from exc
        return dict(response.json()) if response.content else {}


def find_shop_message(
    messages: Iterable[InboxMessage], body: str, since: datetime
) -> InboxMessage | None:
    for message in messages:
        if message.author == "SHOP" and message.body == body and message.date_created >= since:
            return message
    return None
