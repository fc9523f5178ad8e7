"""What an agent does from the dashboard or the API, beside answering reviews: ask for a draft of
a thread, and send a reply written by hand. Both are shared by the API routes and the UI."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session, sessionmaker

from graph.conversation import read_conversation
from graph.drafting import Draft, DraftingService
from graph.nodes.actions import CLOCK_SKEW
from graph.processor import Agent
from graph.review_protocol import ReviewAnswer
from graph.verify import record_reading, thread_orders
from knowledge.canned import Canned, canned_for
from knowledge.language import detect_language
from store.audit import perform_once, record_human, reply_already_sent
from store.confirmations import supersede
from store.inbox import thread_detail
from store.queue import Outcome
from store.settings import Settings
from store.threads import (
    ThreadRef,
    close_thread,
    latest_inbound,
    latest_message_id,
    lock_thread,
    reassign,
    record_outbound,
    refresh_thread_summary,
    retag,
    snooze_thread,
    thread_intent,
    thread_pk_of,
)
from tools.mirakl.blocking import BlockingMirakl
from tools.mirakl.client import find_shop_message


def draft_for_thread(
    session: Session,
    mirakl: BlockingMirakl,
    drafting: DraftingService,
    thread_id: str,
    marketplace: str,
    classify: Callable[[str], str | None] | None = None,
) -> Draft:
    """A draft for the thread's pending question, on the order as Mirakl has it now (only this
    customer's; when it cannot be read, the draft claims nothing about it). ThreadNotStored
    when the thread is unknown. The session is closed before Mirakl and the model are called.
    `mirakl` is the client of the thread's marketplace. A thread never classified (imported
    from the old poller, say) is classified now with `classify` when given, so that its draft
    states the seller's decision first like any other."""
    conversation = read_conversation(session, thread_id, marketplace)
    intent = thread_intent(session, thread_id, marketplace)
    session.close()
    if intent is None and classify is not None:
        # Everything the customer wrote: "¿Me mandan otra?" alone says little; after "the
        # toaster arrived broken" it is a damaged item.
        said = [body for direction, body in conversation["history"] if direction == "inbound"]
        intent = classify("\n\n".join([*said, conversation["question"]]))
    reading = thread_orders(mirakl, thread_id, conversation["question"])
    if reading.read:
        with session.begin():
            record_reading(session, thread_id, reading, marketplace)
        session.close()
    return drafting.draft(
        conversation, reading.order, unverified=reading.problem, intent=intent,
        marketplace=marketplace,
    )  # fmt: skip


# A thread classified for a draft only: below this, the draft states no decision.
DRAFT_INTENT_FLOOR = 0.6


def intent_for_draft(classifier: Any) -> Callable[[str], str | None]:
    """The intent of a thread never classified, when the classifier is sure enough of it."""

    def classify(text: str) -> str | None:
        prediction = classifier.classify(text)
        return prediction.intent if prediction.confidence >= DRAFT_INTENT_FLOOR else None

    return classify


@dataclass(frozen=True)
class ManualReply:
    message_id: str | None
    via_review: bool  # the thread had a pending review: the reply answered it (as an edit)
    outcome: Outcome | None = None


class ThreadMovedOn(Exception):
    """The thread changed since the agent read it (a new customer message, another agent's
    reply): their text answers what they saw, not what is there now."""


