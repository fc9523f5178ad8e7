"""The simulated Mirakl inbox: M10 (list threads, seek paging), M11 (one thread), M12 (reply),
M13 (download an attachment)."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile

from tools.mirakl.simulator.state import (
    SimError,
    SimState,
    _date,
    authorize,
    decode_token,
    encode_token,
    now_iso,
    parse_date,
    sorted_messages,
    thread_key,
    without_messages,
)

MAX_THREAD_PAGE = 100
LISTED_MESSAGES = 100  # M11 with_messages: "Limited to the last 100 messages" of each thread
MAX_THREAD_MESSAGES = 1000  # M12: "Maximum of 1000 messages on a thread"
BODY_LENGTH = (3, 50_000)  # M12 message_input.body
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
    sort: str = "date,DESC",
) -> dict[str, Any]:
    if page_token:  # Mirakl: with a page token, every other parameter is ignored
        direction, key, query = decode_token(page_token)
    else:
        direction, key = "", ("", "")
        query = {
            "entity_type": entity_type,
            "entity_id": [i for v in entity_id or [] for i in v.split(",") if i],
            "updated_since": updated_since,
            "with_messages": with_messages,
            "limit": limit,
            "sort": sort,
        }
    if query["entity_id"] and not query["entity_type"]:
        raise SimError(400, "entity_type must be specified to use the entity_id filter")
    if not 1 <= query["limit"] <= MAX_THREAD_PAGE:
        raise SimError(400, f"limit must be between 1 and {MAX_THREAD_PAGE}")
    order = str(query["sort"]).rsplit(",", 1)[-1].upper()
    if order not in ("ASC", "DESC"):
        raise SimError(400, "sort must be <criterion>,ASC or <criterion>,DESC")
    since = parse_date(query["updated_since"], "updated_since") if query["updated_since"] else None
    selected = []
    for thread in state.threads.values():
        entities = thread.get("entities", [])
        if query["entity_type"] and not any(e["type"] == query["entity_type"] for e in entities):
            continue
        if query["entity_id"] and not any(e["id"] in query["entity_id"] for e in entities):
            continue
        if since and _date(thread.get("date_updated") or thread["date_created"]) < since:
            continue  # "modified at or after this date": inclusive
        selected.append(thread)
    selected.sort(key=thread_key, reverse=order == "DESC")
    keys = [thread_key(t) for t in selected]
    size = int(query["limit"])

    def after(key: tuple[str, str], k: tuple[str, str]) -> bool:
        return k > key if order == "ASC" else k < key

    if direction == "after":
        start = next((i for i, k in enumerate(keys) if after(key, k)), len(keys))
    elif direction == "before":
        end = next((i for i, k in enumerate(keys) if not after(k, key)), len(keys))
        start = max(0, end - size)
    else:
        start = 0
    page = selected[start : start + size]
    answer: dict[str, Any] = {"data": [_listed(t, bool(query["with_messages"])) for t in page]}
    if page and start + size < len(selected):  # tokens are absent on the last / first page
        answer["next_page_token"] = encode_token("after", thread_key(page[-1]), query)
    if page and start > 0:
        answer["previous_page_token"] = encode_token("before", thread_key(page[0]), query)
    return answer


def _listed(thread: dict[str, Any], with_messages: bool) -> dict[str, Any]:
    """A thread as M11 lists it: with messages, only the last 100 of them."""
    if not with_messages:
        return without_messages(thread)
    return {**thread, "messages": sorted_messages(thread)[-LISTED_MESSAGES:]}


@router.get("/inbox/threads/{thread_id}")
def get_thread(state: SimState, thread_id: str) -> dict[str, Any]:
    thread = state.thread(thread_id)
    return {**thread, "messages": sorted_messages(thread)}


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
    if not BODY_LENGTH[0] <= len(body) <= BODY_LENGTH[1]:
        raise SimError(
            400, f"message_input.body must be {BODY_LENGTH[0]} to {BODY_LENGTH[1]} characters"
        )
    if len(thread.get("messages", [])) >= MAX_THREAD_MESSAGES:
        raise SimError(400, f"Thread '{thread_id}' has reached {MAX_THREAD_MESSAGES} messages")
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
    participants.setdefault("OPERATOR", state.operator_party)
    if "SHOP" in {r["type"] for r in recipient_list}:
        raise SimError(400, "a shop cannot address its own message to the shop")
    attachments: list[dict[str, Any]] = []
    message = {
        "id": str(uuid.uuid4()),
        "from": state.sender("SHOP", state.shop_name),
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
        "attachments": attachments,
    }
    for upload in files or []:
        content = await upload.read()
        attachment_id = str(uuid.uuid4())
        state.files[attachment_id] = content
        attachments.append(
            {"id": attachment_id, "name": upload.filename or "file", "size": len(content)}
        )
    state.append_message(thread, message)
    return {"message_id": message["id"], "thread_id": thread_id}


@router.get("/inbox/threads/{attachment_id}/download")
def download_attachment(state: SimState, attachment_id: str) -> Response:
    """M13: the attachment's bytes, as application/octet-stream (the published contract)."""
    known = {
        a["id"]: a
        for thread in state.threads.values()
        for m in thread.get("messages", [])
        for a in m.get("attachments") or []
    }
    if attachment_id not in known:
        raise SimError(404, f"Attachment '{attachment_id}' not found")
    name = known[attachment_id].get("name") or "file"
    return Response(
        state.files.get(attachment_id, b""), media_type="application/octet-stream",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )  # fmt: skip
