"""perform_once, the exactly-once wrapper of every irreversible side effect (a Mirakl reply, a
cancellation), against the real database; a list of calls stands in for Mirakl."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from store.audit import perform_once
from store.db import get_engine
from store.models import AuditEntry
from store.settings import DEFAULT_MARKETPLACE


class Crash(BaseException):
    """The process dies inside `act` (a kill, a lost worker): no `except Exception` sees it."""


class Mirakl:
    """The world: what was sent, and what `already_done` finds there."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.looked_since: list[datetime] = []

    def reply(self, text: str) -> Callable[[], dict[str, Any]]:
        def act() -> dict[str, Any]:
            self.sent.append(text)
            return {"message_id": f"msg-{len(self.sent)}"}

        return act

    def already_sent(self, since: datetime) -> dict[str, Any] | None:
        self.looked_since.append(since)
        return {"message_id": f"msg-{len(self.sent)}"} if self.sent else None


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    yield sessionmaker(bind=get_engine(), expire_on_commit=False)


@pytest.fixture
def mirakl() -> Mirakl:
    return Mirakl()


def send(
    sessions: sessionmaker[Session],
    act: Callable[[], dict[str, Any]],
    already_done: Callable[[datetime], dict[str, Any] | None] | None = None,
    *,
    key: str = "reply:t-1:m-1",
    marketplace: str = DEFAULT_MARKETPLACE,
    actor: str = "Ana Moreau",
) -> dict[str, Any]:
    return perform_once(
        sessions,
        key=key,
        action="reply.send",
        actor_type="human",
        actor=actor,
        payload={"thread": "t-1", "reply_sha256": "abc"},
        act=act,
        already_done=already_done,
        marketplace=marketplace,
    )


def audit_rows(sessions: sessionmaker[Session]) -> list[AuditEntry]:
    with sessions() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def raise_timeout() -> dict[str, Any]:
    raise TimeoutError("Mirakl did not answer")


def test_a_reply_is_sent_once_when_the_same_key_is_performed_twice(
    sessions: sessionmaker[Session], mirakl: Mirakl
) -> None:
    first = send(sessions, mirakl.reply("Bonjour"), mirakl.already_sent)
    again = send(sessions, mirakl.reply("Bonjour, again"), mirakl.already_sent)
    assert mirakl.sent == ["Bonjour"]
    assert first == again == {"message_id": "msg-1"}  # the recorded result, not a new one
    assert mirakl.looked_since == []  # a finished action is not looked for in the world


def test_the_audit_row_records_who_did_what_and_how_it_ended(
    sessions: sessionmaker[Session], mirakl: Mirakl
) -> None:
    send(sessions, mirakl.reply("Bonjour"))
    [row] = audit_rows(sessions)
    assert (row.actor_type, row.actor, row.action) == ("human", "Ana Moreau", "reply.send")
    assert (row.outcome, row.marketplace, row.idempotency_key) == (
        "succeeded",
        DEFAULT_MARKETPLACE,
        "reply:t-1:m-1",
    )
    assert row.payload == {
        "thread": "t-1",
        "reply_sha256": "abc",
        "result": {"message_id": "msg-1"},
    }
    assert row.finished_at is not None and row.finished_at >= row.at


def test_the_attempt_is_recorded_as_started_before_the_side_effect_happens(
    sessions: sessionmaker[Session],
) -> None:
    """Committed at once, so a crash during the call to Mirakl leaves a trace to look from."""
    seen_during_act: list[tuple[str, datetime | None]] = []

    def act() -> dict[str, Any]:
        seen_during_act.extend((r.outcome, r.finished_at) for r in audit_rows(sessions))
        return {}

    send(sessions, act)
    assert seen_during_act == [("started", None)]


def test_a_failure_is_recorded_with_its_error_and_raised_to_the_caller(
    sessions: sessionmaker[Session],
) -> None:
    with pytest.raises(TimeoutError, match="Mirakl did not answer"):
        send(sessions, raise_timeout)
    [row] = audit_rows(sessions)
    assert row.outcome == "failed" and row.finished_at is not None
    assert row.payload["error"] == "TimeoutError: Mirakl did not answer"
    assert "result" not in row.payload


def test_the_audit_rows_survive_a_rollback_of_the_callers_transaction(
    sessions: sessionmaker[Session], mirakl: Mirakl
) -> None:
    with sessions() as caller:
        caller.begin()
        caller.add(AuditEntry(actor_type="system", action="caller.work", outcome="succeeded"))
        caller.flush()
        send(sessions, mirakl.reply("Bonjour"))
        caller.rollback()
    assert [(r.action, r.outcome) for r in audit_rows(sessions)] == [("reply.send", "succeeded")]


