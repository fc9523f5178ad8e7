"""The agent as the ingestion queue's processing step, and the human-review entry points."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langgraph.types import Command
from sqlalchemy.orm import Session

from graph.builder import compile_graph, postgres_checkpointer
from graph.classify.intents import AUTOMATABLE
from graph.markdown import md_text
from graph.nodes.review import check_answer_allowed, review_request, review_update
from graph.review_protocol import InvalidReviewAnswer, PendingReview, ReviewAnswer, ReviewRequest
from graph.services import RunContext, Services
from graph.verify import MessageCheck, check_message
from store.audit import record_done
from store.ingest import IncomingMessage
from store.metrics import stage
from store.queue import Outcome
from store.threads import (
    ThreadRef,
    flag_unverified,
    lock_thread,
    marketplace_of_thread,
    set_thread_state,
)


@dataclass
class Agent:
    services: Services
    graph: Any

    @classmethod
    def create(cls, services: Services) -> Agent:
        url = services.engine.url.render_as_string(hide_password=False)
        return cls(services, compile_graph(postgres_checkpointer(url)))

    def _run(
        self,
        session: Session,
        thread_id: str,
        input: Any,
        message: IncomingMessage | None = None,
        check: MessageCheck | None = None,
        *,
        marketplace: str,
    ) -> dict[str, Any]:
        context = RunContext(services=self.services, session=session, message=message, check=check)
        result: dict[str, Any] = self.graph.invoke(
            input,
            config_of(ThreadRef(thread_id, marketplace)),
            context=context,
            # Checkpoints at the end of the run (and at a review's interrupt): a run that dies
            # half-way is simply run again, and the audit log keeps its side effects single.
            durability="exit",
        )
        return result

    def __call__(self, session: Session, message: IncomingMessage, thread_pk: int) -> Outcome:
        """Run the graph for a new customer message (a pending review is replaced, not stacked).

        The message is checked against Mirakl first: one Mirakl does not confirm never reaches
        the graph, so it cannot replace the thread's pending review or anything in its
        checkpoint; it is kept, flagged, and shown with why. So is a message from a marketplace
        csagent has no connection to: nothing can be checked or sent there."""
        settings = self.services.settings
        # The marketplace the message was stored under when it was accepted (not worked out
        # again from the payload: the configuration may have changed since).
        marketplace = marketplace_of_thread(session, thread_pk) or settings.stored_name(
            message.marketplace
        )

        def unverified(reason: str) -> Outcome:
            flag_unverified(
                session, message.thread_id, message.message_id, reason,
                review_pending=self.pending_review(ThreadRef(message.thread_id, marketplace))
                is not None,
                sla_hours=settings.for_marketplace(marketplace).sla_hours,
                marketplace=marketplace,
            )  # fmt: skip
            return Outcome("unverified", None, None, None, {"reason": reason})

        try:
            mirakl = self.services.mirakl_for(marketplace)
        except LookupError:
            known = ", ".join(c.name for c in settings.connections())
            return unverified(
                f"unknown marketplace {marketplace!r} (configured: {known}): nothing is sent"
            )
        with stage("verify"):
            check = check_message(mirakl, message.thread_id, message.message_id, message)
        if check.verification == "unverified":
            return unverified(check.problem or "not on Mirakl")
        result = self._run(
            session,
            message.thread_id,
            {
                "thread_id": message.thread_id,
                "message_id": message.message_id,
                "text": message.body,
                "marketplace": marketplace,
            },
            message,
            check,
            marketplace=marketplace,
        )
        return self._outcome(session, message.thread_id, result, marketplace)

    def resume(self, session: Session, ref: ThreadRef, answer: ReviewAnswer) -> Outcome:
        """Answer a pending review (read at the edge by `read_review_answer`).

        A review whose approved action failed to be carried out (Mirakl down) is still pending:
        the new answer replaces the old one and the run goes on from there. An unusable answer
        raises InvalidReviewAnswer, one for an older message StaleReview, before anything is
        resumed."""
        thread_id, marketplace = ref
        lock_thread(session, thread_id, marketplace=marketplace)
        config = config_of(ref)
        state = self.graph.get_state(config)
        if (request := _interrupt(state)) is not None:
            check_answer_fits(ReviewRequest.model_validate(request), state.values, answer)
            check_answer_allowed(answer, state.values)
            resume: Command[Any] = Command(resume=answer.model_dump(mode="json"))
            result = self._run(session, thread_id, resume, marketplace=marketplace)
        elif _failed_after_review(state) is not None:
            check_answer_fits(review_request(state.values), state.values, answer)
            check_answer_allowed(answer, state.values)
            update = review_update(answer, state.values)
            self.graph.update_state(config, update, as_node="human_review")
            result = self._run(session, thread_id, None, marketplace=marketplace)
        else:
            raise NoPendingReview(f"thread {thread_id} has no pending review")
        record_review_answer(session, thread_id, state.values, answer, marketplace)
        return self._outcome(session, thread_id, result, marketplace)

    def pending_review(self, ref: ThreadRef) -> PendingReview | None:
        """The thread's review waiting for an answer, if there is one."""
        state = self.graph.get_state(config_of(ref))
        message_id = state.values.get("message_id")
        if (request := _interrupt(state)) is not None:
            return PendingReview(
                request=ReviewRequest.model_validate(request), message_id=message_id
            )
        if (error := _failed_after_review(state)) is not None:
            request = review_request(state.values)
            description = (
                f"**Approved, but carrying it out failed:** {md_text(error)}. "
                "Answer again to retry.\n\n" + request.description
            )
            return PendingReview(
                request=request.model_copy(update={"description": description}),
                message_id=message_id,
            )
        return None

    def state_of(self, ref: ThreadRef) -> dict[str, Any]:
        """The thread's last checkpointed state (what the replay report reads)."""
        return dict(self.graph.get_state(config_of(ref)).values)

    def _outcome(
        self,
        session: Session,
        thread_id: str,
        result: dict[str, Any],
        marketplace: str,
    ) -> Outcome:
        intent, confidence = result.get("intent"), result.get("confidence")
        if "__interrupt__" in result:
            request = ReviewRequest.model_validate(result["__interrupt__"][0].value)
            set_thread_state(
                session, thread_id, marketplace=marketplace, status="awaiting_approval",
                intent=intent, confidence=confidence,
            )  # fmt: skip
            reply = request.action_request.args.reply or None
            return Outcome(
                "awaiting_approval", intent, confidence, reply,
                {"reason": result.get("reason"), "classifier": result.get("classifier"),
                 **({"confirmation": result["answer"]} if result.get("answer") else {})},
            )  # fmt: skip
        set_thread_state(
            session, thread_id, marketplace=marketplace, intent=intent, confidence=confidence
        )
        actions = result.get("actions") or []
        decision = result.get("decision")
        detail = {"actions": actions, "classifier": result.get("classifier")}
        # A question asked of the customer, or how the customer answered one.
        if result.get("confirm") or result.get("answer"):
            detail["confirmation"] = "asked" if result.get("confirm") else result.get("answer")
        if decision == "ignored":
            return Outcome("ignored", intent, confidence, None, detail)
        status = "replied" if decision in ("accepted", "edited") else "auto_replied"
        return Outcome(status, intent, confidence, result.get("reply"), detail)


