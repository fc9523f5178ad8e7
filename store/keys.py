"""Shared secrets (API keys): configured, or generated once and kept in the data dir (mode 600)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import SecretStr

from store.settings import Settings


def key_file(settings: Settings, name: str) -> Path:
    return settings.data_dir.expanduser().resolve() / name


def resolve_key(configured: SecretStr | None, path: Path) -> str:
    """The configured key if set; otherwise the key stored at `path`, created on first use."""
    if configured is not None and configured.get_secret_value():
        return configured.get_secret_value()
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key


def api_key_file(settings: Settings) -> Path:
    return key_file(settings, "api_key")


def resolve_api_key(settings: Settings) -> str:
    """The key webhook senders present in X-API-Key."""
    return resolve_key(settings.api_key, api_key_file(settings))


def internal_api_key_file(settings: Settings) -> Path:
    return key_file(settings, "internal_api_key")


def reviewer_api_key_file(settings: Settings) -> Path:
    return key_file(settings, "reviewer_api_key")


def resolve_reviewer_api_key(settings: Settings) -> str:
    """The key of the people (and their tools) who answer reviews: not the webhook sender's, so
    a leaked n8n credential cannot approve and send replies."""
    return resolve_key(settings.reviewer_api_key, reviewer_api_key_file(settings))


def resolve_internal_api_key(settings: Settings) -> str:
    """The key of the internal business API (/internal/v1), separate from the webhook key."""
    return resolve_key(settings.internal_api_key, internal_api_key_file(settings))
