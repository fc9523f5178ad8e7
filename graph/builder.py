"""The agent graph, wired in one visible block, and its PostgreSQL checkpointer."""

from __future__ import annotations

import threading
from typing import Any

from langgraph.graph import END, START, StateGraph

from graph import nodes
from graph.services import with_session
from graph.state import AgentState


def build_graph() -> StateGraph:
    builder = StateGraph(AgentState)
    builder.add_node("load_context", with_session(nodes.load_context))
    builder.add_node("classify", with_session(nodes.classify))
    builder.add_node("route", with_session(nodes.route))
    builder.add_node("order_status", with_session(nodes.order_status))
    builder.add_node("cancellation_request", with_session(nodes.cancellation))
    builder.add_node("address_update", with_session(nodes.address_update))
    builder.add_node("draft", with_session(nodes.draft))
    builder.add_node("human_review", with_session(nodes.human_review))
    builder.add_node("act", with_session(nodes.act))
    builder.add_node("close", with_session(nodes.close))

    builder.add_edge(START, "load_context")
    builder.add_edge("load_context", "classify")
    builder.add_edge("classify", "route")
    builder.add_conditional_edges("route", nodes.after_route)
    for automated in ("order_status", "cancellation_request", "address_update"):
        builder.add_conditional_edges(automated, nodes.after_automation)
    builder.add_edge("draft", "human_review")
    builder.add_conditional_edges("human_review", nodes.after_review)
    builder.add_conditional_edges("act", nodes.after_act)
    builder.add_edge("close", END)
    return builder


_lock = threading.Lock()
_checkpointers: dict[str, Any] = {}


def postgres_checkpointer(url: str) -> Any:
    """One PostgresSaver per database and process, its tables created on first use."""
    from langgraph.checkpoint.postgres import PostgresSaver
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
            saver = PostgresSaver(pool)  # type: ignore[arg-type]
            saver.setup()
            _checkpointers[url] = saver
        return _checkpointers[url]


def compile_graph(checkpointer: Any = None, **kwargs: Any) -> Any:
    return build_graph().compile(checkpointer=checkpointer, **kwargs)


# For `langgraph dev` / LangGraph Server (which bring their own checkpointer).
graph = compile_graph()
