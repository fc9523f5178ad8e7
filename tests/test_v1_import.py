"""`csagent import-v1`: the V1 poller's messages.json goes into PostgreSQL once, losing nothing."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cli.main import app
from store.models import Customer, Message, Order, Thread
from store.threads import summarize_thread

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"

SAMPLE = REPO / "examples" / "v1" / "messages.json"
runner = CliRunner()


def counts(session: Session) -> dict[str, int]:
    def n(model: Any) -> int:
        return session.scalar(select(func.count()).select_from(model)) or 0

    linked = session.scalar(
        select(func.count()).select_from(Thread).where(Thread.order_id.is_not(None))
    )
    return {
        "threads": n(Thread),
        "messages": n(Message),
        "customers": n(Customer),
        "orders": n(Order),
        "linked": linked or 0,
    }


def expected_from_file(path: Path) -> dict[str, int]:
    data = json.loads(path.read_text(encoding="utf-8"))
    threads = data["threads"] if isinstance(data, dict) else data
    orders = {e["id"] for t in threads for e in t["entities"] if e["type"] == "MMP_ORDER"}
    customers = {
        p["id"] for t in threads for p in t["current_participants"] if p["type"] == "CUSTOMER"
    }
    return {
        "threads": len(threads),
        "messages": sum(len(t["messages"]) for t in threads),
        "customers": len(customers),
        "orders": len(orders),
        "linked": sum(1 for t in threads if any(e["type"] == "MMP_ORDER" for e in t["entities"])),
    }


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    """Inputs are copied so that rejects files are written in a temp dir, not in the repo."""
    shutil.copy(SAMPLE, tmp_path / "messages.json")
    shutil.copy(FIXTURES / "v1_broken.json", tmp_path / "v1_broken.json")
    return tmp_path


def test_sample_is_realistic() -> None:
    expected = expected_from_file(SAMPLE)
    assert expected["threads"] >= 40
    assert expected["messages"] >= 120
    assert 0 < expected["linked"] < expected["threads"]


def test_import_of_the_sample_matches_the_file(
    db_url: str, session: Session, work_dir: Path
) -> None:
    result = runner.invoke(app, ["import-v1", str(work_dir / "messages.json")])
    assert result.exit_code == 0, result.output
    expected = expected_from_file(SAMPLE)
    assert counts(session) == expected
    assert f"threads:         {expected['threads']} added, 0 already there" in result.output
    assert f"messages:        {expected['messages']} added, 0 already there" in result.output
    assert f"orders linked:   {expected['linked']} added" in result.output
    assert "rejected:        0" in result.output
    assert not (work_dir / "messages.rejects.json").exists()


def test_second_import_adds_nothing(db_url: str, session: Session, work_dir: Path) -> None:
    first = runner.invoke(app, ["import-v1", str(work_dir / "messages.json")])
    assert first.exit_code == 0, first.output
    before = counts(session)
    second = runner.invoke(app, ["import-v1", str(work_dir / "messages.json")])
    assert second.exit_code == 0, second.output
    assert counts(session) == before
    assert f"threads:         0 added, {before['threads']} already there" in second.output
    assert f"messages:        0 added, {before['messages']} already there" in second.output
    assert "customers:       0 added" in second.output


def test_broken_record_is_rejected_and_the_rest_imported(
    db_url: str, session: Session, work_dir: Path
) -> None:
    source = work_dir / "v1_broken.json"
    result = runner.invoke(app, ["import-v1", str(source)])
    assert result.exit_code == 1
    assert counts(session)["threads"] == 3
    assert counts(session)["messages"] == 3 + 3 + 4
    assert "rejected:        1" in result.output
    assert (
        "record 2 (thread broken-fixture-thread-2): messages.1.from: Field required"
        in result.output
    )
    assert "messages.1.date_created" in result.output
    rejects = json.loads((work_dir / "v1_broken.rejects.json").read_text(encoding="utf-8"))
    assert [(r["index"], r["thread_id"]) for r in rejects] == [(2, "broken-fixture-thread-2")]
    assert "timezone" in rejects[0]["reason"]
    assert rejects[0]["record"]["id"] == "broken-fixture-thread-2"


def test_dry_run_writes_nothing_and_reports_what_it_would_add(
    db_url: str, session: Session, work_dir: Path
) -> None:
    result = runner.invoke(app, ["import-v1", str(work_dir / "v1_broken.json"), "--dry-run"])
    assert result.exit_code == 1
    assert "threads:         3 would add" in result.output
    assert "dry run: nothing was written" in result.output
    assert counts(session)["threads"] == 0
    assert not (work_dir / "v1_broken.rejects.json").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON"),
        ('{"threads": 3}', 'expected a JSON array of threads or an object with a "threads" array'),
        ('"hello"', "expected a JSON array"),
    ],
)
def test_unreadable_file_is_a_clear_error(
    db_url: str, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["import-v1", str(path)])
    assert result.exit_code == 2
    assert message in result.output


def test_missing_file_is_a_clear_error(db_url: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["import-v1", str(tmp_path / "nope.json")])
    assert result.exit_code == 2
    assert "cannot read" in result.output


def thread_record(thread_id: str, messages: list[tuple[str, str, str]]) -> dict[str, Any]:
    """A minimal Mirakl thread; messages are (id, sender type, ISO date)."""
    return {
        "id": thread_id,
        "topic": {"type": "FREE_TEXT", "value": "Où est ma commande ?"},
        "entities": [{"type": "MMP_ORDER", "id": "20567843-A", "label": "20567843-A"}],
        "current_participants": [
            {"type": "CUSTOMER", "id": "cust-1", "display_name": "Claire M."},
            {"type": "SHOP", "id": "2001", "display_name": "Maison Électro"},
        ],
        "date_created": messages[0][2],
        "messages": [
            {"id": mid, "from": {"type": who}, "body": f"message {mid}", "date_created": at}
            for mid, who, at in messages
        ],
    }


def run_import(path: Path, records: Any) -> Any:
    path.write_text(json.dumps(records), encoding="utf-8")
    return runner.invoke(app, ["import-v1", str(path)])


def test_a_later_snapshot_adds_only_new_messages_and_reopens_the_thread(
    db_url: str, session: Session, tmp_path: Path
) -> None:
    answered = [("m1", "CUSTOMER", "2026-11-20T09:00:00Z"), ("m2", "SHOP", "2026-11-20T10:00:00Z")]
    assert run_import(tmp_path / "a.json", [thread_record("t1", answered)]).exit_code == 0
    thread = session.scalars(select(Thread)).one()
    assert (thread.status, thread.sla_due_at) == ("answered", None)

    later = [*answered, ("m3", "CUSTOMER", "2026-11-21T08:00:00+01:00")]
    result = run_import(
        tmp_path / "b.json", {"last_sync": "x", "threads": [thread_record("t1", later)]}
    )
    assert result.exit_code == 0, result.output
    assert "messages:        1 added, 2 already there" in result.output
    session.expire_all()
    thread = session.scalars(select(Thread)).one()
    assert thread.status == "open"
    assert thread.last_message_at == datetime(2026, 11, 21, 7, 0, tzinfo=UTC)
    assert thread.sla_due_at == datetime(2026, 11, 22, 7, 0, tzinfo=UTC)


def test_message_id_already_used_by_another_thread_is_rejected(
    db_url: str, session: Session, tmp_path: Path
) -> None:
    first = thread_record("t1", [("m1", "CUSTOMER", "2026-11-20T09:00:00Z")])
    clash = thread_record(
        "t2", [("m9", "CUSTOMER", "2026-11-20T09:00:00Z"), ("m1", "SHOP", "2026-11-20T10:00:00Z")]
    )
    result = run_import(tmp_path / "c.json", [first, clash])
    assert result.exit_code == 1
    assert "record 1 (thread t2): message id 'm1' already belongs to thread 't1'" in result.output
    # Nothing of the rejected record stays behind, not even its new message m9.
    assert session.scalars(select(Message.mirakl_message_id)).all() == ["m1"]
    assert session.scalars(select(Thread.mirakl_thread_id)).all() == ["t1"]


def test_import_refuses_an_unmigrated_database(db_url: str, tmp_path: Path) -> None:
    from store import migrate

    migrate.downgrade(db_url, "base")
    try:
        result = run_import(tmp_path / "d.json", [])
        assert result.exit_code == 2
        assert "run `csagent db upgrade` first" in result.output
    finally:
        migrate.upgrade(db_url)


T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("history", "status", "due"),
    [
        ([], "open", None),
        ([("inbound", 0)], "open", 24),
        ([("inbound", 0), ("outbound", 2)], "answered", None),
        ([("inbound", 0), ("outbound", 2), ("inbound", 5), ("inbound", 9)], "open", 5 + 24),
        ([("inbound", 9), ("inbound", 5), ("outbound", 2), ("inbound", 0)], "open", 5 + 24),
    ],
)
def test_thread_status_and_reply_deadline(
    history: list[tuple[str, int]], status: str, due: int | None
) -> None:
    summary = summarize_thread([(d, T0 + timedelta(hours=h)) for d, h in history], sla_hours=24)
    assert summary.status == status
    assert summary.sla_due_at == (T0 + timedelta(hours=due) if due is not None else None)
