"""The real `csagent worker` and `csagent serve` processes on the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from helpers import free_port
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cli.local_server import wait_for_health
from store.ingest import CustomerRef, IncomingMessage
from store.models import InboundEvent, Message
from store.queue import Pipeline

CSAGENT = Path(sys.executable).with_name("csagent")


def processed(session: Session) -> int:
    session.expire_all()
    return (
        session.scalar(
            select(func.count()).select_from(InboundEvent).where(InboundEvent.status == "processed")
        )
        or 0
    )


def start(args: list[str], db_url: str, tmp_path: Path, **env: str) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ, "DATABASE_URL": db_url, "CSAGENT_DATA_DIR": str(tmp_path),
        "CSAGENT_MIRAKL_POLL": "false",  # the queue's path is measured here; polling has its own
        **env,
    }  # fmt: skip
    return subprocess.Popen(
        [str(CSAGENT), *args], env=environment, cwd=tmp_path,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def wait_until(condition: object, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


@pytest.mark.slow
def test_a_killed_worker_loses_nothing_and_does_nothing_twice(
    db_url: str, session: Session, tmp_path: Path
) -> None:
    pipeline = Pipeline.from_settings()
    t0 = datetime(2026, 11, 20, tzinfo=UTC)
    total = 400
    for i in range(total):
        pipeline.accept(
            IncomingMessage(
                thread_id=f"t-{i % 40}", message_id=f"m-{i}", body=f"message {i}",
                created_at=t0 + timedelta(seconds=i), customer=CustomerRef(id=f"c-{i % 40}"),
            ),
            source="test",
        )  # fmt: skip
    first = start(["worker", "--concurrency", "2"], db_url, tmp_path)
    assert wait_until(lambda: processed(session) > 0, 60), first.stderr
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    done_at_kill = processed(session)
    assert done_at_kill < total, "the worker finished before it could be killed"

    second = start(["worker"], db_url, tmp_path)
    try:
        assert wait_until(lambda: processed(session) == total, 120)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
    # Every event processed once: one message each. Attempts are counted before the work (they
    # survive a crash), so the events the killed worker was in the middle of show its attempt
    # too (2); all the others 1.
    assert session.scalar(select(func.count()).select_from(Message)) == total
    attempts = session.scalars(select(InboundEvent.attempts)).all()
    assert set(attempts) <= {1, 2} and attempts.count(1) >= total - 40


@pytest.mark.slow
def test_serve_answers_health_and_messages(db_url: str, tmp_path: Path) -> None:
    port = free_port()
    server = start(["serve", "--port", str(port)], db_url, tmp_path, CSAGENT_API_KEY="k-serve")
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_for_health(base, server, 60), server.stderr
        response = httpx.post(
            f"{base}/api/v1/messages",
            headers={"X-API-Key": "k-serve"},
            json={
                "thread_id": "t-serve", "message_id": "m-serve", "body": "Hallo?",
                "created_at": "2026-11-20T09:00:00+01:00", "customer": {"id": "c-1"},
            },
        )  # fmt: skip
        assert response.status_code == 200 and response.json()["status"] == "stored"
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)
