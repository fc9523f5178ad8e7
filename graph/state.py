"""What the agent graph carries from node to node (checkpointed in PostgreSQL).

A run starts from `InputState` (one customer message). Everything else is about that one message:
`load_context` sets every per-message field afresh (see `PER_MESSAGE`), so nothing decided for an
earlier message of the thread can leak into this one through the checkpoint.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict

from store.facts import Address, OrderFacts
from store.settings import DEFAULT_MARKETPLACE

Route = Literal[
    "order_status", "cancellation_request", "address_update", "confirmation", "draft",
    "human_review",
]  # fmt: skip
# What `act` carries out; every action also sends the reply.
Action = Literal["send_reply", "cancel_order", "cancel_lines", "update_address"]
# Who decided: policy code alone, or a reviewer's answer.
Decision = Literal["automated", "accepted", "edited", "responded", "ignored"]


class Conversation(TypedDict):
    """The thread as the drafts need it."""

    thread_id: str
    customer_name: str | None
    language: str
    history: list[tuple[str, str]]  # (direction, body), oldest first, the latest few
    question: str  # the customer's messages since our last reply
    search_query: str  # what retrieval looks for: the question, with context if it is short
    # Read with `.get`: conversations checkpointed before these existed lack them.
    title: NotRequired[str | None]  # "mr"/"mrs" when the customer goes by a courtesy title
    waiting_since: NotRequired[str | None]  # ISO-8601: the first customer message not answered
    photos: NotRequired[int]  # pictures the customer attached in this thread


class DraftView(TypedDict):
    text: str
    generator: str
    sources: list[dict[str, Any]]
    decision: NotRequired[str | None]  # the decision the draft states first
    flags: NotRequired[list[str]]  # what it states that the facts do not (LLM drafts)


class InputState(TypedDict):
    thread_id: str
    message_id: str
    text: str
    # The marketplace (stored name) the thread is on; absent in checkpoints from before there
    # were several, which are the default one's.
    marketplace: NotRequired[str]


class AgentState(InputState, total=False):
    # context, read for this message (verification and order from Mirakl, in this run)
    verification: str | None  # verified | unverified | unavailable (graph/verify.py)
    problem: str | None  # what could not be verified: nothing is automated while it is set
    conversation: Conversation
    language: str
    customer_name: str | None
    order: OrderFacts | None
    # classification (the vector is reused as the retrieval query of the draft)
    intent: str | None
    confidence: float | None
    classifier: str | None
    vector: list[float] | None
    # decisions
    route: Route | None
    reason: str | None
    action: Action | None
    proposal: Action | None  # an action refused by policy that a reviewer may still approve
    proposal_reply: str | None  # what the customer is told if the reviewer approves it
    address: Address | None
    reply: str | None
    reply_to: list[str] | None  # the reply's recipients (M12 `to`); None: the customer
    draft: DraftView | None
    note: str | None
    decision: Decision | None
    reviewer: str | None  # who answered the review, for the audit log
    act_error: str | None  # an automated decision could not be carried out: a person looks
    # confirmation (store/confirmations.py): the question this message may answer, how the
    # customer answered it, a question to ask with the reply, and the answer to record
    awaiting: dict[str, Any] | None  # ConfirmationView.as_dict() of the pending question
    answer: str | None  # yes | no | unclear | late (a yes after it expired) | expired
    confirm: dict[str, Any] | None  # a question `act` records once the reply is sent
    settle: dict[str, Any] | None  # {id, status, outcome}: recorded by `act` after acting
    message_at: str | None  # ISO-8601: when Mirakl says the customer wrote this message
    actions: list[str]


def marketplace_of(state: Any) -> str:
    """The stored name of the thread's marketplace (`default` for checkpoints from before)."""
    return str(state.get("marketplace") or DEFAULT_MARKETPLACE)


def fresh_message_state() -> dict[str, Any]:
    """Every per-message field at its empty value: what `load_context` starts each run from."""
    return {
        "verification": None, "problem": None,
        "conversation": None, "language": "en", "customer_name": None, "order": None,
        "intent": None, "confidence": None, "classifier": None, "vector": None,
        "route": None, "reason": None, "action": None, "proposal": None, "proposal_reply": None,
        "address": None,
        "reply": None, "reply_to": None,
        "draft": None, "note": None, "decision": None, "reviewer": None, "act_error": None,
        "awaiting": None, "answer": None, "confirm": None, "settle": None, "message_at": None,
        "actions": [],
    }  # fmt: skip


PER_MESSAGE = frozenset(fresh_message_state())
