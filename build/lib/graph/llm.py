"""The chat model, when an OpenAI-compatible endpoint is configured (None otherwise)."""

from __future__ import annotations

from langchain_openai import ChatOpenAI

from store.settings import Settings, get_settings


def chat_model(settings: Settings | None = None) -> ChatOpenAI | None:
    s = settings or get_settings()
    if s.openai_api_key is None:
        return None
    return ChatOpenAI(
        model=s.openai_model,
        api_key=s.openai_api_key,
        base_url=s.openai_base_url,
        timeout=s.llm_timeout_s,
        max_retries=2,
        temperature=0,
    )
