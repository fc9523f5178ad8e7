"""The review protocol, typed: what csagent asks a human (Agent Inbox's request shape) and the
human's answer, read once where it comes in (the API, the dashboard, or LangGraph's own resume)
and carried as a `ReviewAnswer` from there down to the graph."""

from __future__ import annotations

from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from graph.state import Decision
from store.facts import Address


class InvalidReviewAnswer(ValueError):
    pass


class ReviewArgs(BaseModel):
    """The action request's arguments: the reply, and what a reviewer may approve with it."""

    reply: str = ""
    address: dict[str, Any] | None = None  # the new address of an address change
    proposal: str | None = None  # an action policy refused, which a reviewer may still approve
    proposal_reply: str | None = None  # what the customer is told if the proposal is approved

    @model_serializer(mode="wrap")
    def _without_absent(self, handler: Any) -> dict[str, Any]:
        # Agent Inbox's shape: an argument csagent has no value for is not there at all.
        return {k: v for k, v in handler(self).items() if v is not None or k == "reply"}


class ActionRequest(BaseModel):
    action: str = "send_reply"
    args: ReviewArgs = Field(default_factory=ReviewArgs)

    @property
    def done(self) -> str:
        """What approving does: the proposed action, else the request's own."""
        return self.args.proposal or self.action


class ReviewConfig(BaseModel):
    allow_accept: bool
    allow_edit: bool = True
    allow_respond: bool = True
    allow_ignore: bool = True


class ReviewRequest(BaseModel):
    """What the human_review node interrupts with (Agent Inbox's HumanInterrupt, plus the
    draft's sources for the reviewer)."""

    action_request: ActionRequest
    config: ReviewConfig
    description: str
    draft: dict[str, Any] | None = None


class PendingReview(BaseModel):
    """A thread's review waiting for an answer, and the message it answers (an answer for an
    older message is refused)."""

    request: ReviewRequest
    message_id: str | None = None


class ReviewAnswer(BaseModel):
    """A reviewer's answer, whatever shape it came in."""

    model_config = ConfigDict(frozen=True)

    decision: Decision
    reply: str | None = None  # edit: the text to send
    note: str | None = None  # response: what the new draft should do
    reviewer: str | None = None
    with_action: bool | None = None  # True: the proposed action too; False: the text only
    address: dict[str, Any] | None = None  # a corrected address for update_address
    to: tuple[str, ...] | None = None  # who the reply goes to (CUSTOMER, OPERATOR); None: customer
    message_id: str | None = None  # the message the reviewer saw (None: not said)

    @field_validator("reviewer", mode="before")
    @classmethod
    def _name_kept_short(cls, reviewer: Any) -> Any:
        return str(reviewer)[:128] if reviewer else None

    @model_validator(mode="after")
    def _usable(self) -> ReviewAnswer:
        """What every answer must be, however it was built (the API's shapes are read by
        read_review_answer; a run resumed with this shape directly is held to the same)."""
        if self.to is not None and (not self.to or any(t not in RECIPIENTS for t in self.to)):
            raise ValueError('to lists the recipients: "CUSTOMER", "OPERATOR" or both')
        if self.decision == "edited" and not (self.reply or "").strip():
            raise ValueError("an edit needs the text to send")
        if self.decision == "responded" and not (self.note or "").strip():
            raise ValueError("a response needs a note: what the new draft should do")
        if self.address is not None:
            _ADDRESS.validate_python(self.address)
        return self


RECIPIENTS = ("CUSTOMER", "OPERATOR")


def read_recipients(args: Any) -> tuple[str, ...] | None:
    """`args.to` of an accept or edit: the reply's recipients on Mirakl (M12 `to`)."""
    to = args.get("to") if isinstance(args, dict) else None
    if to is None:
        return None
    if isinstance(to, str):
        to = [to]
    if (
        not isinstance(to, list)
        or not to
        or any(not isinstance(t, str) or t.upper() not in RECIPIENTS for t in to)
    ):
        raise InvalidReviewAnswer('args.to lists the recipients: "CUSTOMER", "OPERATOR" or both')
    return tuple(dict.fromkeys(t.upper() for t in to))


def read_review_answer(answer: Any) -> ReviewAnswer:
    """accept / edit / response / ignore: the one place a reviewer's answer is interpreted.

    Takes csagent's `{"type", "args", "message_id", "reviewer"}`, Agent Inbox's list of
    responses (the first counts) and its edit whose args are the whole action request
    (`{"action", "args": {"reply"}}`); a `ReviewAnswer` is taken as it is. InvalidReviewAnswer
    says what is wrong."""
    if isinstance(answer, ReviewAnswer):
        return answer
    if isinstance(answer, list) and answer:
        answer = answer[0]
    if not isinstance(answer, dict):
        raise InvalidReviewAnswer('an answer is {"type": accept|edit|response|ignore, "args"}')
    if "decision" in answer and "type" not in answer:  # a ReviewAnswer as the graph stores it
        try:
            return ReviewAnswer.model_validate(answer)
        except ValidationError as exc:
            problems = "; ".join(str(e["msg"]) for e in exc.errors())
            raise InvalidReviewAnswer(f"not a usable review answer ({problems})") from None
    kind, args = answer.get("type"), answer.get("args")
    seen = answer.get("message_id")
    common: dict[str, Any] = {
        "reviewer": answer.get("reviewer"),  # kept to 128 characters by ReviewAnswer
        "message_id": str(seen) if seen else None,
    }
    with_action, address = _action_choice(args)
    if kind == "accept":
        return ReviewAnswer(
            decision="accepted", with_action=with_action, address=address,
            to=read_recipients(args), **common,
        )  # fmt: skip
    if kind == "ignore":
        return ReviewAnswer(decision="ignored", **common)
    if kind == "edit":
        if isinstance(args, dict) and isinstance(args.get("args"), dict):
            args = args["args"]  # Agent Inbox: the edited action request
            with_action, address = _action_choice(args)
        reply = args.get("reply") if isinstance(args, dict) else None
        if not isinstance(reply, str) or not reply.strip():
            raise InvalidReviewAnswer("an edit needs args.reply, the text to send")
        return ReviewAnswer(
            decision="edited", reply=reply, with_action=with_action, address=address,
            to=read_recipients(args) or read_recipients(answer.get("args")), **common,
        )  # fmt: skip
    if kind == "response":
        note = args if isinstance(args, str) else None
        if isinstance(args, dict):
            note = args.get("note") or args.get("response")
        if not isinstance(note, str) or not note.strip():
            raise InvalidReviewAnswer("a response needs a note: what the new draft should do")
        return ReviewAnswer(decision="responded", note=note, **common)
    raise InvalidReviewAnswer(
        f"unknown review answer {kind!r}: use accept, edit, response or ignore"
    )


def _action_choice(args: Any) -> tuple[bool | None, dict[str, Any] | None]:
    """(with_action, address) of an accept or edit: whether the proposed action is approved
    too, and a corrected address (validated as csagent's address shape)."""
    if not isinstance(args, dict):
        return None, None
    with_action = args.get("with_action")
    if with_action is not None and not isinstance(with_action, bool):
        raise InvalidReviewAnswer("args.with_action is true or false")
    address = args.get("address")
    if address is None:
        return with_action, None
    try:
        checked = _ADDRESS.validate_python(address)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidReviewAnswer(f"args.address is not a usable address ({problems})") from None
    return with_action, dict(checked)


_ADDRESS: TypeAdapter[Address] = TypeAdapter(Address)
