"""A fresh `csagent serve` as a new user starts it: empty data dir, embedded PostgreSQL, no
`kb ingest`, a port of their choosing; then stopped the way systemd or Docker stop it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from helpers import free_port, postgres_stopped

from cli.local_server import wait_for_health

CSAGENT = Path(sys.executable).with_name("csagent")


@pytest.mark.slow
def test_a_fresh_serve_drafts_from_the_shipped_policies_and_stops_cleanly_on_sigterm(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "CSAGENT_PROCESSING", "CSAGENT_INTERNAL_API_URL")
    }
    env["CSAGENT_DATA_DIR"] = str(tmp_path)
    log = tmp_path / "serve.log"
    server = subprocess.Popen(
        [str(CSAGENT), "serve", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_for_health(url, server, timeout_s=240), log.read_text()
        output = log.read_text()
        assert "the knowledge base is empty: ingesting" in output
        # The agent's tools follow the port the server was started on.
        assert f"call http://127.0.0.1:{port}/internal/v1" in output

        key = (tmp_path / "api_key").read_text().strip()
        answer = httpx.post(
            f"{url}/api/v1/messages",
            headers={"X-API-Key": key},
            json={
                "thread_id": "fresh-1", "message_id": "fresh-m-1",
                "created_at": "2026-11-28T09:00:00Z", "customer": {"id": "cust-new"},
                "body": "Bonjour, comment puis-je retourner un article qui ne me plaît pas ?",
            },
            timeout=120,
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "awaiting_approval"
        reply = answer.json()["reply"]
        # Quoted from the shipped return policy, in French: the knowledge base was ingested.
        assert "Voici ce que prévoit notre politique" in reply and "retour" in reply
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=60)
    assert code == 0, log.read_text()[-3000:]
    # The embedded PostgreSQL stopped with the server: nothing is left running.
    assert postgres_stopped(tmp_path)
