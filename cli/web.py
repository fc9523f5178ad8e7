"""The web app: the API (api/) with the agents' dashboard (ui/) mounted at /ui. Composed here,
the only place that knows both."""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI

from api.app import create_app
from graph.processor import Agent
from store.settings import Settings, get_settings
from ui.dashboard import Workspace, mount_dashboard

# Gradio must not phone home (csagent runs offline).
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def create_web_app(settings: Settings | None = None, **kwargs: Any) -> FastAPI:
    """`create_app` plus the dashboard; what `csagent serve` and the demo run."""
    settings = settings or get_settings()
    kwargs.setdefault("poll", settings.mirakl_poll)
    app = create_app(settings, **kwargs)
    processor = app.state.pipeline.processor
    workspace = Workspace(
        sessions=app.state.pipeline.sessions,
        pipeline=app.state.pipeline,
        agent=processor if isinstance(processor, Agent) else None,
        mirakl=app.state.mirakl,
        mirakl_for=app.state.mirakl_for,
        settings=settings,
        drafting=app.state.drafting,
        replay_report=settings.data_dir / "reports" / "replay.md",
    )
    mounted: FastAPI = mount_dashboard(app, workspace)
    return mounted
