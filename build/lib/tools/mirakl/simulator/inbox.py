"""The simulated Mirakl inbox: M10 (list threads, seek paging), M11 (one thread), M12 (reply)."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile

from tools.mirakl.simulator.state import (
    SimError,
    SimState,
    _date,
    authorize,
    decode_token,
    encode_token,
    now_iso,
    parse_date,
    thread_key,
    without_messages,
)

MAX_THREAD_PAGE = 100
RECIPIENT_TYPES = {"CUSTOMER", "OPERATOR", "SHOP"}

router = APIRouter(prefix="/api", dependencies=[Depends(authorize)])


@router.get("/inbox/threads")
def list_threads(
    state: SimState,
    entity_type: str | None = None,
    entity_id: Annotated[list[str] | None, Query()] = None,
    updated_since: str | None = None,
    with_messages: bool = False,
    channel_codes: str | None = None,
    limit: int = 50,
    page_token: str | None = None,
    sort: str = "DESC",
) -> dict[str, Any]:
    if not 1 <= limit <= MAX_THREAD_PAGE:
        raise SimError(400, f"limit must be between 1 and {MAX_THREAD_PAGE}")
    if sort not in ("ASC", "DESC"):
        raise SimError(400, "sort must be ASC or DESC")
    since = parse_date(updated_since, "updated_since") if updated_since else None
    selected = []
    for thread in state.threads.values():
        entities = thread.get("entities", [])
        if entity_type and not any(e["type"] == entity_type for e in entities):
            continue
        if entity_id and not any(e["id"] in entity_id for e in entities):
            continue
        if since and _date(thread.get("date_updated") or thread["date_created"]) < since:
            continue
        selected.append(thread)
    selected.sort(key=thread_key, reverse=sort == "DESC")
    keys = [thread_key(t) for t in selected]

    def after(key: tuple[str, str], k: tuple[str, str]) -> bool:
        return k > key if sort == "ASC" else k < key

    if page_token:
        direction, key = decode_token(page_token)
        if direction == "after":
            start = next((i for i, k in enumerate(keys) if after(key, k)), len(keys))
        else:
            end = next((i for i, k in enumerate(keys) if not after(k, key)), len(keys))
            start = max(0, end - limit)
    else:
        start = 0
    page = selected[start : start + limit]
    has_next = start + limit < len(selected)
    return {
        "data": [t if with_messages else without_messages(t) for t in page],
        "next_page_token": encode_token("after", thread_key(page[-1])) if has_next else None,
        "previous_page_token": encode_token("before", thread_key(page[0]))
        if page and start > 0
        else None,
    }


@router.get("/inbox/threads/{thread_id}")
def get_thread(state: SimState, thread_id: str) -> dict[str, Any]:
    thread = state.thread(thread_id)
    messages = sorted(thread.get("messages", []), key=lambda m: _date(m["date_created"]))
    return {**thread, "messages": messages}


@router.post("/inbox/threads/{thread_id}/message", status_code=201)
async def reply(
    state: SimState,
    thread_id: str,
    message_input: Annotated[str, Form()],
    files: Annotated[list[UploadFile] | None, File()] = None,
) -> dict[str, Any]:
    thread = state.thread(thread_id)
    try:
        data = json.loads(message_input)
    except json.JSONDecodeError:
        raise SimError(400, "message_input is not valid JSON") from None
    body = data.get("body") if isinstance(data, dict) else None
    if not isinstance(body, str) or not body.strip():
        raise SimError(400, "message_input.body is required")
    recipients = data.get("to")
    if (
        not isinstance(recipients, list)
        or not recipients
        or any(not isinstance(r, dict) or r.get("type") not in RECIPIENT_TYPES for r in recipients)
    ):
        raise SimError(
            400, "message_input.to must list recipients of type CUSTOMER, OPERATOR or SHOP"
        )
    recipient_list: list[dict[str, Any]] = recipients
    participants: dict[str, dict[str, Any]] = {
        p["type"]: p for p in thread.get("current_participants", [])
    }
    message = {
        "id": str(uuid.uuid4()),
        "from": {**state.shop_party, "organization_details": None},
        "to": [
            {
                k: v
                for k, v in participants.get(str(r["type"]), r).items()
                if k in ("type", "id", "display_name")
            }
            for r in recipient_list
        ],
        "body": body,
        "date_created": now_iso(),
        "attachments": [{"name": f.filename, "size": len(await f.read())} for f in files or []],
    }
    state.append_message(thread, message)
    return {"message_id": message["id"], "thread_id": thread_id}
