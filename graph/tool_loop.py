"""A bounded tool-calling loop (model <-> ToolNode) for drafts that need facts: stock, shipment,
refund quotes. The model proposes tool calls; only the tools given are run; the loop ends when
the model answers, or after `max_steps` model turns, with an outcome that says which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.graph import START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.prebuilt import ToolNode


class ToolLoopState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    steps: int


@dataclass(frozen=True)
class ToolLoopResult:
    outcome: Literal["answered", "step_limit"]
    text: str | None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    unknown_tools: list[str] = field(default_factory=list)
    tool_errors: list[str] = field(default_factory=list)
    messages: list[AnyMessage] = field(default_factory=list)


def build_tool_loop(
    model: BaseChatModel, tools: list[BaseTool], max_steps: int, tool_choice: str = "auto"
) -> Any:
    """`tool_choice`: auto, required, none, or a tool's name. tool_choice is always sent: some
    servers ignore the tools without it (llama.cpp). A named tool is forced on the first turn
    only; the model then answers with tool_choice none."""
    names = {tool.name for tool in tools}
    forced = tool_choice in names
    first = model.bind_tools(tools, tool_choice=tool_choice if forced or tool_choice in
                             ("auto", "required", "none") else "none")  # fmt: skip
    then = model.bind_tools(tools, tool_choice="none") if forced else first

    def agent(state: ToolLoopState) -> dict[str, Any]:
        bound = first if state["steps"] == 0 else then
        return {"messages": [bound.invoke(state["messages"])], "steps": state["steps"] + 1}

    def route(state: ToolLoopState) -> Literal["tools", "__end__"]:
        last = state["messages"][-1]
        if isinstance(last, AIMessage) and last.tool_calls and state["steps"] < max_steps:
            return "tools"
        return "__end__"

    builder = StateGraph(ToolLoopState)
    builder.add_node("agent", agent)
    builder.add_node("tools", ToolNode(tools, handle_tool_errors=True))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", route)
    builder.add_edge("tools", "agent")
    return builder.compile()


def run_tool_loop(
    model: BaseChatModel,
    messages: list[AnyMessage],
    tools: list[BaseTool],
    *,
    max_steps: int = 4,
    tool_choice: str = "auto",
) -> ToolLoopResult:
    loop = build_tool_loop(model, tools, max_steps, tool_choice)
    final = loop.invoke({"messages": messages, "steps": 0})
    history: list[AnyMessage] = final["messages"]
    known = {tool.name for tool in tools}
    calls = [call for m in history if isinstance(m, AIMessage) for call in m.tool_calls]
    errors = [str(m.content) for m in history if isinstance(m, ToolMessage) and m.status == "error"]
    unknown = [call["name"] for call in calls if call["name"] not in known]
    last = history[-1]
    stopped = isinstance(last, AIMessage) and bool(last.tool_calls)
    return ToolLoopResult(
        outcome="step_limit" if stopped else "answered",
        text=None if stopped else str(last.content),
        tool_calls=[dict(call) for call in calls],
        unknown_tools=unknown,
        tool_errors=errors,
        messages=history,
    )
