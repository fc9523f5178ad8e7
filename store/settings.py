"""The one place csagent reads its configuration (environment variables and `.env`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
