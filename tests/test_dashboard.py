"""The agents' workspace: the thread API, and the Gradio dashboard's handlers driven through
gradio_client against a running app (signed in as an agent account)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from helpers import LOW_THRESHOLDS, Csagent, Simulator, serve_csagent
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from examples import SAMPLE_V1_FILE
from knowledge.ingest import KnowledgeBase
from store.db import session_scope
from store.models import AuditEntry, InboundEvent
from store.settings import DEFAULT_MARKETPLACE

REVIEWER = {"X-API-Key": "rk", "X-Actor": "Ana Moreau"}
OVERDUE_THREAD = "1888a15a-a825-5ff6-8ff4-39a3ecbe7305"  # Daniel S., "Producto dañado"


def import_sample() -> None:
    from store.v1_import import import_v1, load_v1_records

    with session_scope() as session:
        import_v1(
            session, load_v1_records(SAMPLE_V1_FILE), sla_hours=24, marketplace=DEFAULT_MARKETPLACE
        )


def make_desk(sim: Simulator, **overrides: Any) -> Iterator[Csagent]:
    """csagent with the dashboard, Ana signed up as an agent."""
    from store.users import add_user

    with session_scope() as session:
        add_user(session, "ana", "correct horse", "Ana Moreau")
    with serve_csagent(
        sim.url, sim_state=sim.state, dashboard=True,
        **{"mirakl_base_url": sim.api, "automation_thresholds": LOW_THRESHOLDS,
           **overrides},
    ) as desk:  # fmt: skip
        desk.reviewer = REVIEWER  # the API in Ana's name too
        yield desk


@pytest.fixture
def desk(knowledge: KnowledgeBase, mirakl_sim: Simulator) -> Iterator[Csagent]:
    yield from make_desk(mirakl_sim)


def failed_message(desk: Csagent, thread_id: str) -> tuple[int, dict[str, Any]]:
    """A customer message (on the simulator) whose processing failed earlier, say while the
    database was down: stored with its error. (its event id, the simulator's answer)"""
    from store.ingest import IncomingMessage, record_event, store_message

    created = httpx.post(
        f"{desk.sim}/_sim/threads/{thread_id}/customer-message",
        json={"body": "Où est ma commande ?", "order_id": "20567843-A"},
    ).json()
    with session_scope() as s:
        message = IncomingMessage.model_validate(created["event"])
        event_id, _ = record_event(s, message, source="webhook", marketplace=DEFAULT_MARKETPLACE)
        store_message(s, message, sla_hours=24, marketplace=DEFAULT_MARKETPLACE)
        event = s.get(InboundEvent, event_id)
        assert event is not None
        event.status, event.error = "failed", "OperationalError: database down"
    return event_id, dict(created)


def old_cancellable_order(desk: Csagent, order_id: str) -> str:
    """A WAITING_ACCEPTANCE order placed three days ago: Mirakl would still cancel it, csagent's
    policy (24 h window) does not do it by itself."""
    order = copy.deepcopy(desk.sim_state.orders["20620000-A"])
    created = datetime.now(UTC) - timedelta(days=3)
    order.update(order_id=order_id, order_state="WAITING_ACCEPTANCE", can_cancel=True,
                 created_date=created.isoformat().replace("+00:00", "Z"))  # fmt: skip
    for line in order["order_lines"]:
        line["order_line_id"] = f"{order_id}-1"
    desk.create_order(order)
    return order_id


# -- the API behind the dashboard -----------------------------------------------------------------


def test_the_inbox_lists_overdue_threads_first_with_counts(desk: Csagent) -> None:
    import_sample()
    page = desk.call("GET", "/threads", params={"limit": 5}).json()
    assert (
        page["total"] == sum(page["counts"].values()) == len(json.loads(SAMPLE_V1_FILE.read_text()))
    )
    assert page["counts"]["open"] == 37 and page["counts"]["answered"] == 9
    first = page["threads"][0]
    assert first["overdue"] is True
    dues = [t["sla_due_at"] for t in page["threads"] if t["overdue"]]
    assert dues == sorted(dues)
    found = desk.call("GET", "/threads", params={"q": "Producto dañado"}).json()
    assert [t["topic"] for t in found["threads"]] == ["Producto dañado"]
    none = desk.call("GET", "/threads", params={"status": "needs_attention"}).json()
    assert none["threads"] == [] and none["total"] == 0
    assert desk.call("GET", "/threads", params={"status": "teleported"}).status_code == 422
    assert desk.call("GET", "/threads", headers={"X-API-Key": "k"}).status_code == 401


def test_a_thread_shows_who_wrote_what_its_order_and_its_audit(
    desk: Csagent, session: Session
) -> None:
    answer = desk.customer_writes("api-status", "Bonjour, où en est ma commande ?", "20567843-A")
    assert answer["status"] == "auto_replied"
    thread = desk.call("GET", "/threads/api-status").json()
    assert thread["status"] == "auto_resolved"
    assert [m["by"] for m in thread["messages"]] == ["customer", "automation"]
    assert thread["order"]["state"] == "SHIPPED" and thread["order"]["source"] == "mirakl"
    assert thread["order"]["fetched_at"] is not None
    assert thread["order"]["shipment"]["tracking_number"] == "6A01815623033"
    assert [a["action"] for a in thread["audit"]] == ["reply.send", "thread.close"]
    assert desk.call("GET", "/threads/nope").status_code == 404


def test_a_reply_by_hand_is_sent_once_under_the_agents_name(
    desk: Csagent, session: Session
) -> None:
    import_sample()
    text = "Bonjour Daniel, nous vous envoyons un produit de remplacement aujourd'hui."
    for _ in range(2):  # a double click
        sent = desk.call("POST", f"/threads/{OVERDUE_THREAD}/reply", json={"text": text})
        assert sent.status_code == 200, sent.text
    assert desk.shop_messages(OVERDUE_THREAD).count(text) == 1
    thread = desk.call("GET", f"/threads/{OVERDUE_THREAD}").json()
    assert thread["status"] == "answered" and thread["sla_due_at"] is None
    assert (
        thread["messages"][-1]["by"] == "agent" and thread["messages"][-1]["author"] == "Ana Moreau"
    )
    [audit] = [a for a in thread["audit"] if a["action"] == "reply.manual"]
    assert (audit["actor"], audit["outcome"]) == ("Ana Moreau", "succeeded")
    empty = desk.call("POST", f"/threads/{OVERDUE_THREAD}/reply", json={"text": ""})
    assert empty.status_code == 422


def test_a_reply_by_hand_while_mirakl_is_down_is_a_502_and_records_nothing(desk: Csagent) -> None:
    import_sample()
    httpx.post(
        f"{desk.sim}/_sim/faults",
        json={"status": 503, "count": 50, "path_prefix": f"/inbox/threads/{OVERDUE_THREAD}"},
    )
    failed = desk.call("POST", f"/threads/{OVERDUE_THREAD}/reply", json={"text": "Bonjour"})
    assert failed.status_code == 502 and failed.json()["error"] == "mirakl_failed"
    httpx.delete(f"{desk.sim}/_sim/faults")
    thread = desk.call("GET", f"/threads/{OVERDUE_THREAD}").json()
    assert thread["status"] == "open" and thread["messages"][-1]["by"] == "customer"
    again = desk.call("POST", f"/threads/{OVERDUE_THREAD}/reply", json={"text": "Bonjour"})
    assert again.status_code == 200 and desk.shop_messages(OVERDUE_THREAD)[-1] == "Bonjour"


def test_a_reply_by_hand_answers_the_pending_review(desk: Csagent) -> None:
    answer = desk.customer_writes(
        "api-review", "Bonjour, je voudrais retourner la machine à café.", "20576630-A"
    )
    assert answer["status"] == "awaiting_approval"
    sent = desk.call("POST", "/threads/api-review/reply", json={"text": "Bonjour, voici comment."})
    assert sent.json()["answered_review"] is True
    assert desk.shop_messages("api-review") == ["Bonjour, voici comment."]
    assert httpx.get(f"{desk.api}/api/v1/reviews", headers=REVIEWER).json() == []


def test_a_reviewer_can_approve_the_cancellation_the_policy_refused(
    desk: Csagent, session: Session
) -> None:
    order_id = old_cancellable_order(desk, "70000001-A")
    answer = desk.customer_writes("api-cancel", "Please cancel my order.", order_id)
    assert answer["status"] == "awaiting_approval"
    thread = desk.call("GET", "/threads/api-cancel").json()
    review = thread["pending_review"]
    assert review["action_request"]["args"]["proposal"] == "cancel_order"
    assert "Proposed action, refused by policy" in review["description"]
    done = httpx.post(
        f"{desk.api}/api/v1/threads/api-cancel/review",
        json={"type": "accept", "args": {"with_action": True}},
        headers=REVIEWER,
        timeout=300,
    )
    assert done.status_code == 200, done.text
    assert done.json()["actions"] == ["order_cancelled", "reply_sent"]
    assert desk.sim_state.orders[order_id]["order_state"] == "CANCELED"
    # The customer is told what was done (the confirmation shown in the review), not the draft.
    assert "If approved, the customer is told" in review["description"]
    [sent] = desk.shop_messages("api-cancel")
    assert sent == review["action_request"]["args"]["proposal_reply"]
    assert f"{order_id} is cancelled" in sent
    last = desk.call("GET", "/threads/api-cancel").json()["messages"][-1]
    assert (last["by"], last["author"]) == ("agent", "Ana Moreau")
    session.expire_all()
    [answered] = session.scalars(select(AuditEntry).where(AuditEntry.action == "review.answer"))
    assert answered.actor == "Ana Moreau" and answered.payload["with_action"] is True


# -- the dashboard, through gradio_client -----------------------------------------------------------


def test_the_dashboard_needs_an_account(desk: Csagent) -> None:
    page = httpx.get(f"{desk.api}/ui/", follow_redirects=True)
    assert page.status_code == 200
    # Without a session the dashboard's data is refused, with the sign-in hint the page shows.
    config = httpx.get(f"{desk.api}/ui/config")
    assert config.status_code == 401
    assert config.json()["detail"] == {
        "error": "Not authenticated",
        "auth_message": "Sign in with your csagent account (`csagent users add`).",
    }
    with pytest.raises(ValueError, match="Could not login"):
        desk.client(password="wrong password")


def test_the_dashboard_reads_drafts_and_sends_a_reply(desk: Csagent, session: Session) -> None:
    import_sample()
    client = desk.client()
    counts, table = client.predict("all", "", True, api_name="/inbox")
    assert "**open** 37" in counts
    assert table["data"][0][-1] == OVERDUE_THREAD and "overdue" in table["data"][0][2]
    header, messages, order, audit, tags = client.predict(OVERDUE_THREAD, api_name="/open_thread")
    assert "Daniel" in header and "**Customer** Daniel S." in messages
    assert "Order 20600434-A" in order and "read from Mirakl" in order
    draft, sources, note = client.predict(OVERDUE_THREAD, api_name="/generate_draft")
    assert draft.startswith("Hola") and "**Sources**" in sources
    box, status = client.predict(OVERDUE_THREAD, draft, api_name="/send_reply")
    assert box == "" and "Reply sent on Mirakl" in status
    assert desk.shop_messages(OVERDUE_THREAD)[-1] == draft
    session.expire_all()
    [sent] = session.scalars(select(AuditEntry).where(AuditEntry.action == "reply.manual"))
    assert sent.actor == "Ana Moreau"


def test_the_agent_closes_a_thread_without_a_reply(desk: Csagent, session: Session) -> None:
    import_sample()
    client = desk.client()
    before = desk.shop_messages(OVERDUE_THREAD)
    status = client.predict(OVERDUE_THREAD, api_name="/close_thread")
    assert status.startswith("Closed without a reply"), status
    assert desk.shop_messages(OVERDUE_THREAD) == before  # nothing sent
    session.expire_all()
    [closed] = session.scalars(select(AuditEntry).where(AuditEntry.action == "thread.close"))
    assert (closed.actor, closed.payload["reason"]) == ("Ana Moreau", "no_reply_needed")
    counts, table = client.predict("closed", "", False, api_name="/inbox")
    assert [row[-1] for row in table["data"]] == [OVERDUE_THREAD]


def test_the_agent_takes_a_thread_and_finds_it_under_mine(desk: Csagent) -> None:
    import_sample()
    client = desk.client()
    assert client.predict(OVERDUE_THREAD, api_name="/take_thread") == "Assigned to you."
    counts, mine = client.predict("all", "", False, "Mine", api_name="/inbox")
    assert [(row[-1], row[-2]) for row in mine["data"]] == [(OVERDUE_THREAD, "Ana Moreau")]
    assert "Filters: showing: **mine**." in counts  # the active filters are said
    counts, _ = client.predict("open", "Daniel", True, "All", api_name="/inbox")
    assert "Filters: status **open** · search **Daniel** · overdue only." in counts
    header = client.predict(OVERDUE_THREAD, api_name="/open_thread")[0]
    assert "assigned to **Ana Moreau**" in header
    _, nobody = client.predict("all", "", False, "Unassigned", api_name="/inbox")
    assert OVERDUE_THREAD not in [row[-1] for row in nobody["data"]]
    assert client.predict(OVERDUE_THREAD, api_name="/release_thread").startswith("Released")
    _, mine = client.predict("all", "", False, "Mine", api_name="/inbox")
    assert mine["data"] == [] or all(not any(row) for row in mine["data"])


def test_an_agent_leaves_a_note_the_team_sees_on_the_thread(desk: Csagent) -> None:
    import_sample()
    client = desk.client()
    client.predict(OVERDUE_THREAD, api_name="/open_thread")
    box, status = client.predict(
        OVERDUE_THREAD, "Customer called: sending photos", api_name="/add_note"
    )
    assert box == "" and status.startswith("Note added")
    header = client.predict(OVERDUE_THREAD, api_name="/open_thread")[0]
    assert "**Internal notes**" in header and "Ana Moreau" in header
    assert "Customer called: sending photos" in header
    assert all("sending photos" not in m for m in desk.shop_messages(OVERDUE_THREAD))


def test_an_agent_tags_the_open_thread_and_the_inbox_finds_it_by_tag(desk: Csagent) -> None:
    import_sample()
    client = desk.client()
    client.predict(OVERDUE_THREAD, api_name="/open_thread")
    status = client.predict(OVERDUE_THREAD, "Damaged, carrier claim", api_name="/save_tags")
    assert status == "Tags saved: #carrier-claim #damaged."
    opened = client.predict(OVERDUE_THREAD, api_name="/open_thread")
    assert "`#damaged`" in opened[0] and opened[4] == "carrier-claim, damaged"
    counts, table = client.predict("all", "#damaged", False, api_name="/inbox")
    assert [row[-1] for row in table["data"]] == [OVERDUE_THREAD]
    assert table["data"][0][1].endswith("· #carrier-claim · #damaged")
    assert client.predict(OVERDUE_THREAD, "damaged", api_name="/save_tags").endswith("#damaged.")
    _, table = client.predict("all", "#carrier-claim", False, api_name="/inbox")
    assert table["data"] == [] or all(not any(row) for row in table["data"])


def test_a_canned_response_is_inserted_filled_for_the_open_thread(desk: Csagent) -> None:
    import_sample()
    client = desk.client()
    client.predict(OVERDUE_THREAD, api_name="/open_thread")
    before = desk.shop_messages(OVERDUE_THREAD)
    box, status = client.predict(
        OVERDUE_THREAD, "Ask for photos of the damage", api_name="/insert_canned"
    )
    assert box.startswith("Hola Daniel") and "foto" in box, box
    assert status.startswith("Canned response inserted (es)")
    assert desk.shop_messages(OVERDUE_THREAD) == before  # inserted, not sent
    box, status = client.predict(OVERDUE_THREAD, box, api_name="/send_reply")
    assert "Reply sent on Mirakl" in status and desk.shop_messages(OVERDUE_THREAD)[-1].startswith(
        "Hola Daniel"
    )


def test_a_new_customer_message_is_marked_until_an_agent_opens_the_thread(desk: Csagent) -> None:
    desk.customer_writes("marked-new", "Bonjour, une question sur ma commande.", None)
    client = desk.client()
    _, table = client.predict("all", "marked-new", False, api_name="/inbox")
    assert table["data"][0][1].startswith("● new")
    client.predict("marked-new", api_name="/open_thread")
    _, table = client.predict("all", "marked-new", False, api_name="/inbox")
    assert not table["data"][0][1].startswith("● new")


def test_a_snoozed_thread_is_out_of_the_inbox_and_under_snoozed(desk: Csagent) -> None:
    import_sample()
    client = desk.client()
    status = client.predict(OVERDUE_THREAD, "3 days", api_name="/snooze_thread")
    assert status.startswith("Snoozed until"), status
    _, everything = client.predict("all", "", False, "All", api_name="/inbox")
    assert OVERDUE_THREAD not in [row[-1] for row in everything["data"]]
    counts, snoozed = client.predict("all", "", False, "Snoozed", api_name="/inbox")
    [row] = snoozed["data"]
    assert row[-1] == OVERDUE_THREAD and "snoozed until" in row[-2]
    assert "Filters: showing: **snoozed**." in counts


def test_the_inbox_filters_by_marketplace_and_says_so(desk: Csagent) -> None:
    import_sample()
    client = desk.client()
    counts, table = client.predict("all", "", False, "All", "default", api_name="/inbox")
    assert "marketplace **default**" in counts
    assert table["data"] and {row[5] for row in table["data"]} == {"default"}
    assert table["headers"] == [
        "customer", "status", "waiting", "last message", "intent", "marketplace",
        "assigned to", "thread",
    ]  # fmt: skip


def test_the_inbox_says_how_long_each_customer_has_really_waited(desk: Csagent) -> None:
    """From Mirakl's reply clock (the deadline less the marketplace's reply time), not from the
    latest message: the oldest imported thread has waited weeks."""
    import re

    import_sample()
    _, table = desk.client().predict("all", "", True, api_name="/inbox")
    due = table["data"][0][2]
    assert table["data"][0][-1] == OVERDUE_THREAD
    waited = re.search(r"waited (\d+) d", due)
    assert waited and int(waited.group(1)) >= 7, due


def test_the_agent_sees_what_the_customer_is_asked_to_confirm(desk: Csagent) -> None:
    order = copy.deepcopy(desk.sim_state.orders["20620000-A"])
    order.update(order_id="70000030-A", created_date=datetime.now(UTC).isoformat())
    order["order_lines"][0]["order_line_id"] = "70000030-A-1"
    httpx.post(f"{desk.sim}/_sim/orders", json=order)
    asked = desk.customer_writes("confirm-shown", "Please cancel my order.", "70000030-A")
    assert asked["confirmation"] == "asked", asked
    client = desk.client()
    _, table = client.predict("all", "confirm-shown", False, api_name="/inbox")
    [row] = table["data"]
    assert row[1] == "answered · waiting for the customer's yes"
    header = client.predict("confirm-shown", api_name="/open_thread")[0]
    assert "**Waiting for the customer's yes:** cancel order 70000030-A" in header
    assert "nothing is done before a yes" in header
    desk.customer_writes("confirm-shown", "No thanks, I'll keep it.", "70000030-A")
    header = client.predict("confirm-shown", api_name="/open_thread")[0]
    assert "**The customer said no:** cancel order 70000030-A" in header
    assert desk.sim_state.orders["70000030-A"]["order_state"] == "WAITING_ACCEPTANCE"


def test_the_dashboard_addresses_a_reply_to_the_operator_and_says_whose_clock_it_is(
    desk: Csagent,
) -> None:
    import_sample()
    client = desk.client()
    header = client.predict(OVERDUE_THREAD, api_name="/open_thread")[0]
    assert "(estimated)" in header  # imported from V1: Mirakl's clock never read yet
    counts, _ = client.predict("all", "", False, api_name="/inbox")
    assert "Mirakl inbox: default never read" in counts
    box, status = client.predict(OVERDUE_THREAD, "Texte pour personne", [], api_name="/send_reply")
    assert box == "Texte pour personne" and "Choose who receives" in status
    box, status = client.predict(
        OVERDUE_THREAD, "Bonjour, le colis est parti hier.", ["Marketplace operator"],
        api_name="/send_reply",
    )  # fmt: skip
    assert box == "" and "Reply sent on Mirakl" in status
    last = desk.sim_state.threads[OVERDUE_THREAD]["messages"][-1]
    assert last["body"] == "Bonjour, le colis est parti hier."
    assert [r["type"] for r in last["to"]] == ["OPERATOR"]


def test_the_dashboard_keeps_the_text_when_mirakl_is_down(desk: Csagent) -> None:
    import_sample()
    httpx.post(
        f"{desk.sim}/_sim/faults",
        json={"status": 503, "count": 50, "path_prefix": f"/inbox/threads/{OVERDUE_THREAD}"},
    )
    box, status = desk.client().predict(OVERDUE_THREAD, "Mon texte", api_name="/send_reply")
    assert box == "Mon texte" and "Not sent" in status


def test_the_dashboard_answers_reviews_with_the_action(desk: Csagent) -> None:
    order_id = old_cancellable_order(desk, "70000002-A")
    desk.customer_writes("ui-cancel", "Please cancel my order.", order_id)
    client = desk.client()
    picker, note = client.predict(api_name="/reviews")
    assert "1 review(s) pending" in note
    shown = client.predict("ui-cancel", api_name="/show_review")
    assert "cancel_order" in shown[0]
    # The box holds the reply without the action: edited, it is never sent with the action.
    edited = shown[1] + " We cannot cancel it."
    refused = client.predict(
        "ui-cancel", edited, "", "", "", "", "", "", shown[7], api_name="/approve_action"
    )
    assert refused.startswith("**Not sent:**")
    assert desk.sim_state.orders[order_id]["order_state"] != "CANCELED"
    assert desk.shop_messages("ui-cancel") == []
    result = client.predict(
        "ui-cancel", shown[1], "", "", "", "", "", "", shown[7], api_name="/approve_action"
    )
    assert result.startswith("Done: replied") and "order_cancelled" in result
    assert result.endswith("· thread `ui-cancel`")  # the next review shows under this line
    assert desk.sim_state.orders[order_id]["order_state"] == "CANCELED"


def failed_and_unverified(desk: Csagent) -> int:
    """A message whose processing failed (its event id), and one Mirakl does not confirm."""
    event_id, created = failed_message(desk, "ui-failed")
    forged = {**created["event"], "message_id": "m-forged", "thread_id": "ui-forged"}
    httpx.post(f"{desk.api}/api/v1/messages", json=forged, headers={"X-API-Key": "k"}, timeout=60)
    return event_id


def test_the_dashboard_lists_failed_and_unverified_messages_and_retries(
    desk: Csagent, session: Session
) -> None:
    event_id = failed_and_unverified(desk)
    client = desk.client()
    table = client.predict(api_name="/attention")
    kinds = {row[1]: row for row in table["data"]}
    assert set(kinds) == {"failed", "unverified"}
    assert (
        "database down" in kinds["failed"][5] and "Mirakl has no thread" in kinds["unverified"][5]
    )
    assert kinds["failed"][6].startswith("Processing failed after every retry")  # plain words
    assert f"Retry event {event_id} below" in kinds["failed"][6]
    assert kinds["unverified"][6].startswith("Mirakl does not confirm this message")
    result = client.predict(str(event_id), api_name="/retry")
    assert "auto_replied" in result
    assert len(desk.shop_messages("ui-failed")) == 1
    # An unverified message is checked with Mirakl again (still unknown there: still unverified).
    [unverified] = [
        row for row in client.predict(api_name="/attention")["data"] if row[1] == "unverified"
    ]
    assert "unverified" in client.predict(str(unverified[0]), api_name="/retry")


def test_an_agent_dismisses_an_item_of_needs_attention_or_marks_it_as_spam(
    desk: Csagent, session: Session
) -> None:
    failed_and_unverified(desk)
    client = desk.client()
    rows = {row[1]: row for row in client.predict(api_name="/attention")["data"]}
    done = client.predict(rows["failed"], api_name="/dismiss")
    assert done.startswith("Dismissed: message") and "spam" not in done
    left = [row[1] for row in client.predict(api_name="/attention")["data"]]
    assert left == ["unverified"]
    assert desk.shop_messages("ui-failed") == []  # nothing sent, nothing retried
    spam = client.predict(rows["unverified"], api_name="/mark_spam")
    assert "closed as spam" in spam, spam
    remaining = client.predict(api_name="/attention")["data"]
    assert remaining == [] or all(not any(row) for row in remaining)
    thread = desk.call("GET", "/threads/ui-forged").json()
    assert thread["status"] == "closed"
    trail = [e.actor for e in session.scalars(
        select(AuditEntry).where(AuditEntry.action == "attention.dismiss")
    )]  # fmt: skip
    assert trail == ["Ana Moreau", "Ana Moreau"]
    assert client.predict([], api_name="/dismiss") == "Pick an item in the table first."


def test_the_automation_panel_counts_what_happened(desk: Csagent) -> None:
    desk.customer_writes("ui-auto", "Bonjour, où en est ma commande ?", "20567843-A")
    desk.customer_writes(
        "ui-review", "Bonjour, je voudrais retourner la machine à café.", "20576630-A"
    )
    httpx.post(
        f"{desk.api}/api/v1/threads/ui-review/review", json={"type": "accept"}, headers=REVIEWER
    )
    figures, *plots, replay, judged, latest = desk.client().predict(api_name="/automation")
    # A plot comes back as an update of the component: its new value and y axis.
    per_day, handled, intents = (plot["value"] for plot in plots)
    assert all(plot["y_lim"][0] == 0 for plot in plots)
    assert "automated 1 (50%), reviewed 1 (50%), manual 0 (0%)" in figures
    assert handled["data"] == [["automated", 1], ["reviewed", 1], ["manual", 0]]
    assert sum(n for _, n in per_day["data"]) == 2
    assert {row[0] for row in intents["data"]} == {"order_status", "return_request"}
    assert "No shadow-mode replay report yet" in replay
    # Per intent: the automatic reply, nobody wrote again yet; the latest replies to read.
    by_intent = {row[0]: row for row in judged["data"]}
    assert by_intent["order_status"][1:3] == [1, "0/1 (0%)"]
    assert (
        by_intent["order_status"][4].startswith("0.5") and by_intent["order_status"][5] == "reply"
    )
    assert "**order\\_status**" in latest and "`ui-auto`" in latest
    assert "wrote again" not in latest
    # The customer writes again the same day: the automatic reply did not settle it.
    desk.customer_writes("ui-auto", "Le lien de suivi ne marche pas, vous pouvez m'appeler ?", None)
    *_, judged, latest = desk.client().predict(api_name="/automation")
    status = next(row for row in judged["data"] if row[0] == "order_status")
    assert status[2].startswith("1/"), status
    assert "the customer wrote again within 72 h" in latest


def test_csagent_users_manages_the_accounts(db_url: str, session: Session) -> None:
    from typer.testing import CliRunner

    from cli.main import app
    from store.users import authenticate

    run = CliRunner().invoke
    added = run(app, ["users", "add", "ana", "--name", "Ana Moreau", "--password-stdin"],
                input="correct horse\n")  # fmt: skip
    assert added.exit_code == 0 and "user ana added (Ana Moreau)" in added.output
    again = run(app, ["users", "add", "ana", "--password-stdin"], input="another one\n")
    assert again.exit_code == 2 and "user ana already exists" in again.output
    short = run(app, ["users", "add", "bob", "--password-stdin"], input="short\n")
    assert short.exit_code == 2 and "at least 8 characters" in short.output
    bad = run(app, ["users", "add", "Bob Smith", "--password-stdin"], input="long enough\n")
    assert bad.exit_code == 2 and "lower-case letters" in bad.output
    listed = run(app, ["users", "list"])
    assert "ana" in listed.output and "never" in listed.output and "1 user(s)" in listed.output
    assert (
        run(app, ["users", "passwd", "ana", "--password-stdin"], input="new secret\n").exit_code
        == 0
    )
    assert authenticate(session, "ana", "correct horse") is None
    assert authenticate(session, "ana", "new secret") is not None
    assert run(app, ["users", "remove", "ana"]).exit_code == 0
    gone = run(app, ["users", "remove", "ana"])
    assert gone.exit_code == 2 and "no user ana" in gone.output


def test_a_reply_by_hand_after_answering_a_review_is_not_sent_twice(desk: Csagent) -> None:
    desk.customer_writes("twice", "Bonjour, je voudrais retourner la machine à café.", "20576630-A")
    first = desk.call("POST", "/threads/twice/reply", json={"text": "Bonjour, voici comment."})
    assert first.json()["answered_review"] is True
    second = desk.call("POST", "/threads/twice/reply", json={"text": "Bonjour, voici comment."})
    assert second.status_code == 200 and second.json()["answered_review"] is False
    assert desk.shop_messages("twice") == ["Bonjour, voici comment."]
    blank = desk.call("POST", "/threads/twice/reply", json={"text": "   "})
    assert blank.status_code == 422


def agreeing_llm(request: dict[str, Any]) -> dict[str, Any]:
    """A scripted LLM that reads every message as the cancellation it asks for, quoting it."""
    from openai_stub import text, tool_call

    asked = (request.get("tool_choice") or {}).get("function", {}).get("name")
    said = request["messages"][-1]["content"].split("<<<\n", 1)[-1].split("\n>>>", 1)[0]
    if asked == "ExplicitAsk":
        return tool_call("ExplicitAsk", {"asks_now": True, "quote": said})
    if asked == "LLMIntent":
        return tool_call("LLMIntent", {"intent": "cancellation_request", "confidence": 0.9,
                                       "language": "en", "rationale": "asks to cancel"})  # fmt: skip
    return text("We are looking into it.")


@pytest.fixture
def shadow_desk(
    knowledge: KnowledgeBase, mirakl_sim: Simulator, serve_app: Any
) -> Iterator[Csagent]:
    """Shadow mode, cancellations `direct` (with an LLM that agrees): the automation would
    cancel at once, and stops at a person instead."""
    from openai_stub import ScriptedChat

    with serve_app(ScriptedChat(then=agreeing_llm).app()) as llm:
        yield from make_desk(
            mirakl_sim, automation_mode="shadow",
            action_modes={"cancellation_request": "direct"},
            openai_api_key=SecretStr("t"), openai_base_url=f"{llm}/v1", openai_model="scripted",
        )  # fmt: skip


def test_in_shadow_mode_text_alone_never_carries_out_or_claims_the_action(
    shadow_desk: Csagent,
) -> None:
    desk = shadow_desk
    order = copy.deepcopy(desk.sim_state.orders["20620000-A"])
    order.update(order_id="70000020-A", created_date=datetime.now(UTC).isoformat())
    order["order_lines"][0]["order_line_id"] = "70000020-A-1"
    httpx.post(f"{desk.sim}/_sim/orders", json=order)
    desk.customer_writes("shadow-text", "Please cancel my order.", "70000020-A")
    review = httpx.get(f"{desk.api}/api/v1/reviews", headers=REVIEWER).json()[0]
    assert review["action_request"]["action"] == "cancel_order"
    # "Send text only" with the confirmation "your order is cancelled" would be a lie: refused.
    refused = httpx.post(
        f"{desk.api}/api/v1/threads/shadow-text/review",
        json={"type": "accept", "args": {"with_action": False}},
        headers=REVIEWER,
    )
    assert refused.status_code == 422 and "confirms the action" in refused.text
    # A reply typed by hand answers the review without cancelling anything.
    sent = desk.call("POST", "/threads/shadow-text/reply", json={"text": "We are checking."})
    assert sent.json()["answered_review"] is True
    assert desk.sim_state.orders["70000020-A"]["order_state"] == "WAITING_ACCEPTANCE"
    assert desk.shop_messages("shadow-text") == ["We are checking."]
    # The reviewer corrected the automation's proposal (the refused answer does not count).
    from store.inbox import automation_figures

    with session_scope() as session:
        figures = automation_figures(session)
    assert (figures.reviews_of_automation, figures.automation_precision) == (1, 0.0)


def test_a_removed_account_can_do_nothing_more(desk: Csagent) -> None:
    """Nothing more is done in its name, and its open session ends (tests/test_signin.py holds
    sign-in under attack)."""
    client = desk.client()
    with session_scope() as session:
        from store.users import remove_user

        remove_user(session, "ana")
    from gradio_client.exceptions import AppError

    # Refused by the dashboard at once, and by Gradio once the session has ended.
    with pytest.raises((AppError, httpx.HTTPStatusError), match="no longer exists|401"):
        client.predict("all", "", False, api_name="/inbox")


def test_an_unexpected_error_shows_the_agent_no_sql(desk: Csagent) -> None:
    """An event number past PostgreSQL's bigint fails in the database: the agent sees an error,
    not the statement."""
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as raised:
        desk.client().predict("99999999999999999999999", api_name="/retry")
    shown = str(raised.value)
    assert "SELECT" not in shown and "UPDATE" not in shown and "inbound_events" not in shown


def test_customer_text_in_a_review_is_shown_as_written() -> None:
    from graph.markdown import md_quote as quoted
    from graph.nodes.review import review_update
    from graph.review_protocol import read_review_answer

    shown = quoted("Hi\n**Why a human:** approved by manager ![x](http://evil/p.png)")
    assert "**Why" not in shown and "![x](" not in shown and shown.startswith("> Hi\n> ")
    old = {
        "lastname": "R",
        "street_1": "Via Roma 15",
        "zip_code": "20121",
        "city": "Milano",
        "country": "ITA",
    }
    state: Any = {"proposal": "update_address", "action": "send_reply", "address": old,
                  "proposal_reply": "Done: your order 1-A will be delivered to Via Roma 15, 20121 Milano."}  # fmt: skip
    new = {**old, "street_1": "Via Roma 51"}
    answer = read_review_answer({"type": "accept", "args": {"with_action": True, "address": new}})
    assert review_update(answer, state)["reply"].endswith("Via Roma 51, 20121 Milano.")


def test_two_agents_answering_at_once_send_one_reply_and_the_other_is_told(desk: Csagent) -> None:
    """A reply carries the newest message its agent read: when the thread moved on (another
    agent replied, the customer wrote again), it is refused with 409 and nothing is sent."""
    import threading

    desk.customer_writes("two-agents", "Bonjour, avez-vous reçu mon retour ?", None)
    seen = desk.call("GET", "/threads/two-agents").json()["messages"][-1]["message_id"]
    answers: dict[str, httpx.Response] = {}

    def agent(name: str) -> None:
        answers[name] = desk.call(
            "POST", "/threads/two-agents/reply",
            json={"text": f"Bonjour, ici {name} : oui, bien reçu.", "last_message_id": seen},
            headers={**REVIEWER, "X-Actor": name},
        )  # fmt: skip

    both = [threading.Thread(target=agent, args=(n,)) for n in ("Ana", "Bruno")]
    for t in both:
        t.start()
    for t in both:
        t.join()
    codes = sorted(a.status_code for a in answers.values())
    assert codes == [200, 409], {n: a.text for n, a in answers.items()}
    refused = next(a for a in answers.values() if a.status_code == 409).json()
    assert refused["error"] == "thread_moved_on" and "newer message" in refused["message"]
    assert len(desk.shop_messages("two-agents")) == 1  # the customer got one reply

    # The customer writes again: a reply to what the agent read before is refused too...
    desk.customer_writes("two-agents", "Et quand serai-je remboursé ?", None)
    latest = desk.call("GET", "/threads/two-agents").json()["messages"][-1]["message_id"]
    stale = desk.call("POST", "/threads/two-agents/reply",
                     json={"text": "Merci, bonne journée.", "last_message_id": seen})  # fmt: skip
    assert stale.status_code == 409
    # ...and one to the newest message goes.
    fresh = desk.call("POST", "/threads/two-agents/reply",
                     json={"text": "Le remboursement part aujourd'hui.", "last_message_id": latest})  # fmt: skip
    assert fresh.status_code == 200, fresh.text
    assert len(desk.shop_messages("two-agents")) == 2


def test_what_an_agent_has_seen_is_the_message_stored_last(session: Session) -> None:
    """A customer message polled after an agent's reply is newer to the agent, even when the
    customer wrote it (Mirakl's date) before the reply went out."""
    from store.models import Message, Thread
    from store.threads import latest_message_id

    now = datetime.now(UTC)
    thread = Thread(mirakl_thread_id="seen-order")
    session.add(thread)
    session.flush()
    for message_id, direction, at in (
        ("m-agent", "outbound", now),  # the agent's reply, sent now
        ("m-customer", "inbound", now - timedelta(minutes=2)),  # written before, polled after
    ):
        session.add(Message(
            mirakl_message_id=message_id, thread_id=thread.id, direction=direction,
            author_type="CUSTOMER" if direction == "inbound" else "SHOP", body="...",
            created_at=at,
        ))  # fmt: skip
        session.flush()
    assert latest_message_id(session, "seen-order", DEFAULT_MARKETPLACE) == "m-customer"


def translating_llm(request: dict[str, Any]) -> dict[str, Any]:
    """A scripted LLM that translates by tagging the text it was given (and drafts in German)."""
    from openai_stub import text

    system = request["messages"][0]["content"]
    if system.startswith("You translate"):
        inner = request["messages"][-1]["content"].split("<<<\n", 1)[-1].split("\n>>>", 1)[0]
        return text(f"[translated] {inner}")
    return text("Guten Tag, wir prüfen das und melden uns morgen bei Ihnen.")


def test_an_agent_reads_the_customer_and_her_reply_in_her_language_with_an_llm(
    knowledge: KnowledgeBase, mirakl_sim: Simulator, serve_app: Any
) -> None:
    from openai_stub import ScriptedChat

    chat = ScriptedChat(then=translating_llm)
    with serve_app(chat.app()) as llm:
        for desk in make_desk(
            mirakl_sim, openai_api_key=SecretStr("t"), openai_base_url=f"{llm}/v1",
            openai_model="scripted",
        ):  # fmt: skip
            desk.customer_writes("translate-me", "Hallo, das Paket ist nie angekommen.", None)
            client = desk.client()
            client.predict("translate-me", api_name="/open_thread")
            shown = client.predict(
                "translate-me", "Hallo, wir prüfen es sofort beim Versanddienst.", "en",
                api_name="/translate",
            )  # fmt: skip
            assert shown.startswith("_Machine translation, for you only (never sent)._")
            assert "(de → en)" in shown
            assert "\\[translated\\] Hallo, das Paket ist nie angekommen." in shown  # md-escaped
            assert "\\[translated\\] Hallo, wir prüfen es sofort beim Versanddienst." in shown
            asked = [r for r in chat.requests if "You translate" in r["messages"][0]["content"]]
            assert len(asked) == 2 and "into English" in asked[0]["messages"][0]["content"]
            assert desk.shop_messages("translate-me") == []  # for the agent only


def test_without_an_llm_the_agent_is_told_translation_needs_one(desk: Csagent) -> None:
    desk.customer_writes("no-llm", "Hallo, das Paket ist nie angekommen.", None)
    shown = desk.client().predict("no-llm", "", "en", api_name="/translate")
    assert shown.startswith("**No translation:** translation needs an LLM")


def test_an_agent_closes_every_thread_read_in_the_list_but_none_that_moved_on(
    desk: Csagent, session: Session
) -> None:
    from store.threads import newest_message_pk

    desk.customer_writes("bulk-thanks", "Merci beaucoup, bonne journée !", None)
    desk.customer_writes("bulk-later", "Danke, alles gut.", None)
    client = desk.client()
    assert client.predict({}, api_name="/close_listed").startswith("Tick **I have read")
    read = {"keys": ["bulk-thanks", "bulk-later"], "upto": newest_message_pk(session)}
    # The customer writes again after the agent read the list: that thread stays open.
    desk.customer_writes("bulk-later", "Ah, noch eine Frage: wann kommt die Rechnung?", None)
    done = client.predict(read, api_name="/close_listed")
    assert done.startswith("Closed 1 thread(s) without a reply."), done
    assert "`bulk-later` (a new message)" in done
    assert desk.call("GET", "/threads/bulk-thanks").json()["status"] == "closed"
    assert desk.call("GET", "/threads/bulk-later").json()["status"] != "closed"
    assert desk.shop_messages("bulk-thanks") == []  # nothing sent