def test_after_a_failure_that_reached_mirakl_the_retry_finds_it_and_does_not_send_again(
    sessions: sessionmaker[Session], mirakl: Mirakl
) -> None:
    """A timeout after Mirakl took the reply: the retry looks first, and finds it."""
    sent_then_timed_out = mirakl.reply("Bonjour")

    def act() -> dict[str, Any]:
        sent_then_timed_out()
        raise TimeoutError("no answer")

    with pytest.raises(TimeoutError):
        send(sessions, act, mirakl.already_sent)
    result = send(sessions, mirakl.reply("Bonjour"), mirakl.already_sent)
    assert mirakl.sent == ["Bonjour"] and result == {"message_id": "msg-1"}
    [row] = audit_rows(sessions)
    assert row.outcome == "succeeded" and row.payload["result"] == {"message_id": "msg-1"}
    assert mirakl.looked_since == [row.at]


def test_after_a_failure_that_did_not_reach_mirakl_the_retry_sends_once(
    sessions: sessionmaker[Session], mirakl: Mirakl
) -> None:
    with pytest.raises(TimeoutError):
        send(sessions, raise_timeout, mirakl.already_sent)
    assert send(sessions, mirakl.reply("Bonjour"), mirakl.already_sent) == {"message_id": "msg-1"}
    assert send(sessions, mirakl.reply("Bonjour"), mirakl.already_sent) == {"message_id": "msg-1"}
    assert mirakl.sent == ["Bonjour"] and len(mirakl.looked_since) == 1
    assert [r.outcome for r in audit_rows(sessions)] == ["succeeded"]


def test_after_a_crash_mid_send_the_retry_looks_in_mirakl_before_sending(
    sessions: sessionmaker[Session], mirakl: Mirakl
) -> None:
    sent_then_died = mirakl.reply("Bonjour")

    def act() -> dict[str, Any]:
        sent_then_died()
        raise Crash

    with pytest.raises(Crash):
        send(sessions, act, mirakl.already_sent)
    [row] = audit_rows(sessions)
    assert row.outcome == "started" and row.finished_at is None  # what the dead attempt left
    assert send(sessions, mirakl.reply("Bonjour"), mirakl.already_sent) == {"message_id": "msg-1"}
    assert mirakl.sent == ["Bonjour"]
    assert [r.outcome for r in audit_rows(sessions)] == ["succeeded"]


def test_after_a_crash_before_sending_the_retry_sends_once(
    sessions: sessionmaker[Session], mirakl: Mirakl
) -> None:
    def act() -> dict[str, Any]:
        raise Crash

    with pytest.raises(Crash):
        send(sessions, act, mirakl.already_sent)
    send(sessions, mirakl.reply("Bonjour"), mirakl.already_sent)
    send(sessions, mirakl.reply("Bonjour"), mirakl.already_sent)
    assert mirakl.sent == ["Bonjour"] and len(mirakl.looked_since) == 1


def test_the_world_is_searched_since_the_first_attempt_began(
    sessions: sessionmaker[Session], mirakl: Mirakl
) -> None:
    """Two failed attempts: the third looks from the first one's time, not the second's."""
    with pytest.raises(TimeoutError):
        send(sessions, raise_timeout, mirakl.already_sent)
    [first] = audit_rows(sessions)
    with pytest.raises(TimeoutError):
        send(sessions, raise_timeout, mirakl.already_sent)
    send(sessions, mirakl.reply("Bonjour"), mirakl.already_sent)
    assert mirakl.looked_since == [first.at, first.at]


def test_without_a_way_to_look_a_failed_action_is_attempted_again(
    sessions: sessionmaker[Session], mirakl: Mirakl
) -> None:
    with pytest.raises(TimeoutError):
        send(sessions, raise_timeout)
    send(sessions, mirakl.reply("Bonjour"))
    send(sessions, mirakl.reply("Bonjour"))
    assert mirakl.sent == ["Bonjour"]


def test_the_same_key_on_two_marketplaces_is_two_actions(
    sessions: sessionmaker[Session], mirakl: Mirakl
) -> None:
    """Order ids are per marketplace: cancelling 1001 on fnac is not cancelling it on darty."""
    send(sessions, mirakl.reply("on the default one"))
    send(sessions, mirakl.reply("on fnac"), marketplace="fnac")
    send(sessions, mirakl.reply("on fnac, again"), marketplace="fnac")
    assert mirakl.sent == ["on the default one", "on fnac"]
    keys = {(r.marketplace, r.idempotency_key) for r in audit_rows(sessions)}
    # The default marketplace's keys stay bare: an install's existing audit keys keep meaning.
    assert keys == {(DEFAULT_MARKETPLACE, "reply:t-1:m-1"), ("fnac", "fnac/reply:t-1:m-1")}


def test_different_keys_are_different_actions(
    sessions: sessionmaker[Session], mirakl: Mirakl
) -> None:
    send(sessions, mirakl.reply("first message's reply"), key="reply:t-1:m-1")
    send(sessions, mirakl.reply("second message's reply"), key="reply:t-1:m-2")
    assert mirakl.sent == ["first message's reply", "second message's reply"]
