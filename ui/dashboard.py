"""The agents' workspace: a Gradio dashboard mounted in the FastAPI app at /ui.

Every handler calls the same functions as the API (store.inbox, graph.workspace, the Agent's
review entry points, the queue's retry), in this process; agents sign in with the accounts of
`csagent users`, and each action is recorded under the signed-in agent's name. One module per
tab holds its layout and its handlers: ui.inbox and ui.thread / ui.reply (the Inbox tab: the
list and the open thread), ui.reviews, ui.attention, ui.automation.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Mount

from graph.markdown import md_text
from store.settings import get_settings
from ui.attention import AttentionTab, attention
from ui.automation import AutomationTab, automation
from ui.inbox import InboxList, listed
from ui.reply import wire_reply
from ui.reviews import ReviewsTab, reviews
from ui.signin import DashboardGuard, SessionTokens, check_login
from ui.thread import ThreadPane, presence_here
from ui.workspace import Workspace, actor, on

__all__ = ["Workspace", "build_dashboard", "mount_dashboard"]


def build_dashboard(ws: Workspace) -> gr.Blocks:
    with gr.Blocks(title="csagent", analytics_enabled=False, fill_width=True) as blocks:
        who = gr.Markdown("# csagent")
        with gr.Tabs() as tabs:
            # One work pane: the inbox on the left, the thread a click opens on the right.
            with gr.Tab("Inbox", id="inbox"):
                inbox = InboxList(ws)
                with gr.Row(equal_height=False):
                    with gr.Column(scale=6):
                        inbox.table_column()
                    with gr.Column(scale=6, elem_id="thread-pane"):
                        pane = ThreadPane(ws)
            with gr.Tab("Reviews", id="reviews"):
                review_tab = ReviewsTab()
            with gr.Tab("Needs attention", id="attention"):
                attention_tab = AttentionTab()
            with gr.Tab("Automation", id="automation"):
                automation_tab = AutomationTab()

        # Public endpoints (named, for API clients and gradio_client) and the private triggers
        # of the same functions, tab by tab.
        inbox.wire(ws)
        pane.wire(ws, inbox.table)
        wire_reply(ws, pane)
        # The inbox's timer also says the agent is still on the thread (and shows who else is).
        inbox.timer.tick(
            on(ws, presence_here), [pane.box_owner, pane.reply_box], pane.presence,
            api_visibility="private", show_progress="hidden",
        )  # fmt: skip
        review_tab.wire(ws)
        attention_tab.wire(ws, tabs, pane)
        automation_tab.wire(ws)

        def on_load(request: gr.Request) -> str:
            return f"# csagent — signed in as {md_text(actor(ws, request))}"

        private: dict[str, Any] = {"api_visibility": "private"}
        blocks.load(on_load, None, who, **private)
        blocks.load(None, None, None, js=SHORTCUTS)
        blocks.load(on(ws, listed), inbox.inputs, inbox.listing, **private)
        blocks.load(on(ws, reviews), None, [review_tab.pending, review_tab.note_shown], **private)
        blocks.load(on(ws, attention), None, attention_tab.table, **private)
        blocks.load(on(ws, automation), None, automation_tab.outputs, **private)
    return blocks


SHORTCUTS = """() => {
  if ('Notification' in window && Notification.permission === 'default') {
    Notification.requestPermission();
  }
  const click = (id) => { const b = document.getElementById(id); if (b) b.click(); };
  document.addEventListener('keydown', (e) => {
    const typing = ['INPUT', 'TEXTAREA'].includes(document.activeElement?.tagName);
    if (e.altKey && e.key.toLowerCase() === 'd') { e.preventDefault(); click('generate-draft'); }
    else if (e.ctrlKey && e.key === 'Enter'
             && document.activeElement?.closest('#reply-box')) {
      e.preventDefault(); click('send-reply');
    }
    else if (e.altKey && e.key.toLowerCase() === 'r') { e.preventDefault(); click('inbox-refresh'); }
    else if (e.key === '/' && !typing) {
      e.preventDefault(); document.querySelector('#inbox-search textarea, #inbox-search input')?.focus();
    }
  });
}"""


def mount_dashboard(app: Any, ws: Workspace) -> Any:
    """The dashboard at /ui of the FastAPI app, behind the agents' sign-in."""
    blocks = build_dashboard(ws)
    # Several agents at once: one slow Mirakl read must not hold up everyone's clicks.
    blocks.queue(default_concurrency_limit=8)
    settings = ws.settings or get_settings()
    login = check_login(ws.sessions)
    mounted = gr.mount_gradio_app(
        app,
        blocks,
        path="/ui",
        auth=login,
        auth_message="Sign in with your csagent account (`csagent users add`).",
        ssr_mode=False,
        footer_links=[],
        run_history=False,  # customer text and addresses are not kept in the browser
        show_error=False,  # an unexpected error is "Error" (and logged), never its SQL
    )
    gradio_app: Any = next(r.app for r in app.routes if isinstance(r, Mount) and r.path == "/ui")
    gradio_app.tokens = SessionTokens(
        ws.sessions, settings.dashboard_session_idle_s, settings.dashboard_session_max_s
    )
    # The parent's CORS policy replaces Gradio's (which echoes any Origin, with credentials).
    app.add_middleware(
        CORSMiddleware, allow_origins=settings.cors_allow_origins, allow_credentials=True,
        allow_methods=["*"], allow_headers=["*"],
    )  # fmt: skip
    app.add_middleware(
        DashboardGuard, prefix="/ui", allowed_origins=settings.cors_allow_origins,
        throttle=login.throttle,
    )  # fmt: skip
    return mounted
