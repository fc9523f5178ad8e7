"""The web app: the API (api/) with the agents' dashboard (ui/) mounted at /ui. Composed here,
the only place that knows both."""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI

from api.app import app_for
from graph.composition import Composition
from store.settings import Settings, get_settings
from ui.dashboard import Workspace, mount_dashboard

# Gradio must not phone home (csagent runs offline).
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def create_web_app(settings: Settings | None = None, **kwargs: Any) -> FastAPI:
    """The API and the dashboard over one set of services, built here once per process; what
    `csagent serve` and the demo run. kwargs: `engine`, `processor`, `poll` (Composition.build)
    and `queue_worker` (app_for)."""
    settings = settings or get_settings()
    queue_worker = kwargs.pop("queue_worker", None)
    kwargs.setdefault("poll", settings.mirakl_poll)
    composition = Composition.build(settings, **kwargs)
    app = app_for(composition, queue_worker=queue_worker)
    services = composition.services
    workspace = Workspace(
        sessions=composition.pipeline.sessions,
        pipeline=composition.pipeline,
        agent=composition.agent,
        mirakl=services.mirakl,
        mirakl_for=services.mirakl_for,
        settings=settings,
        drafting=services.drafting,
        replay_report=settings.data_dir / "reports" / "replay.md",
    )
    mounted: FastAPI = mount_dashboard(app, workspace)
    return mounted
