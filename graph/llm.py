"""The chat model, when an OpenAI-compatible endpoint is configured (None otherwise).

Written for what OpenAI-compatible servers really accept (checked against llama.cpp's server,
see README "LLM servers"): the answer length is sent as the field the server honours
(`llm_max_tokens_field`), and an assistant turn that carries tool calls is sent with an empty
string as its content rather than null, which some servers refuse (llama-cpp-python #1805).
"""

from __future__ import annotations

from typing import Any

from langchain_openai import ChatOpenAI

from store.settings import Settings, get_settings


class CompatibleChatOpenAI(ChatOpenAI):
    """ChatOpenAI whose requests servers other than OpenAI's accept too."""

    def _get_request_payload(self, input_: Any, *, stop: Any = None, **kwargs: Any) -> dict:  # type: ignore[type-arg]
        payload: dict[str, Any] = super()._get_request_payload(input_, stop=stop, **kwargs)
        for message in payload.get("messages", []):
            if message.get("content") is None:
                message["content"] = ""
        return payload


def chat_model(settings: Settings | None = None) -> ChatOpenAI | None:
    s = settings or get_settings()
    if s.openai_api_key is None:
        return None
    return CompatibleChatOpenAI(
        model=s.openai_model,
        api_key=s.openai_api_key,
        base_url=s.openai_base_url,
        timeout=s.llm_timeout_s,
        max_retries=2,
        temperature=0,
        # ChatOpenAI sends max_tokens as max_completion_tokens, which e.g. llama.cpp ignores.
        extra_body={s.llm_max_tokens_field: s.llm_max_tokens},
    )
