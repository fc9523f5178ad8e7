"""POST /api/v1/messages over real HTTP: auth, validation, idempotency, ordering, the queue."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.app import create_app
from store.ingest import IncomingMessage
from store.models import InboundEvent, Message, Thread
from store.queue import Outcome, Processor
from store.settings import Settings

KEY = "test-api-key"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def body(message_id: str = "m-1", thread_id: str = "t-1", minutes: int = 0, **extra: Any) -> dict:
    payload: dict[str, Any] = {
        "thread_id": thread_id,
        "message_id": message_id,
        "body": "Bonjour, où est ma commande 20567843-A ?",
        "created_at": (T0 + timedelta(minutes=minutes)).isoformat(),
        "order_id": "20567843-A",
        "customer": {"id": "cust-4400", "name": "Claire M."},
        "topic": "Où est ma commande ?",
        "locale": "fr_FR",
        "marketplace": "fnac-darty",
    }
    payload.update(extra)
    return payload


@dataclass
class Api:
    url: str
    app: FastAPI

    def post(self, payload: Any, *, key: str | None = KEY, **kwargs: Any) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if key is not None:
            headers["X-API-Key"] = key
        if not isinstance(payload, bytes):
            payload = json.dumps(payload).encode()
        headers.setdefault("Content-Type", "application/json")
        return httpx.post(
            f"{self.url}/api/v1/messages", content=payload, headers=headers, timeout=30, **kwargs
        )

    def event(self, event_id: int) -> httpx.Response:
        return httpx.get(f"{self.url}/api/v1/events/{event_id}", headers={"X-API-Key": KEY})


ApiFactory = Callable[..., AbstractContextManager[Api]]


@pytest.fixture
def make_api(
    db_url: str, serve_app: Callable[..., AbstractContextManager[str]]
) -> Iterator[ApiFactory]:
    from contextlib import contextmanager

    @contextmanager
    def factory(processor: Processor | None = None, **settings: Any) -> Iterator[Api]:
        config = Settings(**{"api_key": SecretStr(KEY), "queue_retry_delay_s": 60, **settings})
        app = create_app(config, processor=processor, queue_worker=False)
        with serve_app(app, lifespan="on") as url:
            yield Api(url, app)

    yield factory


@pytest.fixture
def api(make_api: ApiFactory) -> Iterator[Api]:
    with make_api() as a:
        yield a


def count(session: Session, model: Any) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_message_is_stored_and_its_thread_opened(api: Api, session: Session) -> None:
    response = api.post(body())
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["thread_id"] == "t-1" and answer["status"] == "stored"
    assert answer["duplicate"] is False and answer["event_id"] > 0
    thread = session.scalars(select(Thread)).one()
    # One marketplace configured: the webhook's marketplace is only a label (the channel).
    assert (thread.status, thread.locale, thread.channel) == ("open", "fr_FR", "fnac-darty")
    assert thread.marketplace == "default"
    assert thread.sla_due_at == T0 + timedelta(hours=24)
    assert session.scalars(select(Message.body)).one().startswith("Bonjour")


def test_a_repeat_returns_the_first_outcome_and_does_nothing(api: Api, session: Session) -> None:
    first = api.post(body()).json()
    again = api.post(body(body="a different body, same id")).json()
    assert again == {**first, "duplicate": True}
    assert count(session, Message) == 1 and count(session, InboundEvent) == 1


def test_twenty_identical_posts_at_once_give_one_message(api: Api, session: Session) -> None:
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda _: api.post(body()), range(20)))
    answers = [r.json() for r in responses]
    assert {r.status_code for r in responses} == {200}
    assert sum(not a["duplicate"] for a in answers) == 1
    assert len({json.dumps({**a, "duplicate": None}, sort_keys=True) for a in answers}) == 1
    assert count(session, Message) == 1 and count(session, InboundEvent) == 1


@pytest.mark.parametrize("key", [None, "wrong", ""])
def test_missing_or_wrong_key_is_401_and_nothing_is_stored(
    api: Api, session: Session, key: str | None
) -> None:
    response = api.post(body(), key=key)
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized", "message": "missing or wrong X-API-Key"}
    assert count(session, InboundEvent) == 0


def test_signature_is_required_when_a_secret_is_set(make_api: ApiFactory, session: Session) -> None:
    raw = json.dumps(body()).encode()
    good = "sha256=" + hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()
    with make_api(webhook_secret=SecretStr("s3cret")) as api:
        unsigned = api.post(raw)
        forged = api.post(raw, headers={"X-Signature": "sha256=" + "0" * 64})
        signed = api.post(raw, headers={"X-Signature": good})
    assert unsigned.status_code == forged.status_code == 401
    assert unsigned.json()["error"] == "bad_signature"
    assert signed.status_code == 200 and count(session, Message) == 1


def test_oversize_body_is_413(api: Api, session: Session) -> None:
    huge = body(body="x" * 70_000)
    response = api.post(huge)
    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while streaming
        raw = json.dumps(huge).encode()
        for i in range(0, len(raw), 8192):
            yield raw[i : i + 8192]

    streamed = httpx.post(
        f"{api.url}/api/v1/messages",
        content=chunks(),
        headers={"X-API-Key": KEY, "Content-Type": "application/json"},
    )
    assert streamed.status_code == 413
    assert count(session, InboundEvent) == 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (b"{not json", None),
        ({k: v for k, v in body().items() if k != "customer"}, "customer"),
        (body(created_at="2026-11-20T09:00:00"), "created_at"),
        (body(created_at="yesterday"), "created_at"),
        (body(body=""), "body"),
        (body(body="x" * 20_001), "body"),
        (body(thread_id=42), "thread_id"),
        (body(customer={"name": "no id"}), "customer.id"),
        (body(unexpected="field"), "unexpected"),
    ],
)
def test_invalid_bodies_are_422_with_the_field_and_store_nothing(
    api: Api, session: Session, payload: Any, field: str | None
) -> None:
    response = api.post(payload)
    assert response.status_code == 422
    answer = response.json()
    assert answer["error"] == "invalid_request"
    if field is not None:
        assert field in answer["message"]
        assert any(".".join(map(str, d["loc"][1:])) == field for d in answer["detail"])
    assert count(session, InboundEvent) == 0 and count(session, Thread) == 0


def test_async_mode_queues_and_the_event_reports_its_outcome(api: Api, session: Session) -> None:
    response = httpx.post(
        f"{api.url}/api/v1/messages?mode=async", json=body(), headers={"X-API-Key": KEY}
    )
    assert response.status_code == 202
    queued = response.json()
    assert queued == {"event_id": queued["event_id"], "status": "queued", "duplicate": False}
    assert api.event(queued["event_id"]).json()["status"] == "queued"
    # Stored with the event: a queued message is already in its thread for everyone to see.
    assert count(session, Message) == 1
    api.app.state.pipeline.drain()
    event = api.event(queued["event_id"]).json()
    assert (event["status"], event["attempts"], event["message_id"]) == ("stored", 1, "m-1")
    assert count(session, Message) == 1


def test_events_need_the_key_and_unknown_ones_are_404(api: Api) -> None:
    assert api.event(999_999).status_code == 404
    assert httpx.get(f"{api.url}/api/v1/events/1").status_code == 401


def test_healthz_reports_the_database(api: Api) -> None:
    response = httpx.get(f"{api.url}/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_openapi_documents_the_message_body(api: Api) -> None:
    spec = httpx.get(f"{api.url}/openapi.json").json()
    schema = spec["components"]["schemas"]["IncomingMessage"]
    assert {"thread_id", "message_id", "body", "created_at", "customer"} <= set(schema["required"])


# -- ordering and parallelism -------------------------------------------------------------------


class Recorder:
    """A processor that records what each message saw of its thread."""

    def __init__(self, pause_on: str | None = None, barrier: threading.Barrier | None = None):
        self.seen: list[tuple[str, list[str]]] = []
        self.pause_on, self.barrier = pause_on, barrier
        self.entered = threading.Event()

    def __call__(self, session: Session, message: IncomingMessage, thread_pk: int) -> Outcome:
        visible = session.scalars(
            select(Message.mirakl_message_id)
            .where(Message.thread_id == thread_pk)
            .order_by(Message.created_at)
        ).all()
        self.entered.set()
        if message.message_id == self.pause_on:
            threading.Event().wait(0.5)
        if self.barrier is not None:
            self.barrier.wait()
        self.seen.append((message.message_id, list(visible)))
        return Outcome("stored")


def test_messages_of_one_thread_run_one_at_a_time_and_the_second_sees_the_first(
    make_api: ApiFactory,
) -> None:
    recorder = Recorder(pause_on="m-a")
    with make_api(processor=recorder) as api, ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(api.post, body("m-a", minutes=0))
        recorder.entered.wait(5)
        second = pool.submit(api.post, body("m-b", minutes=1))
        assert first.result().status_code == second.result().status_code == 200
    assert recorder.seen == [("m-a", ["m-a"]), ("m-b", ["m-a", "m-b"])]


def test_queued_messages_of_a_thread_are_processed_oldest_first(make_api: ApiFactory) -> None:
    recorder = Recorder()
    with make_api(processor=recorder) as api:
        for message_id, minutes in [("m-late", 5), ("m-early", 1), ("m-middle", 3)]:
            response = httpx.post(
                f"{api.url}/api/v1/messages?mode=async",
                json=body(message_id, minutes=minutes),
                headers={"X-API-Key": KEY},
            )
            assert response.status_code == 202
        api.app.state.pipeline.drain()
    assert [m for m, _ in recorder.seen] == ["m-early", "m-middle", "m-late"]


def test_different_threads_are_processed_in_parallel(make_api: ApiFactory) -> None:
    # Both messages must be inside the processor at the same time, or the barrier breaks.
    recorder = Recorder(barrier=threading.Barrier(2, timeout=10))
    with make_api(processor=recorder) as api, ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(
            pool.map(
                lambda i: api.post(
                    body(
                        f"m-{i}",
                        thread_id=f"t-{i}",
                        order_id=f"2000000{i}-A",
                        customer={"id": f"cust-{i}", "name": None},
                    )
                ).json(),
                range(2),
            )
        )
    assert [a["status"] for a in answers] == ["stored", "stored"]
    assert sorted(m for m, _ in recorder.seen) == ["m-0", "m-1"]


def test_a_failing_message_is_reported_retried_and_then_failed(
    make_api: ApiFactory, session: Session
) -> None:
    def broken(session: Session, message: IncomingMessage, thread_pk: int) -> Outcome:
        raise RuntimeError("the model server is down")

    with make_api(processor=broken, queue_max_attempts=2, queue_retry_delay_s=0) as api:
        answer = api.post(body()).json()
        assert answer["status"] == "failed"
        event = api.event(answer["event_id"]).json()
        assert event["attempts"] == 1 and "the model server is down" in event["error"]
        assert event["next_attempt_at"] is not None
        api.app.state.pipeline.drain()
        event = api.event(answer["event_id"]).json()
        assert (event["status"], event["attempts"], event["next_attempt_at"]) == ("failed", 2, None)
    # Nothing accepted disappears: the message is stored and its thread says why it needs a human.
    assert count(session, InboundEvent) == 1 and count(session, Message) == 1
    thread = session.scalars(select(Thread)).one()
    assert thread.status == "needs_attention"
    assert thread.attention == "RuntimeError: the model server is down"


class ProcessDies(BaseException):
    """Stands for the process being killed mid-message: nothing of its transaction is kept."""


def test_attempts_that_died_with_their_process_are_counted_and_end_in_failed(
    make_api: ApiFactory, session: Session
) -> None:
    def deadly(session: Session, message: IncomingMessage, thread_pk: int) -> Outcome:
        raise ProcessDies()

    with make_api(processor=deadly, queue_max_attempts=2) as api:
        pipeline = api.app.state.pipeline
        accepted = pipeline.accept(IncomingMessage.model_validate(body()), source="webhook")
        for _ in range(2):  # two processes die on it, their transactions rolled back
            with pytest.raises(ProcessDies):
                pipeline.process_event(accepted.event_id)
        pipeline.process_event(accepted.event_id)  # the third start is not attempted
        event = api.event(accepted.event_id).json()
    assert (event["status"], event["attempts"]) == ("failed", 3)
    assert "started 2 times and never finished" in event["error"]
    thread = session.scalars(select(Thread)).one()
    assert thread.status == "needs_attention" and count(session, Message) == 1


class Flaky:
    """A processor that fails until its cause is fixed."""

    def __init__(self) -> None:
        self.fixed = False

    def __call__(self, session: Session, message: IncomingMessage, thread_pk: int) -> Outcome:
        if not self.fixed:
            raise RuntimeError("CSAGENT_MIRAKL_API_KEY is wrong")
        return Outcome("stored")


def test_a_failed_event_is_listed_reported_by_health_and_retried_once_fixed(
    make_api: ApiFactory, session: Session
) -> None:
    flaky = Flaky()
    headers = {"X-API-Key": KEY}
    with make_api(processor=flaky, queue_max_attempts=1) as api:
        event_id = api.post(body()).json()["event_id"]
        listed = httpx.get(f"{api.url}/api/v1/events?status=failed", headers=headers).json()
        assert [(e["event_id"], e["status"]) for e in listed] == [(event_id, "failed")]
        health = httpx.get(f"{api.url}/healthz").json()
        assert (health["status"], health["failed_events"]) == ("degraded", 1)
        assert "retry" in health["problems"][0]

        flaky.fixed = True
        retried = httpx.post(f"{api.url}/api/v1/events/{event_id}/retry", headers=headers)
        assert retried.status_code == 200, retried.text
        assert (retried.json()["status"], retried.json()["attempts"]) == ("stored", 1)
        assert httpx.get(f"{api.url}/healthz").json()["status"] == "ok"
        again = httpx.post(f"{api.url}/api/v1/events/{event_id}/retry", headers=headers)
        assert again.status_code == 409 and again.json()["error"] == "not_failed"
        missing = httpx.post(f"{api.url}/api/v1/events/999999/retry", headers=headers)
        assert missing.status_code == 404
        assert httpx.post(f"{api.url}/api/v1/events/{event_id}/retry").status_code == 401
    thread = session.scalars(select(Thread)).one()
    assert (thread.status, thread.attention) == ("open", None)


def test_all_failed_events_go_back_to_the_queue(make_api: ApiFactory, session: Session) -> None:
    flaky = Flaky()
    headers = {"X-API-Key": KEY}
    with make_api(processor=flaky, queue_max_attempts=1) as api:
        ids = [api.post(body(f"m-{i}", thread_id=f"t-{i}")).json()["event_id"] for i in range(3)]
        flaky.fixed = True
        requeued = httpx.post(f"{api.url}/api/v1/events/retry", headers=headers)
        assert requeued.status_code == 202 and requeued.json() == {"requeued": ids}
        api.app.state.pipeline.drain()
        assert [api.event(i).json()["status"] for i in ids] == ["stored"] * 3
    session.expire_all()
    assert set(session.scalars(select(Thread.status))) == {"open"}


def test_the_event_list_pages_newest_first(api: Api) -> None:
    ids = [api.post(body(f"m-{i}", minutes=i)).json()["event_id"] for i in range(5)]
    headers = {"X-API-Key": KEY}
    first = httpx.get(f"{api.url}/api/v1/events?limit=2", headers=headers).json()
    assert [e["event_id"] for e in first] == [ids[4], ids[3]]
    rest = httpx.get(f"{api.url}/api/v1/events?limit=10&before_id={ids[3]}", headers=headers).json()
    assert [e["event_id"] for e in rest] == [ids[2], ids[1], ids[0]]
    wrong = httpx.get(f"{api.url}/api/v1/events?status=lost", headers=headers)
    assert wrong.status_code == 422


def test_csagent_events_lists_and_retries_failed_events(
    make_api: ApiFactory, session: Session
) -> None:
    from typer.testing import CliRunner

    from cli.main import app as cli

    def broken(session: Session, message: IncomingMessage, thread_pk: int) -> Outcome:
        raise RuntimeError("the knowledge base is empty")

    with make_api(processor=broken, queue_max_attempts=1) as api:
        event_id = api.post(body()).json()["event_id"]
    runner = CliRunner()
    listed = runner.invoke(cli, ["events", "list", "--status", "failed"])
    assert listed.exit_code == 0, listed.output
    assert f"{event_id:>7}  failed" in listed.output
    assert "RuntimeError: the knowledge base is empty" in listed.output
    assert runner.invoke(cli, ["events", "retry"]).exit_code == 2
    # The cause is gone (this CLI process stores messages without the broken step): re-run it.
    retried = runner.invoke(cli, ["events", "retry", "--all-failed"])
    assert retried.exit_code == 0, retried.output
    assert (
        f"{event_id:>7}  stored" in retried.output and "1 retried, 0 failed again" in retried.output
    )
    assert "0 event(s)" in runner.invoke(cli, ["events", "list", "--status", "failed"]).output
    session.expire_all()
    assert session.scalars(select(Thread.status)).one() == "open"


# -- the API contract ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"body": "Bonjour\x00"}, "body"),
        ({"customer": {"id": "cust-1", "name": "Cl\x00aire"}}, "customer.name"),
        ({"created_at": 0}, "created_at"),
        ({"thread_id": "../other-thread"}, "thread_id"),
        ({"message_id": "m/1"}, "message_id"),
    ],
)
def test_unstorable_or_ambiguous_input_is_a_422_naming_the_field(
    api: Api, session: Session, patch: dict[str, Any], field: str
) -> None:
    response = api.post(body(**patch))
    assert response.status_code == 422, response.text
    assert field in response.json()["message"]
    assert count(session, InboundEvent) == 0


def test_an_unexpected_failure_is_json_with_a_request_id(api: Api) -> None:
    @api.app.get("/boom")
    def boom() -> None:
        raise RuntimeError("disk on fire")

    response = httpx.get(f"{api.url}/boom", headers={"X-Request-ID": "req-42"})
    assert response.status_code == 500
    assert response.json() == {
        "error": "internal_error",
        "message": "unexpected RuntimeError; see the logs",
        "request_id": "req-42",
    }
    assert response.headers["X-Request-ID"] == "req-42"
    assert httpx.get(f"{api.url}/healthz").headers["X-Request-ID"]


def test_the_openapi_schema_declares_the_keys_and_the_error_model(api: Api) -> None:
    spec = httpx.get(f"{api.url}/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["ApiKey"] == schemes["ApiKey"] | {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }
    assert schemes["InternalApiKey"]["name"] == "X-API-Key"
    post = spec["paths"]["/api/v1/messages"]["post"]
    assert post["security"] == [{"ApiKey": []}]
    assert post["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
    internal = spec["paths"]["/internal/v1/inventory/{sku}"]["get"]
    assert internal["security"] == [{"InternalApiKey": []}]


def test_every_route_that_takes_a_body_refuses_one_over_the_limit(api: Api) -> None:
    """Each route with a request body, read from the app's own route table (so a route added
    later is covered): an oversized body is refused with 413, its size declared or streamed. The
    OpenAPI paths are that table: FastAPI's `app.routes` keeps included routers unexpanded."""
    from api.app import MAX_BODY_BYTES

    routes = [
        (method.upper(), re.sub(r"\{[^}]+\}", "1", path))
        for path, operations in api.app.openapi()["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    ]
    assert ("PUT", "/internal/v1/shipments/1/address") in routes and len(routes) > 5
    oversized = b"{" + b" " * MAX_BODY_BYTES + b"}"
    headers = {"Content-Type": "application/json", "X-API-Key": KEY}
    answers: dict[tuple[str, str], list[int]] = {}
    for method, path in routes:
        declared = httpx.request(method, f"{api.url}{path}", content=oversized, headers=headers)
        streamed = httpx.request(
            method, f"{api.url}{path}", content=iter([oversized]), headers=headers
        )
        answers[(method, path)] = [declared.status_code, streamed.status_code]
    assert answers == {route: [413, 413] for route in routes}


def test_metrics_count_messages_by_outcome_and_show_the_queue(make_api: ApiFactory) -> None:
    import re

    def stored_so_far(text: str) -> float:
        found = re.search(r'csagent_messages_total\{intent="",status="stored"\} ([\d.]+)', text)
        return float(found.group(1)) if found else 0.0

    flaky = Flaky()
    with make_api(processor=flaky, queue_max_attempts=1) as api:
        before = httpx.get(f"{api.url}/metrics").text
        api.post(body("m-fails"))
        flaky.fixed = True
        api.post(body("m-ok", minutes=1))
        after = httpx.get(f"{api.url}/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    assert stored_so_far(after.text) == stored_so_far(before) + 1
    assert "csagent_failed_events 1.0" in after.text
    assert "csagent_queue_depth 0.0" in after.text
    assert "csagent_message_processing_seconds_count" in after.text
