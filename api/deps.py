"""Request dependencies, as annotated aliases so route signatures read as prose."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Query, Request, Security
from fastapi.security import APIKeyHeader
from sqlalchemy.orm import Session

from api.errors import ApiError
from graph.drafting import DraftingService
from graph.processor import Agent
from store.queue import Pipeline
from store.settings import Settings
from store.threads import has_threads, marketplaces_of_thread
from tools.mirakl.blocking import BlockingMirakl


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_pipeline(request: Request) -> Pipeline:
    pipeline: Pipeline = request.app.state.pipeline
    return pipeline


def get_session(request: Request) -> Iterator[Session]:
    """A session for the request; routes that write commit it themselves before answering."""
    with request.app.state.pipeline.sessions() as session:
        yield session


def get_agent(request: Request) -> Agent:
    agent: Agent | None = request.app.state.agent
    if agent is None:
        raise ApiError(409, "agent_disabled", "the agent is off (CSAGENT_PROCESSING=store)")
    return agent


def get_drafting(request: Request) -> DraftingService:
    drafting: DraftingService = request.app.state.drafting
    return drafting


def get_marketplace(
    request: Request,
    marketplace: Annotated[
        str | None,
        Query(
            max_length=64,
            description="The thread's marketplace by its configured name (e.g. fnac); none: "
            "the default one. The same thread id on two marketplaces is two threads.",
        ),
    ] = None,
) -> str:
    """The stored name of the marketplace a request is about; 404 for one csagent does not
    know (its threads can still be read, by that name, from the inbox)."""
    settings: Settings = request.app.state.settings
    stored = settings.stored_name(marketplace)
    thread_id = request.path_params.get("thread_id")
    if marketplace is None and thread_id and settings.multi_marketplace:
        # Answering Carrefour's t-1 as Fnac's t-1 because the client left the marketplace out
        # would send the wrong customer a reply: ambiguous ids need it said.
        found = _marketplaces_of(request, thread_id)
        if len(found) > 1:
            names = ", ".join(sorted(settings.display_name(m) for m in found))
            raise ApiError(
                409, "ambiguous_thread",
                f"thread {thread_id} exists on several marketplaces ({names}): add ?marketplace=",
            )  # fmt: skip
    if settings.connection(stored) is None and not _has_threads(request, stored):
        known = ", ".join(c.name for c in settings.connections())
        raise ApiError(404, "unknown_marketplace", f"no marketplace {marketplace!r} ({known})")
    return stored


def _marketplaces_of(request: Request, thread_id: str) -> list[str]:
    with request.app.state.pipeline.sessions() as session:
        return marketplaces_of_thread(session, thread_id)


def _has_threads(request: Request, marketplace: str) -> bool:
    with request.app.state.pipeline.sessions() as session:
        return has_threads(session, marketplace)


def get_mirakl(
    request: Request, marketplace: Annotated[str, Depends(get_marketplace)]
) -> BlockingMirakl:
    """The Mirakl client of the request's marketplace."""
    try:
        mirakl: BlockingMirakl = request.app.state.mirakl_for(marketplace)
    except LookupError as exc:
        raise ApiError(
            409, "unknown_marketplace", f"{exc}: nothing can be read or sent there"
        ) from None
    return mirakl


def check_key(provided: str | None, expected: str, message: str) -> None:
    """Constant-time comparison; 401 with `message` when the key is missing or wrong."""
    if provided is None or not hmac.compare_digest(provided.encode(), expected.encode()):
        raise ApiError(401, "unauthorized", message)


# Declared as security schemes, so OpenAPI clients know which key each operation takes.
webhook_key = APIKeyHeader(
    name="X-API-Key",
    scheme_name="ApiKey",
    description="CSAGENT_API_KEY (or <data dir>/api_key): webhook senders, events",
    auto_error=False,
)
reviewer_key = APIKeyHeader(
    name="X-API-Key",
    scheme_name="ReviewerApiKey",
    description="CSAGENT_REVIEWER_API_KEY (or <data dir>/reviewer_api_key): reviews and drafts",
    auto_error=False,
)
internal_key = APIKeyHeader(
    name="X-API-Key",
    scheme_name="InternalApiKey",
    description="CSAGENT_INTERNAL_API_KEY (or <data dir>/internal_api_key): /internal/v1",
    auto_error=False,
)


def require_api_key(
    request: Request, x_api_key: Annotated[str | None, Security(webhook_key)] = None
) -> None:
    check_key(x_api_key, request.app.state.api_key, "missing or wrong X-API-Key")


def require_reviewer_key(
    request: Request, x_api_key: Annotated[str | None, Security(reviewer_key)] = None
) -> None:
    check_key(x_api_key, request.app.state.reviewer_api_key, "missing or wrong reviewer X-API-Key")


def require_internal_key(
    request: Request, x_api_key: Annotated[str | None, Security(internal_key)] = None
) -> None:
    check_key(
        x_api_key,
        request.app.state.internal_api_key,
        "missing or wrong X-API-Key for the internal API",
    )


async def require_signature(
    request: Request, x_signature: Annotated[str | None, Header()] = None
) -> None:
    settings: Settings = request.app.state.settings
    if settings.webhook_secret is None:
        return
    body = await request.body()
    digest = hmac.new(
        settings.webhook_secret.get_secret_value().encode(), body, hashlib.sha256
    ).hexdigest()
    if x_signature is None or not hmac.compare_digest(
        x_signature.encode(), f"sha256={digest}".encode()
    ):
        raise ApiError(
            401, "bad_signature", "missing or wrong X-Signature (sha256=<hex HMAC of the body>)"
        )


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]
AgentDep = Annotated[Agent, Depends(get_agent)]
DraftingDep = Annotated[DraftingService, Depends(get_drafting)]
MiraklDep = Annotated[BlockingMirakl, Depends(get_mirakl)]
PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]
ApiKeyDep = Annotated[None, Depends(require_api_key)]
ReviewerKeyDep = Annotated[None, Depends(require_reviewer_key)]
SignatureDep = Annotated[None, Depends(require_signature)]
MarketplaceDep = Annotated[str, Depends(get_marketplace)]


def get_actor(
    x_actor: Annotated[
        str | None, Header(max_length=128, description="Who does it, for the audit log")
    ] = None,
) -> str:
    """The agent acting through the API (`X-Actor`), as the audit log names them."""
    return x_actor or "agent"


ActorDep = Annotated[str, Depends(get_actor)]
