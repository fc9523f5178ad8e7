"""The review protocol, typed: an answer is read once at the edge (API, dashboard, or LangGraph's
own resume with Agent Inbox's shapes) and reaches the graph as the same ReviewAnswer."""

from __future__ import annotations

import pytest

from graph.nodes.review import review_request
from graph.review_protocol import (
    InvalidReviewAnswer,
    ReviewAnswer,
    ReviewRequest,
    read_review_answer,
)

ADDRESS = {
    "lastname": "Rossi", "street_1": "Via Roma 51", "street_2": None, "zip_code": "20121",
    "city": "Milano",
    "country": "ITA",
}  # fmt: skip


def test_an_answer_survives_the_checkpoint_as_it_was_read() -> None:
    """What Agent.resume hands the paused run (JSON, kept in the checkpoint) is read back as
    the very answer the API read: the graph never interprets the wire shapes a second time."""
    read = read_review_answer(
        {
            "type": "accept",
            "args": {"with_action": True, "address": ADDRESS, "to": ["customer", "OPERATOR"]},
            "reviewer": "Ana",
            "message_id": "m-7",
        }
    )
    assert read == ReviewAnswer(
        decision="accepted", with_action=True, address=ADDRESS, to=("CUSTOMER", "OPERATOR"),
        reviewer="Ana", message_id="m-7",
    )  # fmt: skip
    assert read_review_answer(read.model_dump(mode="json")) == read


def test_agent_inbox_shapes_are_read_at_the_graph_edge_too() -> None:
    """Resumed through LangGraph's server (Agent Inbox), the node gets Agent Inbox's list of
    responses, whose edit carries the whole action request."""
    edited = {"action": "send_reply", "args": {"reply": "Voici l'étiquette.", "to": "OPERATOR"}}
    answer = read_review_answer([{"type": "edit", "args": edited}, {"type": "ignore"}])
    assert (answer.decision, answer.reply, answer.to) == (
        "edited",
        "Voici l'étiquette.",
        ("OPERATOR",),
    )
    assert read_review_answer([{"type": "response", "args": "shorter"}]).note == "shorter"


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ([], "an answer is"),
        ({"type": "approve"}, "unknown review answer"),
        ({"type": "edit", "args": {"reply": "  "}}, "an edit needs args.reply"),
        ({"type": "accept", "args": {"to": ["BUYER"]}}, "args.to lists the recipients"),
        ({"decision": "maybe"}, "not a usable review answer"),
        # Resumed with the graph's own shape (LangGraph's server), held to the same rules.
        ({"decision": "edited", "reply": " "}, "an edit needs the text to send"),
        ({"decision": "responded"}, "a response needs a note"),
        ({"decision": "accepted", "to": ["BOGUS"]}, "to lists the recipients"),
        ({"decision": "accepted", "address": {"street_1": "x"}}, "not a usable review answer"),
    ],
)
def test_an_unusable_answer_says_what_is_wrong(raw: object, says: str) -> None:
    with pytest.raises(InvalidReviewAnswer, match=says):
        read_review_answer(raw)


def test_the_request_keeps_agent_inbox_shape() -> None:
    """Agent Inbox reads `action_request.args`; an argument csagent has no value for is absent,
    not null, and the request reads back as the same typed request."""
    state = {
        "thread_id": "t-1", "text": "Où est ma commande ?", "intent": "order_status",
        "confidence": 0.9, "classifier": "rules", "reason": "shadow mode", "reply": "Bonjour",
        "action": "send_reply", "route": "order_status",
    }  # fmt: skip
    request = review_request(state)  # type: ignore[arg-type]
    wire = request.model_dump()
    assert wire["action_request"] == {"action": "send_reply", "args": {"reply": "Bonjour"}}
    assert wire["config"] == {
        "allow_accept": True, "allow_edit": True, "allow_respond": True, "allow_ignore": True,
    }  # fmt: skip
    assert ReviewRequest.model_validate(wire) == request
