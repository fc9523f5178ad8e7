"""The API key webhook senders present: configured, or generated once and kept in the data dir."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from store.settings import Settings


def api_key_file(settings: Settings) -> Path:
    return settings.data_dir.expanduser().resolve() / "api_key"


def resolve_api_key(settings: Settings) -> str:
    """CSAGENT_API_KEY if set; otherwise the key in <data_dir>/api_key, created on first use."""
    if settings.api_key is not None and settings.api_key.get_secret_value():
        return settings.api_key.get_secret_value()
    path = api_key_file(settings)
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
