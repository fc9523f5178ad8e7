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
