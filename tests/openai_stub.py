"""A scripted OpenAI-compatible chat-completions server, for tests that go through
langchain-openai's real HTTP request path. Each request gets the next scripted reply; a reply can
be computed from the request (e.g. from the tool results the client sent back)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

Reply = dict[str, Any]
Step = Reply | Callable[[dict[str, Any]], Reply]


def text(content: str) -> Reply:
    return {"content": content}


def tool_call(name: str, arguments: dict[str, Any]) -> Reply:
    return {"tool_calls": [(name, arguments)]}


def last_tool_result(request: dict[str, Any]) -> Any:
    tool_messages = [m for m in request["messages"] if m["role"] == "tool"]
    return json.loads(tool_messages[-1]["content"])


class ScriptedChat:
    def __init__(self, *steps: Step, then: Step | None = None) -> None:
        self.steps: list[Step] = list(steps)
        self.then = then
        self.requests: list[dict[str, Any]] = []

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def completions(request: Request) -> JSONResponse:
            if not request.headers.get("authorization", "").startswith("Bearer "):
                error = {"message": "Missing bearer token", "type": "invalid_request_error"}
                return JSONResponse({"error": error}, status_code=401)
            body = await request.json()
            self.requests.append(body)
            step = self.steps.pop(0) if self.steps else self.then
            if step is None:
                error = {"message": "script exhausted", "type": "server_error"}
                return JSONResponse({"error": error}, status_code=500)
            reply = step(body) if callable(step) else step
            if "error" in reply:  # a server refusing the request's shape
                error = {"message": "unsupported request", "type": "server_error"}
                return JSONResponse({"error": error}, status_code=int(reply["error"]))
            return JSONResponse(self.completion(body, reply))

        return app

    def completion(self, request: dict[str, Any], reply: Reply) -> dict[str, Any]:
        n = len(self.requests)
        calls = [
            {
                "id": f"call_{n}_{i}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
            for i, (name, arguments) in enumerate(reply.get("tool_calls", []))
        ]
        message: dict[str, Any] = {"role": "assistant", "content": reply.get("content")}
        if calls:
            message["tool_calls"] = calls
        prompt_tokens = sum(len(str(m.get("content") or "")) // 4 + 1 for m in request["messages"])
        completion_tokens = len(str(reply.get("content") or "")) // 4 + 1
        return {
            "id": f"chatcmpl-{n}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", "scripted"),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": "tool_calls" if calls else "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
