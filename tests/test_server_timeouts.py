"""A client that sends its request slowly (slowloris) no longer holds a connection: headers or a
body that do not arrive whole within CSAGENT_HTTP_READ_TIMEOUT_S end the connection, as does a
connection that sends nothing; ordinary requests are untouched."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from helpers import Simulator, free_port, serve
from pydantic import SecretStr

from api.app import create_app
from api.server import DeadlineH11Protocol
from store.settings import Settings

READ_TIMEOUT_S = 1.0


@pytest.fixture
def api(db_url: str, mirakl_sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr(DeadlineH11Protocol, "read_timeout_s", READ_TIMEOUT_S)
    settings = Settings(api_key=SecretStr("k"), processing="store", mirakl_base_url=mirakl_sim.api)
    with serve(create_app(settings, queue_worker=False), port=free_port()) as url:
        yield url


def held_for(url: str, chunks: list[bytes], pause_s: float, limit_s: float = 20.0) -> float:
    """Seconds until the server closes a connection that sends `chunks` `pause_s` apart."""
    host, port = url.removeprefix("http://").split(":")
    started = time.perf_counter()
    with socket.create_connection((host, int(port))) as sock:
        sock.settimeout(pause_s)
        for chunk in chunks:
            try:
                sock.sendall(chunk)
                if sock.recv(1024) == b"":
                    return time.perf_counter() - started
            except TimeoutError:
                continue  # nothing to read yet: the server is still waiting
            except (BrokenPipeError, ConnectionResetError):
                return time.perf_counter() - started
            if time.perf_counter() - started > limit_s:
                break
    return float("inf")


def test_slow_headers_a_slow_body_and_silence_are_cut_off(api: str) -> None:
    headers = [bytes([b]) for b in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200]
    assert held_for(api, headers, pause_s=0.2) < READ_TIMEOUT_S + 3
    body = [b"POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 500\r\nX-API-Key: k\r\n\r\n", *([b"{"] * 200)]  # fmt: skip
    assert held_for(api, body, pause_s=0.2) < READ_TIMEOUT_S + 3
    assert held_for(api, [b""] * 100, pause_s=0.2) < READ_TIMEOUT_S + 3


def test_ordinary_requests_still_work_on_one_connection(api: str) -> None:
    with httpx.Client(base_url=api) as client:
        assert client.get("/healthz").status_code == 200
        time.sleep(READ_TIMEOUT_S / 2)
        assert client.get("/healthz").status_code == 200


def test_a_slow_answer_to_a_connection_close_request_is_not_cut(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """nginx talks to its backend in HTTP/1.0 or with `Connection: close`: once such a request
    has arrived, its answer (the agent's work, an event stream) takes as long as it needs."""
    import asyncio

    from fastapi import FastAPI

    monkeypatch.setattr(DeadlineH11Protocol, "read_timeout_s", READ_TIMEOUT_S)
    app = FastAPI()

    @app.get("/slow")
    async def slow() -> dict[str, str]:
        await asyncio.sleep(READ_TIMEOUT_S * 2.5)
        return {"done": "yes"}

    with serve(app, port=free_port()) as url:
        for version, extra in (("1.1", b"Connection: close\r\n"), ("1.0", b"")):
            host, port = url.removeprefix("http://").split(":")
            with socket.create_connection((host, int(port)), timeout=30) as sock:
                sock.sendall(f"GET /slow HTTP/{version}\r\nHost: x\r\n".encode() + extra + b"\r\n")
                answer = b""
                while chunk := sock.recv(4096):
                    answer += chunk
            assert answer.startswith(b"HTTP/1.1 200") and b'"done":"yes"' in answer, answer