def record_review_answer(
    session: Session,
    thread_id: str,
    values: dict[str, Any],
    answer: ReviewAnswer,
    marketplace: str,
) -> None:
    """What the reviewer decided, for the audit trail and the automation's precision (a review
    of a decision the automation would have carried out, accepted unchanged or not)."""
    record_done(
        session,
        actor_type="human",
        actor=answer.reviewer or "reviewer",
        action="review.answer",
        marketplace=marketplace,
        payload={
            "thread": thread_id,
            "message_id": values.get("message_id"),
            "decision": answer.decision,
            "intent": values.get("intent"),
            "automated": values.get("route") in AUTOMATABLE,
            "with_action": answer.with_action,
        },
    )


def check_answer_fits(request: ReviewRequest, values: dict[str, Any], answer: ReviewAnswer) -> None:
    """An answer must be for the message the reviewer saw, and allowed by the request."""
    seen = answer.message_id
    if seen and seen != values.get("message_id"):
        raise StaleReview(
            f"the review was for message {seen}; a newer message "
            f"{values.get('message_id')} replaced it: read the review again"
        )
    if answer.decision == "accepted" and not request.config.allow_accept:
        raise InvalidReviewAnswer("there is no draft to accept: edit it or respond with a note")


class StaleReview(LookupError):
    """The answer was for a message a newer one replaced: the reviewer must read again."""


class NoPendingReview(LookupError):
    """The thread has no review to answer (answered already, or never asked)."""


def _interrupt(state: Any) -> Any | None:
    """The value of the run's pending interrupt (the review request), if it has one."""
    for task in state.tasks:
        for pending in task.interrupts:
            return pending.value
    return None


def _failed_after_review(state: Any) -> str | None:
    """The error of a reviewed decision whose carrying out failed, if the run stopped there."""
    if state.values.get("decision") not in ("accepted", "edited") or state.next != ("act",):
        return None
    errors = [task.error for task in state.tasks if task.error is not None]
    return str(errors[0]) if errors else "unknown error"


def config_of(ref: ThreadRef) -> dict[str, Any]:
    """The run config of a thread: its checkpoint is its own on its marketplace (the same
    Mirakl thread id on two marketplaces is two threads, two checkpoints)."""
    return {"configurable": {"thread_id": ref.key}}
