"""The agent as the ingestion pipeline's processing step, and the human-review entry points."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langgraph.types import Command
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.pipeline import Outcome
from graph.builder import compile_graph, postgres_checkpointer
from graph.services import Services
from store.ingest import IncomingMessage
from store.models import Thread


@dataclass
class Agent:
    services: Services
    graph: Any

    @classmethod
    def create(cls, services: Services) -> Agent:
        url = services.engine.url.render_as_string(hide_password=False)
        return cls(services, compile_graph(postgres_checkpointer(url)))

    def config(self, thread_id: str, session: Session) -> dict[str, Any]:
        return {
            "configurable": {"thread_id": thread_id, "session": session, "services": self.services}
        }

    def __call__(self, session: Session, message: IncomingMessage, thread_pk: int) -> Outcome:
        """Run the graph for a new customer message (a pending review is replaced, not stacked)."""
        result = self.graph.invoke(
            {
                "thread_id": message.thread_id,
                "message_id": message.message_id,
                "text": message.body,
            },
            self.config(message.thread_id, session),
        )
        return self._outcome(session, message.thread_id, result)

    def resume(self, session: Session, thread_id: str, answer: dict[str, Any]) -> Outcome:
        """Answer a pending review: {type: accept|edit|response|ignore, args}."""
        session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(thread_id, 0))))
        if not self.pending_review(thread_id):
            raise LookupError(f"thread {thread_id} has no pending review")
        result = self.graph.invoke(Command(resume=answer), self.config(thread_id, session))
        return self._outcome(session, thread_id, result)

    def pending_review(self, thread_id: str) -> dict[str, Any] | None:
        state = self.graph.get_state({"configurable": {"thread_id": thread_id}})
        for task in state.tasks:
            for pending in task.interrupts:
                return {"request": pending.value, "values": state.values}
        return None

    def _outcome(self, session: Session, thread_id: str, result: dict[str, Any]) -> Outcome:
        intent, confidence = result.get("intent"), result.get("confidence")
        values = {"intent": intent, "confidence": confidence}
        if "__interrupt__" in result:
            request = result["__interrupt__"][0].value
            session.execute(
                update(Thread)
                .where(Thread.mirakl_thread_id == thread_id)
                .values(status="awaiting_approval", **values)
            )
            reply = request["action_request"]["args"].get("reply") or None
            return Outcome(
                "awaiting_approval", intent, confidence, reply, {"reason": result.get("reason")}
            )
        session.execute(update(Thread).where(Thread.mirakl_thread_id == thread_id).values(**values))
        actions = result.get("actions") or []
        if result.get("outcome") == "ignored":
            return Outcome("ignored", intent, confidence, None, {"actions": actions})
        status = (
            "auto_replied" if result.get("outcome") not in ("accepted", "edited") else "replied"
        )
        return Outcome(status, intent, confidence, result.get("reply"), {"actions": actions})
