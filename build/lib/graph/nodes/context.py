"""First steps of every run: read the thread and its order, classify, choose the route."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.classify.intents import AUTOMATABLE
from graph.conversation import read_conversation
from graph.policies import automation_route
from graph.services import RunContext, services_of, transaction
from graph.state import AgentState, Route, fresh_message_state
from store.metrics import stage


def load_context(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Start this message from nothing carried over, with the thread and order read now."""
    with stage("context"), transaction(runtime) as session:
        conversation, order = read_conversation(session, state["thread_id"], state["text"])
    return {
        **fresh_message_state(),
        "conversation": conversation,
        "language": conversation["language"],
        "customer_name": conversation["customer_name"],
        "order": order,
    }


def classify(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    with stage("classify"):
        prediction = services_of(runtime).classifier.classify(state["text"])
    return {
        "intent": prediction.intent,
        "confidence": round(prediction.confidence, 4),
        "classifier": prediction.classifier,
        "vector": prediction.vector,
    }


def route(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    settings = services_of(runtime).settings
    thresholds: dict[str, float] = {
        k: v for k, v in settings.automation_thresholds.items() if k in AUTOMATABLE
    }
    target, reason = automation_route(
        state.get("intent") or "other",
        state.get("confidence") or 0.0,
        thresholds,
        settings.automation_mode,
        state.get("order") is not None,
    )
    return {"route": target, "reason": reason}


def after_route(state: AgentState) -> Route:
    return state.get("route") or "draft"