def send_manual_reply(
    session: Session,
    *,
    sessions: sessionmaker[Session],
    mirakl: BlockingMirakl,
    agent: Agent | None,
    thread_id: str,
    text: str,
    actor: str,
    marketplace: str,
    to: tuple[str, ...] = ("CUSTOMER",),
    seen_last: str | None = None,
) -> ManualReply:
    """Send an agent's own text to the thread on Mirakl, once.

    With a review pending on the thread, the text answers it (an edit: the same as the review
    API), so nothing stays waiting; otherwise the reply is posted, recorded under the agent's
    name, and the thread is answered. The same text sent twice for the same customer message
    (a double click, a retry after a timeout) is posted once. `to`: the recipients on Mirakl
    (the customer, the marketplace's operator, or both). MiraklError when Mirakl refuses or
    cannot be reached: nothing is recorded as sent. `seen_last`: the newest message the agent
    had read; ThreadMovedOn when the thread has a newer one (checked under the thread's lock,
    so of two agents answering at once, one reply goes and the other is refused)."""
    thread_pk = thread_pk_of(session, thread_id, marketplace)
    # One at a time per thread (with the agent's runs): a double click waits, then sees the first.
    lock_thread(session, thread_id, marketplace=marketplace)
    last_inbound, asked_at = latest_inbound(session, thread_pk)
    digest = hashlib.sha256(text.encode()).hexdigest()
    already = reply_already_sent(session, thread_id, digest, asked_at, marketplace=marketplace)
    if already is not None:  # this text already answered this customer message
        return ManualReply(already, False)
    if seen_last is not None:
        latest = latest_message_id(session, thread_id, marketplace)
        refuse_if_moved_on(thread_id, latest, seen_last, then="send")
    # A person answers: a question csagent asked the customer is no longer awaited.
    supersede(
        session, thread_id, marketplace=marketplace, outcome=f"{actor} replied by hand instead"
    )
    thread = ThreadRef(thread_id, marketplace)
    pending = agent.pending_review(thread) if agent is not None else None
    if agent is not None and pending is not None:
        # The text answers the review as an edit of its reply only: whatever action the review
        # proposed is not carried out by a reply typed by hand.
        answer = ReviewAnswer(
            decision="edited", reply=text, with_action=False, to=to, reviewer=actor,
            message_id=pending.message_id,
        )  # fmt: skip
        outcome = agent.resume(session, thread, answer)
        return ManualReply(None, True, outcome)
    message_id = _post_once(
        sessions, mirakl, thread_id, text, to, actor=actor, marketplace=marketplace,
        key=f"manual:{thread_id}:{last_inbound}:{digest[:32]}", digest=digest,
    )  # fmt: skip
    record_outbound(session, thread_id, message_id, text, actor, marketplace=marketplace)
    return ManualReply(message_id, False)


def _post_once(
    sessions: sessionmaker[Session],
    mirakl: BlockingMirakl,
    thread_id: str,
    text: str,
    to: tuple[str, ...],
    *,
    actor: str,
    marketplace: str,
    key: str,
    digest: str,
) -> str:
    """Post the agent's text on Mirakl once for `key` (found there again after a crash); the
    id Mirakl gave the message."""

    def post() -> dict[str, Any]:
        result = mirakl.call(lambda m: m.reply(thread_id, text, to=to))
        return {"message_id": result.message_id}

    def already_sent(since: datetime) -> dict[str, Any] | None:
        thread = mirakl.call(lambda m: m.get_thread(thread_id))
        found = find_shop_message(thread.messages, text, since - CLOCK_SKEW)
        return {"message_id": found.id} if found else None

    result = perform_once(
        sessions, key=key, action="reply.manual", actor_type="human", actor=actor,
        payload={"thread": thread_id, "reply_sha256": digest}, act=post,
        already_done=already_sent, marketplace=marketplace,
    )  # fmt: skip
    return str(result["message_id"])


def refuse_if_moved_on(
    thread_id: str, latest: str | None, seen_last: str | None, *, then: str
) -> None:
    """ThreadMovedOn when the thread's newest message (`latest`, read under the thread's lock,
    so of two agents acting at once the second is refused) is not `seen_last`, the newest one
    the agent had read (None: not said)."""
    if seen_last is not None and latest is not None and latest != seen_last:
        raise ThreadMovedOn(
            f"thread {thread_id} has a newer message than the one you read "
            f"(the customer wrote again, or someone replied): read it, then {then}"
        )


CloseReason = Literal["no_reply_needed", "resolved", "spam"]


def close_by_agent(
    session: Session,
    *,
    sessions: sessionmaker[Session],
    agent: Agent | None,
    thread_id: str,
    actor: str,
    reason: CloseReason,
    marketplace: str,
    seen_last: str | None = None,
) -> bool:
    """Close a thread without replying ("thanks!", spam, handled elsewhere), under the agent's
    name. A question csagent asked the customer is no longer awaited; a pending review is
    answered by "ignore" (nothing is sent, no action is done). True when a review was answered.
    The customer's next message opens the thread again. ThreadMovedOn when the thread has a
    message newer than `seen_last`; LookupError for an unknown thread."""
    thread_pk_of(session, thread_id, marketplace)
    lock_thread(session, thread_id, marketplace=marketplace)
    latest = latest_message_id(session, thread_id, marketplace)
    refuse_if_moved_on(thread_id, latest, seen_last, then="close")
    supersede(
        session, thread_id, marketplace=marketplace, outcome=f"{actor} closed the thread ({reason})"
    )
    thread = ThreadRef(thread_id, marketplace)
    pending = agent.pending_review(thread) if agent is not None else None
    if agent is not None and pending is not None:
        answer = ReviewAnswer(decision="ignored", reviewer=actor, message_id=pending.message_id)
        agent.resume(session, thread, answer)
        return True
    perform_once(
        sessions,
        key=f"close:{thread_id}:{latest}:{actor}",
        action="thread.close",
        actor_type="human",
        actor=actor,
        payload={"thread": thread_id, "reason": reason},
        act=lambda: {"closed": True},
        marketplace=marketplace,
    )
    close_thread(session, thread_id, marketplace=marketplace)
    return False


