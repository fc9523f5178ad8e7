"""The Automation tab: what csagent did, and whether to trust it, per intent."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from graph.markdown import md_quote, md_text
from store.inbox import (
    RECONTACT_H,
    automation_figures,
    automation_judgement,
)
from store.settings import get_settings
from store.threads import (
    thread_key,
)
from ui.formatting import (
    bars,
    when,
)
from ui.workspace import Workspace, actor, on


def judgement(ws: Workspace) -> tuple[pd.DataFrame, str]:
    """Whether to trust the automation, per intent, and its latest replies to read."""
    settings = ws.settings or get_settings()
    with ws.sessions() as session:
        judged, latest = automation_judgement(session)

    def share(part: int, whole: int) -> str:
        return f"{part}/{whole} ({part / whole:.0%})" if whole else "-"

    rows = []
    for j in judged:
        mode = settings.action_mode(j.intent) if j.intent in settings.action_modes else "reply"
        threshold = settings.automation_thresholds.get(j.intent)
        asked = settings.confirmation_thresholds.get(j.intent)
        rows.append([
            j.intent, j.automatic_replies, share(j.recontacted, j.automatic_replies),
            share(j.accepted, j.reviews),
            "-" if threshold is None else f"{threshold:.2f}"
            + (f" (asks from {asked:.2f})" if asked is not None and mode == "confirm" else ""),
            mode,
        ])  # fmt: skip
    table = pd.DataFrame(rows, columns=[
        "intent", "automatic replies", f"wrote again within {RECONTACT_H} h",
        "reviewers accepted its proposals", "threshold", "action mode",
    ])  # fmt: skip
    sample = "\n\n".join(
        f"**{md_text(r.intent or '?')}** · {when(r.sent_at)} · thread `{md_text(thread_key(r.thread_id, r.marketplace))}`"
        + (f" · **the customer wrote again within {RECONTACT_H} h**" if r.recontacted else "")
        + "\n\n" + md_quote(r.text[:600])
        for r in latest
    )  # fmt: skip
    return table, sample or "_No automatic reply in the last 30 days._"


def automation(ws: Workspace, request: gr.Request) -> tuple[str, Any, Any, Any, str, Any, str]:
    actor(ws, request)
    with ws.sessions() as session:
        f = automation_figures(session)
    precision = (
        f"{f.automation_precision:.0%} of {f.reviews_of_automation} reviewed proposals "
        "accepted unchanged"
        if f.automation_precision is not None
        else "no reviewed automation yet (shadow mode gives it)"
    )
    total = sum(f.replies_by.values()) or 1
    shares = ", ".join(f"{k} {v} ({v / total:.0%})" for k, v in f.replies_by.items())
    summary = (
        f"**Replies sent through csagent:** {shares}\n\n"
        f"**Median first response:** "
        + (f"{f.median_first_response_h:.1f} h" if f.median_first_response_h is not None else "-")
        + f"\n\n**Automation precision (reviewers' corrections):** {precision}"
    )  # fmt: skip
    report = "_No shadow-mode replay report yet._"
    if ws.replay_report is not None and ws.replay_report.exists():
        report = ws.replay_report.read_text(encoding="utf-8")
    return (
        summary,
        bars(pd.DataFrame(f.messages_per_day, columns=["day", "messages"]), "messages"),
        bars(pd.DataFrame(list(f.replies_by.items()), columns=["handled", "replies"]), "replies"),
        bars(pd.DataFrame(f.intents, columns=["intent", "threads"]), "threads"),
        report,
        *judgement(ws),
    )


class AutomationTab:
    """The Automation tab, laid out where it is created."""

    def __init__(self) -> None:
        self.refresh = gr.Button("Refresh", elem_id="automation-refresh")
        self.figures = gr.Markdown(elem_id="automation-figures")
        with gr.Row():
            self.per_day = gr.BarPlot(
                x="day", y="messages", title="Customer messages per day", x_label_angle=-60
            )
            self.handled = gr.BarPlot(
                x="handled", y="replies", title="Replies: automated, reviewed, manual"
            )
        self.intents = gr.BarPlot(x="intent", y="threads", title="Intents")
        gr.Markdown(
            "#### Can it be trusted? Per intent, the last 30 days\n\nA customer who "
            f"writes again within {RECONTACT_H} h of an automatic reply was not helped by "
            "it; reviewers' answers to the automation's proposals (shadow mode, "
            "policy refusals) say how often it was right."
        )
        self.judged = gr.Dataframe(interactive=False, elem_id="automation-intents")
        gr.Markdown("#### Latest automatic replies")
        self.latest = gr.Markdown(elem_id="automation-latest")
        self.replay = gr.Markdown()

    @property
    def outputs(self) -> list[Any]:
        return [
            self.figures, self.per_day, self.handled, self.intents, self.replay, self.judged,
            self.latest,
        ]  # fmt: skip

    def wire(self, ws: Workspace) -> None:
        self.refresh.click(on(ws, automation), None, self.outputs, api_name="automation")
