"""What every dashboard handler works with: the services (the same as the API's), the
signed-in agent, and a thread as the dashboard names it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from types import MethodType
from typing import Any

import gradio as gr
from sqlalchemy.orm import Session, sessionmaker

from graph.drafting import DraftingService
from graph.processor import Agent
from graph.review_protocol import PendingReview
from store.queue import Pipeline
from store.settings import DEFAULT_MARKETPLACE, Settings
from store.threads import (
    ThreadRef,
    keep_reply_draft,
)
from store.users import display_name_of
from tools.mirakl.blocking import BlockingMirakl


@dataclass
class Workspace:
    """What the dashboard works with: the same services as the API."""

    sessions: sessionmaker[Session]
    pipeline: Pipeline
    agent: Agent | None
    mirakl: BlockingMirakl
    drafting: DraftingService
    replay_report: Path | None = None
    mirakl_for: Callable[[str], BlockingMirakl] | None = None  # each marketplace's client
    settings: Settings | None = None

    def client(self, marketplace: str) -> BlockingMirakl:
        if self.mirakl_for is None or marketplace == DEFAULT_MARKETPLACE:
            return self.mirakl
        return self.mirakl_for(marketplace)


def parse_ref(ref: str, settings: Settings | None = None) -> ThreadRef:
    """The thread (Mirakl id, stored marketplace) the dashboard names: the bare
    id on the default marketplace, `<marketplace>/<id>` on the others (ids never contain "/";
    the marketplace by its configured name or as stored)."""
    ref = (ref or "").strip()
    if "/" in ref:
        marketplace, _, thread_id = ref.partition("/")
        marketplace = marketplace.strip()
        if settings is not None:
            marketplace = settings.stored_name(marketplace)
        return ThreadRef(thread_id.strip(), marketplace)
    return ThreadRef(ref, DEFAULT_MARKETPLACE)


def actor(ws: Workspace, request: gr.Request | None) -> str:
    """The signed-in agent's name; an account removed since signing in can do nothing more
    (Gradio keeps its sessions in memory)."""
    username = getattr(request, "username", None) if request is not None else None
    with ws.sessions() as session:
        name = display_name_of(session, str(username or "").lower())
    if name is None:
        raise gr.Error("This account no longer exists: sign in again.")
    return name


def keep_draft(ws: Workspace, session: Session, ref: str, me: str, text: str) -> None:
    """The agent's reply being written on that thread, kept on the server (blank: none)."""
    thread_id, marketplace = parse_ref(ref, ws.settings)
    if not thread_id:
        return
    with suppress(LookupError):  # a thread typed that does not exist: nothing to keep
        keep_reply_draft(session, thread_id, me, text, marketplace=marketplace)


def pending_here(ws: Workspace, ref: str) -> PendingReview | None:
    """The review waiting on the thread the dashboard names, if any."""
    thread = parse_ref(ref, ws.settings)
    if not thread.id or ws.agent is None:
        return None
    return ws.agent.pending_review(thread)


def on(ws: Workspace, handler: Callable[..., Any]) -> Callable[..., Any]:
    """`handler(ws, ...)` as Gradio calls it, with the workspace bound. A bound method keeps the
    signature and annotations Gradio reads to pass the request and the event data (a
    functools.partial hides them)."""
    return MethodType(handler, ws)
