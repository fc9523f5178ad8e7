"""What the agent reads of a thread from the database before it decides: the conversation, in
the customer's language. Read once per message, by `load_context`."""

from __future__ import annotations

from sqlalchemy.orm import Session

from graph.replies import addressee
from graph.state import Conversation
from knowledge.language import detect_language
from store.business import NotFound
from store.threads import ThreadSnapshot, read_thread

HISTORY = 8  # messages of the conversation a draft sees
SHORT_QUESTION = 80  # characters under which retrieval also reads the earlier messages


class ThreadNotStored(NotFound):
    """The thread is not in the database (the API answers 404)."""


def conversation_of(thread: ThreadSnapshot) -> Conversation:
    history = thread.messages
    pending: list[str] = []
    waiting_since = None
    for i in range(len(history) - 1, -1, -1):
        direction, body = history[i]
        if direction == "outbound":
            break
        pending.insert(0, body)
        if i < len(thread.sent_at):
            waiting_since = thread.sent_at[i]
    inbound = [direction == "inbound" for direction, _ in history]
    photos = sum(n for n, mine in zip(thread.images, inbound, strict=False) if mine)
    who = addressee(thread.firstname, thread.lastname, thread.display_name or thread.customer_name)
    question = "\n".join(pending) or (history[-1][1] if history else "")
    # "Thanks, but the tracking does not work?" means little alone: add what the customer said
    # before, so retrieval sees the topic of the conversation.
    earlier = [body for direction, body in history if direction == "inbound"]
    search_query = question if len(question) >= SHORT_QUESTION else "\n".join(earlier[-3:])
    return Conversation(
        thread_id=thread.mirakl_thread_id,
        customer_name=who.name,
        title=who.title,
        waiting_since=waiting_since.isoformat() if waiting_since else None,
        photos=photos,
        language=detect_language(question, thread.locale or thread.customer_locale),
        history=history[-HISTORY:],
        question=question,
        search_query=search_query,
    )


def read_conversation(session: Session, mirakl_thread_id: str, marketplace: str) -> Conversation:
    """The thread's conversation as stored (its order's facts are read from Mirakl, elsewhere)."""
    thread = read_thread(session, mirakl_thread_id, marketplace=marketplace)
    if thread is None:
        raise ThreadNotStored(f"thread {mirakl_thread_id} not found")
    return conversation_of(thread)
