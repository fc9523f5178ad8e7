"""`make demo` path end to end: the real `csagent` command on its own embedded PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import postgres_stopped

REPO = Path(__file__).resolve().parents[1]
CSAGENT = Path(sys.executable).with_name("csagent")


def run_csagent(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    # The demo runs the product as a user gets it: embedded database, the agent switched on.
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CSAGENT_PROCESSING")}
    env["CSAGENT_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [str(CSAGENT), *args], cwd=data_dir, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_demo_imports_the_sample_and_data_survives_a_restart(tmp_path: Path) -> None:
    sample = json.loads((REPO / "examples" / "v1" / "messages.json").read_text(encoding="utf-8"))
    n_threads = len(sample)
    n_messages = sum(len(t["messages"]) for t in sample)

    first = run_csagent("demo", "--no-serve", data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert f"threads:         {n_threads} added, 0 already there" in out
    assert f"messages:        {n_messages} added, 0 already there" in out
    # The live part: four messages posted as n8n would and handled by the agent, a duplicate,
    # a lost webhook recovered by sync, a review accepted through the API, the tools.
    # Orders created on the simulator's API; csagent answers from what it reads there.
    assert "5 new orders created on the simulator's Mirakl API" in out
    assert "POST demo-fr-status   -> auto_replied      intent order_status" in out
    assert "POST demo-de-cancel   -> auto_replied      intent cancellation_request" in out
    assert "forged notification  -> unverified (Mirakl's thread demo-fr-status has no" in out
    # Cancelled on the customer's yes, asked back first (nothing irreversible on a guess).
    assert "intent cancellation_request (0." in out and "(asked the customer to confirm)" in out
    assert "the customer answers 'Ja, bitte.' -> auto_replied, answer read as yes" in out
    assert "on Mirakl, order 30100002-A is now CANCELED" in out
    assert "the customer answers 'Sì, confermo. Grazie!' -> auto_replied, answer read as yes" in out
    assert "POST demo-it-address  -> auto_replied      intent address_update" in out
    assert "POST demo-fr-return   -> awaiting_approval intent return_request" in out
    assert "same message again   -> duplicate=True, event 1" in out
    assert "ingested 1, already known 6" in out
    assert "(return_request): return_request is always reviewed by a human" in out  # as written
    assert "accepted by the agent -> replied, actions ['reply_sent']" in out
    assert "tool check_inventory(VAC-CYC-900) -> 3 available" in out
    assert "compute_partial_refund(20567843-A, late_delivery) -> EUR 9.90" in out
    assert "draft:" in out and "Traceback" not in first.stderr
    # A Carrefour-like marketplace beside it: the same thread and order ids, its own answer.
    assert (
        "carrefour, same thread demo-fr-status and order 30100001-A -> auto_replied; its reply "
        "names tracking 6A99CARREFOUR: True; fnac's thread got it too: False"
    ) in out
    assert f"threads:    {n_threads + 6} (" in out  # five new ones, and Carrefour's
    # The embedded server stops with the last process that used it...
    assert postgres_stopped(tmp_path)

    # ...and its data is still there when the next command starts it again.
    second = run_csagent("demo", "--no-serve", data_dir=tmp_path)
    assert second.returncode == 0, second.stderr
    assert f"threads:         0 added, {n_threads} already there" in second.stdout
    assert f"threads:    {n_threads + 6} (" in second.stdout


@pytest.mark.slow
def test_db_commands_report_the_schema_revision(tmp_path: Path) -> None:
    before = run_csagent("db", "current", data_dir=tmp_path)
    assert before.returncode == 0, before.stderr
    assert before.stdout.startswith("current: none  head: ")
    upgraded = run_csagent("db", "upgrade", data_dir=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    head = before.stdout.split("head: ")[1].strip()
    assert upgraded.stdout.strip() == f"database at revision {head}"


@pytest.mark.slow
def test_unreachable_database_url_is_a_clear_error(tmp_path: Path) -> None:
    env = dict(os.environ, DATABASE_URL="postgresql://nobody@127.0.0.1:1/nothing")
    result = subprocess.run(
        [str(CSAGENT), "db", "upgrade"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "error: cannot connect to the database" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_the_demo_ends_with_the_dashboard_until_ctrl_c(tmp_path: Path) -> None:
    """`make demo` leaves the dashboard running with a printed demo login; Ctrl-C stops it
    cleanly (the embedded PostgreSQL too)."""
    import signal
    import time

    from gradio_client import Client

    from cli.local_server import free_port

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CSAGENT_PROCESSING")}
    env["CSAGENT_DATA_DIR"] = str(tmp_path)
    port = free_port()
    process = subprocess.Popen(
        [str(CSAGENT), "demo", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        line = ""
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if line.startswith("dashboard: ") or not line:
                break
        assert line.startswith(f"dashboard: http://127.0.0.1:{port}/ui/"), line
        assert "sign in as demo / " in line
        password = line.split("sign in as demo / ")[1].split(";")[0]
        client = Client(f"http://127.0.0.1:{port}/ui/", auth=("demo", password), verbose=False)
        counts, table = client.predict("all", "", False, api_name="/inbox")
        assert "**awaiting review**" in counts and len(table["data"]) >= 46
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    assert postgres_stopped(tmp_path)
