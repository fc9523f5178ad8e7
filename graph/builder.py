"""The agent graph, wired in one visible block, and its PostgreSQL checkpointer."""

from __future__ import annotations

import threading
from contextlib import nullcontext
from typing import Any

from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.graph import END, START, StateGraph

from graph.nodes.actions import act, after_act, close
from graph.nodes.confirmation import after_confirmation, confirmation
from graph.nodes.context import after_context, after_route, classify, load_context, route
from graph.nodes.resolutions import address_update, after_automation, cancellation, order_status
from graph.nodes.review import after_review, draft, human_review
from graph.services import RunContext
from graph.state import AgentState, InputState


def build_graph() -> StateGraph[AgentState, RunContext, InputState, AgentState]:
    builder = StateGraph(AgentState, context_schema=RunContext, input_schema=InputState)
    builder.add_node("load_context", load_context)
    builder.add_node("confirmation", confirmation)
    builder.add_node("classify", classify)
    builder.add_node("route", route)
    builder.add_node("order_status", order_status)
    builder.add_node("cancellation_request", cancellation)
    builder.add_node("address_update", address_update)
    builder.add_node("draft", draft)
    builder.add_node("human_review", human_review)
    builder.add_node("act", act)
    builder.add_node("close", close)

    builder.add_edge(START, "load_context")
    builder.add_conditional_edges("load_context", after_context)
    builder.add_conditional_edges("confirmation", after_confirmation)
    builder.add_edge("classify", "route")
    builder.add_conditional_edges("route", after_route)
    for automated in ("order_status", "cancellation_request", "address_update"):
        builder.add_conditional_edges(automated, after_automation)
    builder.add_edge("draft", "human_review")
    builder.add_conditional_edges("human_review", after_review)
    builder.add_conditional_edges("act", after_act)
    builder.add_edge("close", END)
    return builder


class PooledPostgresSaver(PostgresSaver):
    """PostgresSaver on a connection pool, without its process-wide lock: every cursor takes a
    connection of its own from the pool, so the lock only made independent runs wait in line."""

    def __init__(self, pool: Any) -> None:
        super().__init__(pool)
        self.lock = nullcontext()  # type: ignore[assignment]


_lock = threading.Lock()
_checkpointers: dict[str, PostgresSaver] = {}


def postgres_checkpointer(url: str) -> PostgresSaver:
    """One saver per database and process, its tables created on first use."""
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool

    from store.db import libpq_url

    with _lock:
        if url not in _checkpointers:
            pool = ConnectionPool(
                libpq_url(url),
                min_size=1,
                max_size=10,
                kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
                open=True,
            )
            saver = PooledPostgresSaver(pool)
            saver.setup()
            _checkpointers[url] = saver
        return _checkpointers[url]


def compile_graph(checkpointer: Any = None, **kwargs: Any) -> Any:
    return build_graph().compile(checkpointer=checkpointer, **kwargs)


# For `langgraph dev` / LangGraph Server (which bring their own checkpointer).
graph = compile_graph()
