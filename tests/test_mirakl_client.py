"""The Mirakl client against the contract-faithful simulator, over real loopback HTTP."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import pytest_asyncio
from helpers import Simulator, free_port

from tools.mirakl.client import MiraklClient
from tools.mirakl.errors import (
    MiraklConfigError,
    MiraklNotFound,
    MiraklRejected,
    MiraklUnavailable,
)
from tools.mirakl.models import LineAmount, TrackingUpdate

pytestmark = pytest.mark.asyncio

FIRST_THREAD = "6a57c866-5d9a-59fd-ac38-59e53af24d90"  # Claire M., order 20567843-A (SHIPPED)


def fault(sim: Simulator, **spec: Any) -> None:
    response = httpx.post(f"{sim.url}/_sim/faults", json=spec)
    assert response.status_code == 201, response.text


def requests_left(sim: Simulator) -> int:
    return sum(f.remaining for f in sim.state.faults)


@pytest_asyncio.fixture
async def client(mirakl_sim: Simulator) -> AsyncIterator[MiraklClient]:
    async with MiraklClient(
        mirakl_sim.api, mirakl_sim.api_key, timeout_s=2, max_attempts=4, backoff_s=0.01
    ) as c:
        yield c


async def test_paging_returns_every_thread_exactly_once(
    client: MiraklClient, mirakl_sim: Simulator
) -> None:
    seen = [t.id async for t in client.iter_threads(limit=7)]
    assert len(seen) == len(mirakl_sim.state.threads) == 46
    assert len(set(seen)) == len(seen)
    first_page = await client.list_threads(limit=7)
    assert first_page.next_page_token and len(first_page.data) == 7
    assert all(t.messages == [] for t in first_page.data)  # without with_messages


async def test_updated_since_and_with_messages(client: MiraklClient, mirakl_sim: Simulator) -> None:
    since = datetime(2026, 11, 20, tzinfo=UTC)
    recent = [t async for t in client.iter_threads(updated_since=since, with_messages=True)]
    expected = {
        t["id"]
        for t in mirakl_sim.state.threads.values()
        if datetime.fromisoformat(t["date_updated"].replace("Z", "+00:00")) >= since
    }
    assert {t.id for t in recent} == expected and 0 < len(expected) < 46
    assert all(t.messages for t in recent)


async def test_get_thread_has_its_messages_oldest_first(client: MiraklClient) -> None:
    thread = await client.get_thread(FIRST_THREAD)
    assert thread.order_id == "20567843-A"
    dates = [m.date_created for m in thread.messages]
    assert dates == sorted(dates) and len(dates) == 3


async def test_429_is_waited_out_for_retry_after(
    client: MiraklClient, mirakl_sim: Simulator
) -> None:
    fault(mirakl_sim, status=429, count=2, retry_after=0.3)
    started = time.monotonic()
    thread = await client.get_thread(FIRST_THREAD)
    assert thread.id == FIRST_THREAD
    assert time.monotonic() - started >= 0.6  # waited 0.3 s twice, as Mirakl asked
    assert requests_left(mirakl_sim) == 0


async def test_retry_after_beyond_the_bound_is_not_waited(mirakl_sim: Simulator) -> None:
    fault(mirakl_sim, status=429, count=1, retry_after=3600)
    async with MiraklClient(mirakl_sim.api, mirakl_sim.api_key, max_retry_after_s=5) as c:
        with pytest.raises(MiraklUnavailable, match="asked to wait 3600 s"):
            await c.get_thread(FIRST_THREAD)


async def test_two_500s_then_success(client: MiraklClient, mirakl_sim: Simulator) -> None:
    fault(mirakl_sim, status=500, count=2)
    page = await client.list_orders(order_ids=["20567843-A"])
    assert [o.order_id for o in page.orders] == ["20567843-A"]


async def test_persistent_503_gives_up_after_the_bounded_attempts(
    client: MiraklClient, mirakl_sim: Simulator
) -> None:
    fault(mirakl_sim, status=503, count=10)
    with pytest.raises(MiraklUnavailable, match="gave up after 4 attempts"):
        await client.get_thread(FIRST_THREAD)
    assert requests_left(mirakl_sim) == 6


async def test_wrong_key_is_a_configuration_error_not_retried(mirakl_sim: Simulator) -> None:
    async with MiraklClient(mirakl_sim.api, "wrong-key", backoff_s=0.01) as c:
        with pytest.raises(MiraklConfigError, match="CSAGENT_MIRAKL_API_KEY") as info:
            await c.get_thread(FIRST_THREAD)
    assert info.value.status == 401


async def test_unknown_ids_are_not_found(client: MiraklClient) -> None:
    with pytest.raises(MiraklNotFound, match="Thread with id 'nope' not found"):
        await client.get_thread("nope")
    with pytest.raises(MiraklNotFound):
        await client.get_order("00000000-Z")


async def test_unreachable_mirakl_is_unavailable_after_retries() -> None:
    async with MiraklClient(f"http://127.0.0.1:{free_port()}/api", "k", backoff_s=0.01) as c:
        with pytest.raises(MiraklUnavailable, match="could not connect to Mirakl"):
            await c.get_thread(FIRST_THREAD)


async def test_cancel_in_an_allowed_state_reads_back_canceled(client: MiraklClient) -> None:
    order = await client.get_order("20620000-A")
    assert (order.order_state, order.can_cancel) == ("WAITING_ACCEPTANCE", True)
    await client.cancel_order("20620000-A")
    after = await client.get_order("20620000-A")
    assert after.order_state == "CANCELED"
    assert {line.order_line_state for line in after.order_lines} == {"CANCELED"}


async def test_cancel_in_a_forbidden_state_carries_mirakls_message(client: MiraklClient) -> None:
    with pytest.raises(MiraklRejected, match="it is in state SHIPPED") as info:
        await client.cancel_order("20567843-A")
    assert info.value.status == 400
    assert (await client.get_order("20567843-A")).order_state == "SHIPPED"


async def test_reply_appears_in_the_thread(client: MiraklClient) -> None:
    result = await client.reply(FIRST_THREAD, "Votre colis est en route.")
    thread = await client.get_thread(FIRST_THREAD)
    last = thread.messages[-1]
    assert (last.id, last.author, last.body) == (
        result.message_id,
        "SHOP",
        "Votre colis est en route.",
    )
    assert [p.type for p in last.to] == ["CUSTOMER"]


async def shop_replies(client: MiraklClient, body: str) -> int:
    thread = await client.get_thread(FIRST_THREAD)
    return sum(1 for m in thread.messages if m.author == "SHOP" and m.body == body)


async def test_reply_that_times_out_after_reaching_mirakl_is_not_duplicated(
    mirakl_sim: Simulator,
) -> None:
    # Mirakl stores the reply but answers after the client's 0.3 s timeout.
    fault(
        mirakl_sim, count=1, latency_ms=1000, path_prefix=f"/inbox/threads/{FIRST_THREAD}/message"
    )
    async with MiraklClient(mirakl_sim.api, mirakl_sim.api_key, timeout_s=0.3, backoff_s=0.01) as c:
        result = await c.reply(FIRST_THREAD, "Nous vérifions avec le transporteur.")
        time.sleep(1.0)  # let the late answer finish on the server
        assert await shop_replies(c, "Nous vérifions avec le transporteur.") == 1
        thread = await c.get_thread(FIRST_THREAD)
        assert result.message_id == thread.messages[-1].id


async def test_reply_refused_by_a_503_is_sent_once_after_checking(
    client: MiraklClient, mirakl_sim: Simulator
) -> None:
    fault(mirakl_sim, status=503, count=1, path_prefix=f"/inbox/threads/{FIRST_THREAD}/message")
    await client.reply(FIRST_THREAD, "Bonne nouvelle : il arrive demain.")
    assert await shop_replies(client, "Bonne nouvelle : il arrive demain.") == 1


async def test_orders_paging_and_filters(client: MiraklClient, mirakl_sim: Simulator) -> None:
    ids = [o.order_id async for o in client.iter_orders(page_size=10)]
    assert len(ids) == len(set(ids)) == len(mirakl_sim.state.orders) == 55
    shipping = [o async for o in client.iter_orders(states=["SHIPPING"])]
    assert shipping and {o.order_state for o in shipping} == {"SHIPPING"}
    since = datetime(2026, 11, 22, tzinfo=UTC)
    updated = [o async for o in client.iter_orders(start_update_date=since)]
    assert updated and all(o.last_updated_date and o.last_updated_date >= since for o in updated)
    order = await client.get_order("20567843-A")
    assert order.shipping_tracking and order.customer and order.customer.shipping_address
    assert order.total_price == Decimal("39.9") + Decimal("4.9")


async def test_cancel_lines_of_a_debited_order_before_shipment(client: MiraklClient) -> None:
    order = (await client.list_orders(states=["SHIPPING"])).orders[0]
    line = order.order_lines[0]
    await client.cancel_lines(
        order.order_id,
        [LineAmount(order_line_id=line.order_line_id, quantity=1, amount=line.price,
                    reason_code="CUSTOMER_REQUEST")],
    )  # fmt: skip
    assert (await client.get_order(order.order_id)).order_state == "CANCELED"


async def test_refund_and_tracking(client: MiraklClient, mirakl_sim: Simulator) -> None:
    received = (await client.list_orders(states=["RECEIVED"])).orders[0]
    line = received.order_lines[0]
    result = await client.refund_lines(
        [LineAmount(order_line_id=line.order_line_id, quantity=1, amount=Decimal("10.00"),
                    reason_code="DAMAGED")]
    )  # fmt: skip
    assert result["refunds"][0]["order_line_id"] == line.order_line_id
    with pytest.raises(MiraklRejected, match="exceeds the refundable amount"):
        await client.refund_lines(
            [LineAmount(order_line_id=line.order_line_id, quantity=1, amount=line.price,
                        reason_code="DAMAGED")]
        )  # fmt: skip
    shipping = (await client.list_orders(states=["SHIPPING"])).orders[0]
    await client.update_tracking(
        shipping.order_id,
        TrackingUpdate(carrier_code="DHL", tracking_number="00340434160000000001"),
    )
    assert (await client.get_order(shipping.order_id)).shipping_tracking == "00340434160000000001"


async def test_shop_id_is_sent_and_checked(mirakl_sim: Simulator) -> None:
    async with MiraklClient(mirakl_sim.api, mirakl_sim.api_key, shop_id="2001") as right:
        assert (await right.get_thread(FIRST_THREAD)).id == FIRST_THREAD
    async with MiraklClient(mirakl_sim.api, mirakl_sim.api_key, shop_id="9999") as wrong:
        with pytest.raises(MiraklConfigError, match="no access to shop 9999"):
            await wrong.get_thread(FIRST_THREAD)
