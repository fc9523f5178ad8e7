"""The Needs attention tab: what failed or could not be verified, retried or dismissed."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from graph.markdown import md_text
from graph.workspace import (
    close_by_agent,
)
from store.inbox import (
    attention_key,
    dismiss_attention,
    needing_attention,
)
from store.threads import (
    thread_key,
)
from ui.formatting import (
    what_to_do,
    when,
)
from ui.thread import ThreadPane, switch_thread
from ui.workspace import Workspace, actor, on, parse_ref


def attention(ws: Workspace, request: gr.Request) -> pd.DataFrame:
    actor(ws, request)
    with ws.sessions() as session:
        items = needing_attention(session)
    return pd.DataFrame(
        [[i.event_id or "", i.kind, thread_key(i.thread_id or "", i.marketplace), i.message_id, when(i.at), i.error[:200], what_to_do(i.kind, i.event_id)]
         for i in items],
        columns=["event", "kind", "thread", "message", "received", "error", "what to do"],
    )  # fmt: skip


def pick_attention(evt: gr.SelectData) -> tuple[str, list[str]]:
    """The clicked item: its event (for Retry) and the whole row."""
    row = [str(v) for v in (getattr(evt, "row_value", None) or [])]
    return (row[0] if row else ""), row


def attention_thread(row: list[str]) -> tuple[Any, str]:
    """Go to the picked item's thread in the work pane."""
    if not row or not row[2]:
        return gr.skip(), gr.skip()  # type: ignore[return-value]
    return gr.Tabs(selected="inbox"), row[2]


def dismiss(ws: Workspace, row: list[str], request: gr.Request, spam: bool = False) -> str:
    """Take the picked item off Needs attention (and, for spam, close its thread: nothing is
    sent, the customer's next message opens it again)."""
    if not row:
        return "Pick an item in the table first."
    kind, ref, message_id = row[1], row[2], row[3]
    thread_id, marketplace = parse_ref(ref, ws.settings)
    me = actor(ws, request)
    try:
        with ws.sessions.begin() as session:
            if spam:
                close_by_agent(
                    session, sessions=ws.sessions, agent=ws.agent, thread_id=thread_id,
                    actor=me, reason="spam", marketplace=marketplace,
                )  # fmt: skip
            dismiss_attention(
                session, attention_key(kind, marketplace, message_id), actor=me,
                thread_id=thread_id or None, marketplace=marketplace,
            )  # fmt: skip
    except LookupError as exc:
        return f"**Not done:** {md_text(str(exc))}"
    closed = f" Thread `{md_text(ref)}` closed as spam." if spam else ""
    return f"Dismissed: message {md_text(message_id)} is off the list.{closed}"


def dismiss_spam(ws: Workspace, row: list[str], request: gr.Request) -> str:
    return dismiss(ws, row, request, spam=True)


def retry(ws: Workspace, event_id: str, request: gr.Request) -> str:
    actor(ws, request)
    try:
        view = ws.pipeline.retry(int(str(event_id).strip()))
    except ValueError as exc:
        return f"**{md_text(str(exc)) if str(event_id).strip().isdigit() else 'Give an event number.'}**"
    except LookupError as exc:
        return f"**{md_text(str(exc))}**"
    return f"Event {view.event_id}: **{view.status}**" + (
        f" — {md_text(view.error)}" if view.error else ""
    )


class AttentionTab:
    """The Needs attention tab, laid out where it is created."""

    def __init__(self) -> None:
        self.refresh = gr.Button("Refresh", elem_id="attention-refresh")
        self.table = gr.Dataframe(interactive=False, elem_id="attention-table", wrap=True)
        self.picked = gr.JSON(visible=False)  # the clicked row
        with gr.Row():
            self.event_id = gr.Textbox(label="Event to retry", elem_id="retry-event")
            self.retry_button = gr.Button("Retry", elem_id="retry-button")
            self.open_thread = gr.Button("Open its thread", elem_id="attention-open")
            self.dismiss_button = gr.Button("Dismiss", elem_id="attention-dismiss")
            self.spam_button = gr.Button(
                "Mark as spam (close the thread)", variant="stop", elem_id="attention-spam"
            )
        self.result = gr.Markdown(elem_id="retry-result")

    def wire(self, ws: Workspace, tabs: gr.Tabs, pane: ThreadPane) -> None:
        private: dict[str, Any] = {"api_visibility": "private"}
        self.refresh.click(on(ws, attention), None, self.table, api_name="attention")
        self.table.select(pick_attention, None, [self.event_id, self.picked], **private)
        pane.then_open(
            ws,
            self.open_thread.click(
                attention_thread, self.picked, [tabs, pane.current], **private
            ).then(on(ws, switch_thread), *pane.switching, **private),
        )
        for button, handler, name in (
            (self.dismiss_button, dismiss, "dismiss"),
            (self.spam_button, dismiss_spam, "mark_spam"),
        ):
            button.click(on(ws, handler), self.picked, self.result, api_name=name).then(
                on(ws, attention), None, self.table, **private
            )
        self.retry_button.click(on(ws, retry), self.event_id, self.result, api_name="retry").then(
            on(ws, attention), None, self.table, **private
        )