def reopen_by_agent(
    session: Session,
    *,
    thread_id: str,
    actor: str,
    sla_hours: float,
    marketplace: str,
) -> str:
    """Open a closed thread again (closed by mistake); its status and reply deadline come back
    from its messages. The new status; LookupError for an unknown thread."""
    thread_pk = thread_pk_of(session, thread_id, marketplace)
    lock_thread(session, thread_id, marketplace=marketplace)
    summary = refresh_thread_summary(session, thread_pk, sla_hours)
    record_human(
        session, action="thread.reopen", actor=actor, thread_pk=thread_pk,
        payload={"thread": thread_id}, marketplace=marketplace,
    )  # fmt: skip
    return summary.status


def assign_thread(
    session: Session,
    *,
    thread_id: str,
    to: str | None,
    actor: str,
    marketplace: str,
) -> str | None:
    """Give the thread to an agent (`to`: their name; the actor's own to take it), or release
    it (None), recorded under the actor's name. The previous assignee; LookupError for an
    unknown thread."""
    thread_pk = thread_pk_of(session, thread_id, marketplace)
    lock_thread(session, thread_id, marketplace=marketplace)  # two agents taking it: one after
    previous = reassign(session, thread_pk, to)
    record_human(
        session, action="thread.assign", actor=actor, thread_pk=thread_pk,
        payload={"thread": thread_id, "from": previous, "to": to}, marketplace=marketplace,
    )  # fmt: skip
    return previous


def tag_thread(
    session: Session,
    *,
    thread_id: str,
    add: list[str],
    remove: list[str],
    actor: str,
    marketplace: str,
) -> list[str]:
    """Tags added to and removed from the thread under the actor's name (audit `thread.tags`).
    Its tags now; LookupError for an unknown thread, ValueError for a tag that is not one."""
    thread_pk = thread_pk_of(session, thread_id, marketplace)
    before, after = retag(session, thread_pk, add=add, remove=remove)
    if before != after:
        record_human(
            session, action="thread.tags", actor=actor, thread_pk=thread_pk,
            payload={"thread": thread_id, "from": before, "to": after}, marketplace=marketplace,
        )  # fmt: skip
    return after


def canned_replies(
    session: Session, thread_id: str, settings: Settings, marketplace: str
) -> list[Canned]:
    """The shop's canned responses in the thread's language, filled from the thread: the
    customer's name, the order, its carrier and tracking link. LookupError for an unknown
    thread; ValueError when the canned file is wrong."""
    detail = thread_detail(session, thread_id, marketplace=marketplace)
    if detail is None:
        raise LookupError(f"thread {thread_id} not found")
    language = detail.language
    if language is None:
        asked = [m.body for m in detail.messages if m.direction == "inbound"]
        language = detect_language(asked[-1]) if asked else None
    order = detail.order or {}
    shipment = order.get("shipment") or {}
    facts = {
        "customer": detail.customer,
        "order": order.get("order_id"),
        "tracking": shipment.get("tracking_url") or shipment.get("tracking_number"),
        "carrier": shipment.get("carrier"),
        "shop": settings.for_marketplace(marketplace).shop_name,
    }
    return canned_for(language, facts, settings.canned_file)


def snooze_by_agent(
    session: Session,
    *,
    thread_id: str,
    until: datetime | None,
    actor: str,
    marketplace: str,
) -> None:
    """Put a thread aside until `until` (None: back now), under the agent's name; it comes
    back then, or as soon as the customer writes. LookupError for an unknown thread."""
    thread_pk = thread_pk_of(session, thread_id, marketplace)
    lock_thread(session, thread_id, marketplace=marketplace)
    snooze_thread(session, thread_id, until, marketplace=marketplace)
    record_human(
        session, action="thread.snooze", actor=actor, thread_pk=thread_pk,
        payload={"thread": thread_id, "until": until.isoformat() if until else None},
        marketplace=marketplace,
    )  # fmt: skip
