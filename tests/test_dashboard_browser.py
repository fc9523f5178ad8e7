"""The dashboard in a real browser: Playwright driving Debian's Chromium (installed by this test's
setup with apt when missing; Playwright never downloads a browser). Screenshots are written to
test-artifacts/screenshots/ (docs/screenshots/ holds the current ones shown in README)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import Csagent, Simulator
from test_dashboard import (
    OVERDUE_THREAD,
    failed_message,
    import_sample,
    make_desk,
    old_cancellable_order,
)

from knowledge.ingest import KnowledgeBase

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip


def chromium() -> str:
    """Debian's Chromium, installed with apt if it is missing (the package registry is reachable
    at install time; nothing is downloaded by Playwright)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.fail("Chromium is missing: install Debian's package (sudo apt-get install chromium)")
    subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], check=True, capture_output=True)
    found = shutil.which("chromium")
    assert found, "apt-get installed chromium but it is not on PATH"
    return found


@pytest.fixture
def browser_desk(knowledge: KnowledgeBase, mirakl_sim: Simulator) -> Iterator[Csagent]:
    yield from make_desk(mirakl_sim)


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = chromium()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Any:
    """One agent's browser window, at a laptop's 1440×900."""
    return browser.new_context(viewport={"width": 1440, "height": 900}).new_page()


def sign_in(page: Any, url: str, user: str, password: str, name: str, click: Any = None) -> None:
    """Signed in through the form (`click` clicks Login, for a test that counts clicks)."""
    page.goto(f"{url}/ui/")
    page.get_by_label("username").fill(user)
    page.get_by_label("password").fill(password)
    (click or (lambda locator: locator.click()))(page.get_by_role("button", name="Login"))
    page.get_by_text(f"signed in as {name}").wait_for(timeout=30_000)


@pytest.mark.slow
def test_an_agent_works_the_inbox_reviews_and_failures_in_a_browser(
    browser_desk: Csagent, page: Any
) -> None:
    desk = browser_desk
    import_sample()
    # A cancellation the policy refused (placed three days ago), waiting for a person.
    order_id = old_cancellable_order(desk, "70000009-A")
    desk.customer_writes("browser-cancel", "Please cancel my order, I ordered twice.", order_id)
    # A message whose processing failed earlier (stored, with its error).
    event_id, _ = failed_message(desk, "browser-failed")

    sign_in(page, desk.api, "ana", "correct horse", "Ana Moreau")

    # The inbox: overdue imported threads first; open the first one.
    first_row = page.locator("#inbox-table").get_by_text(OVERDUE_THREAD).filter(visible=True)
    first_row.wait_for(timeout=30_000)
    page.screenshot(path=ARTIFACTS / "inbox.png", full_page=True)
    first_row.click()  # opens it beside the inbox
    page.locator("#thread-header").get_by_text("Daniel").first.wait_for(timeout=30_000)

    # Generate a draft, send it, see it on Mirakl.
    page.locator("#generate-draft").click()
    page.locator("#draft-sources").get_by_text("Sources").wait_for(timeout=60_000)
    draft = page.locator("#reply-box textarea").input_value()
    assert draft.startswith("Hola")
    page.screenshot(path=ARTIFACTS / "thread-draft.png", full_page=True)
    page.locator("#send-reply").click()
    page.locator("#reply-status").get_by_text("Reply sent on Mirakl").wait_for(timeout=60_000)
    assert desk.shop_messages(OVERDUE_THREAD)[-1] == draft

    # The pending cancellation, in its thread: what it does and, quoted, exactly what Approve
    # sends with it; the agent's own reply box is left alone. Approved: cancelled on Mirakl.
    page.get_by_role("tab", name="Reviews").click()
    page.locator("#reviews-refresh").click()
    description = page.locator("#review-description")
    description.get_by_text("Proposed action, refused by policy").wait_for(timeout=30_000)
    page.screenshot(path=ARTIFACTS / "review.png", full_page=True)
    page.get_by_role("tab", name="Inbox").click()
    thread_box = page.locator("#thread-id textarea, #thread-id input").first
    thread_box.fill("browser-cancel")
    thread_box.press("Enter")
    review = page.locator("#thread-review")
    review.get_by_text("A review is pending on this thread").wait_for(timeout=30_000)
    assert "will cancel the whole order on Mirakl, then send exactly" in review.inner_text()
    assert page.locator("#reply-box textarea").input_value() == ""
    page.screenshot(path=ARTIFACTS / "review-in-thread.png", full_page=True)
    page.locator("#thread-approve").click()
    page.locator("#reply-status").get_by_text("order_cancelled").wait_for(timeout=60_000)
    assert desk.sim_state.orders[order_id]["order_state"] == "CANCELED"
    sent = desk.shop_messages("browser-cancel")[-1]
    assert "is cancelled" in sent
    quoted = " ".join(review.inner_text().split())
    assert " ".join(sent.split()) in quoted  # what was quoted is what was sent
    review.wait_for(state="hidden", timeout=30_000)  # answered: gone from the thread

    # Retry the failed message.
    page.get_by_role("tab", name="Needs attention").click()
    page.locator("#attention-refresh").click()
    page.locator("#attention-table").get_by_text("database down").filter(
        visible=True
    ).first.wait_for(timeout=30_000)
    page.screenshot(path=ARTIFACTS / "needs-attention.png", full_page=True)
    # A click on the item, then "Open its thread": the thread, in the work pane.
    page.locator("#attention-table").get_by_text("database down").filter(visible=True).first.click()
    page.locator("#attention-open").click()
    page.locator("#thread-header").get_by_text("browser-failed").first.wait_for(timeout=30_000)
    page.get_by_role("tab", name="Needs attention").click()
    page.locator("#retry-event textarea, #retry-event input").first.fill(str(event_id))
    page.locator("#retry-button").click()
    page.locator("#retry-result").get_by_text("auto_replied").wait_for(timeout=60_000)
    assert len(desk.shop_messages("browser-failed")) == 1

    # What automation did.
    page.get_by_role("tab", name="Automation").click()
    page.locator("#automation-refresh").click()
    page.locator("#automation-figures").get_by_text("Replies sent through csagent").wait_for(
        timeout=30_000
    )
    page.wait_for_timeout(1000)  # the plots draw
    page.screenshot(path=ARTIFACTS / "automation.png", full_page=True)


@pytest.mark.slow
def test_a_reply_typed_for_one_customer_never_follows_the_agent_to_another(
    browser_desk: Csagent, page: Any
) -> None:
    desk = browser_desk
    import_sample()
    desk.customer_writes("browser-other", "Bonjour, une question sur ma commande.", None)
    sign_in(page, desk.api, "ana", "correct horse", "Ana Moreau")
    thread_box = page.locator("#thread-id textarea, #thread-id input").first
    reply = page.locator("#reply-box textarea")

    def open_thread(ref: str, expect: str) -> None:
        thread_box.fill(ref)
        thread_box.press("Enter")
        page.locator("#thread-header").get_by_text(expect).first.wait_for(timeout=30_000)

    open_thread(OVERDUE_THREAD, "Daniel")
    page.locator("#generate-draft").click()
    page.locator("#draft-sources").get_by_text("Sources").wait_for(timeout=60_000)
    reply.fill("Hola Daniel, half-written answer for you only")

    # Another customer's thread: not the text typed for Daniel (the box holds this thread's
    # pending draft, or nothing), no sources of the previous draft.
    open_thread("browser-other", "browser-other")
    page.locator("#thread-review").get_by_text("A review is pending").wait_for(timeout=30_000)
    page.wait_for_function(
        "() => !document.querySelector('#reply-box textarea').value.includes('half-written')",
        timeout=30_000,
    )
    assert "Sources" not in page.locator("#draft-sources").inner_text()

    # A thread id changed without opening it: a text typed for this thread is not sent there.
    reply.fill("Bonjour, réponse pour ce client")
    thread_box.fill(OVERDUE_THREAD)  # typed, not opened (no Enter)
    page.locator("#send-reply").click()
    page.locator("#reply-status").get_by_text("Not sent").wait_for(timeout=30_000)
    assert desk.shop_messages(OVERDUE_THREAD) == [] or all(
        "réponse pour ce client" not in m for m in desk.shop_messages(OVERDUE_THREAD)
    )

    # Back to the first customer: their half-written reply is back.
    thread_box.press("Enter")
    page.wait_for_function(
        "() => document.querySelector('#reply-box textarea').value.includes('half-written')",
        timeout=30_000,
    )
    page.screenshot(path=ARTIFACTS / "thread-switch.png", full_page=True)

    # Kept on the server: after a reload, the other customer's unsent reply is back with them.
    page.reload()
    page.get_by_text("signed in as Ana Moreau").wait_for(timeout=30_000)
    open_thread("browser-other", "browser-other")
    page.wait_for_function(
        "() => document.querySelector('#reply-box textarea').value === 'Bonjour, réponse pour ce client'",
        timeout=30_000,
    )


@pytest.mark.slow
def test_a_new_customer_message_reaches_a_signed_in_agent_without_a_click(
    browser_desk: Csagent, page: Any
) -> None:
    """Within 15 s (the inbox refreshes itself every CSAGENT_DASHBOARD_REFRESH_S, 10 s), with the
    number of threads waiting for a person in the browser tab's title."""
    desk = browser_desk
    desk.customer_writes("browser-before", "Bonjour, une question sur ma commande.", None)
    sign_in(page, desk.api, "ana", "correct horse", "Ana Moreau")
    table = page.locator("#inbox-table")
    table.get_by_text("browser-before").filter(visible=True).first.wait_for(timeout=30_000)
    assert "browser-live" not in table.inner_text()

    desk.customer_writes(
        "browser-live", "Hallo, ich warte seit zwei Wochen, wo ist mein Paket?", None
    )
    # No click from here on.
    table.get_by_text("browser-live").filter(visible=True).first.wait_for(timeout=15_000)
    assert "● new" in table.inner_text()  # the customer wrote since anyone opened it
    page.wait_for_function("() => /^\\(\\d+\\) csagent$/.test(document.title)", timeout=15_000)
    page.screenshot(path=ARTIFACTS / "inbox-live.png", full_page=True)


@pytest.fixture
def team_desk(knowledge: KnowledgeBase, mirakl_sim: Simulator) -> Iterator[Csagent]:
    """The dashboard refreshing every 2 s (the presence line and the inbox), with a second
    agent."""
    from store.db import session_scope
    from store.users import add_user

    with session_scope() as session:
        add_user(session, "ben", "battery staple", "Ben Ortiz")
    yield from make_desk(mirakl_sim, dashboard_refresh_s=2)


@pytest.mark.slow
def test_two_agents_work_the_same_inbox_without_answering_a_customer_twice(
    team_desk: Csagent, browser: Any
) -> None:
    desk = team_desk
    import_sample()
    windows = []
    for _ in range(2):
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        windows.append(context.new_page())
    ana, ben = windows
    before = desk.shop_messages(OVERDUE_THREAD)
    clicks = 0

    def click(locator: Any) -> None:
        nonlocal clicks
        clicks += 1
        locator.click()

    # Ana: sign in, open the most urgent thread (the inbox's first row), draft, send.
    sign_in(ana, desk.api, "ana", "correct horse", "Ana Moreau", click=click)
    _, listed = desk.client().predict("all", "", False, api_name="/inbox")
    assert listed["data"][0][-1] == OVERDUE_THREAD  # overdue longest: the inbox's first row
    first_row = ana.locator('#inbox-table [role="row"][data-index="0"]')
    first_row.get_by_text(OVERDUE_THREAD).wait_for(timeout=30_000)
    click(first_row.get_by_text("Daniel"))  # opens beside the inbox: no tab to change
    ana.locator("#thread-header").get_by_text("Daniel").first.wait_for(timeout=30_000)

    # Ben opens the same thread meanwhile.
    sign_in(ben, desk.api, "ben", "battery staple", "Ben Ortiz")
    ben_box = ben.locator("#thread-id textarea, #thread-id input").first
    ben_box.fill(OVERDUE_THREAD)
    ben_box.press("Enter")
    ben.locator("#thread-header").get_by_text("Daniel").first.wait_for(timeout=30_000)
    ana.locator("#thread-presence").get_by_text("Ben Ortiz is viewing").wait_for(timeout=15_000)

    click(ana.locator("#generate-draft"))
    ana.locator("#draft-sources").get_by_text("Sources").wait_for(timeout=60_000)
    draft = ana.locator("#reply-box textarea").input_value()
    assert draft.startswith("Hola")
    # Ben is told, without a click, that Ana is writing to this customer.
    ben.locator("#thread-presence").get_by_text("Ana Moreau is writing a reply").wait_for(
        timeout=15_000
    )
    ana.evaluate("window.scrollTo(0, 0)")
    ana.screenshot(path=ARTIFACTS / "workspace.png")
    ben.locator("#reply-box textarea").fill("Hola Daniel, lo siento mucho, le escribo yo.")

    click(ana.locator("#send-reply"))
    ana.locator("#reply-status").get_by_text("Reply sent on Mirakl").wait_for(timeout=60_000)
    assert clicks == 4  # sign in, the thread, Generate draft, Send

    # Ben sends too, on the thread as he saw it before Ana's reply: refused, his text kept.
    ben.locator("#send-reply").click()
    ben.locator("#reply-status").get_by_text("the thread moved on").wait_for(timeout=60_000)
    assert "le escribo yo" in ben.locator("#reply-box textarea").input_value()
    assert desk.shop_messages(OVERDUE_THREAD) == [*before, draft]  # one reply, Ana's
    ben.screenshot(path=ARTIFACTS / "two-agents.png", full_page=True)

    # Ben takes the thread and leaves a note; Ana sees both on the thread and in her inbox.
    ben.locator("#thread-open").click()
    ben.locator("#take-thread").click()
    ben.locator("#reply-status").get_by_text("Assigned to you").wait_for(timeout=30_000)
    ben.locator("#note-box textarea").fill("I'll call the carrier about the damage.")
    ben.locator("#add-note").click()
    ben.locator("#reply-status").get_by_text("Note added").wait_for(timeout=30_000)
    ana.locator("#thread-open").click()
    header = ana.locator("#thread-header")
    header.get_by_text("I'll call the carrier about the damage.").wait_for(timeout=30_000)
    assert "assigned to Ben Ortiz" in header.inner_text()
    search = ana.locator("#inbox-search textarea")
    search.fill("Daniel")
    search.press("Enter")
    first_row.get_by_text("Ben Ortiz").wait_for(timeout=15_000)  # in Ana's inbox too


# The browser's notifications, recorded (Chromium headless shows none), and a tab the agent has
# left (document.hidden), as a page script sees them.
RECORD_NOTIFICATIONS = """
window.shown = [];
window.Notification = class {
  constructor(title, options) { window.shown.push(options.body); }
  static get permission() { return 'granted'; }
  static requestPermission() { return Promise.resolve('granted'); }
};
Object.defineProperty(document, 'hidden', {get: () => window.elsewhere === true});
"""


@pytest.mark.slow
def test_an_agent_elsewhere_is_notified_and_works_from_the_keyboard(
    team_desk: Csagent, browser: Any
) -> None:
    desk = team_desk
    desk.customer_writes("keys-first", "Bonjour, une question sur ma commande.", None)
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.add_init_script(RECORD_NOTIFICATIONS)
    page = context.new_page()
    sign_in(page, desk.api, "ana", "correct horse", "Ana Moreau")
    page.locator("#inbox-table").get_by_text("keys-first").filter(visible=True).first.wait_for(
        timeout=30_000
    )
    page.wait_for_function("() => window.csagentWaiting === 1", timeout=15_000)

    # The agent is in another tab: a customer writes, the browser tells her.
    page.evaluate("window.elsewhere = true")
    desk.customer_writes("keys-second", "Hallo, wo bleibt mein Paket?", None)
    page.wait_for_function("() => window.shown.length === 1", timeout=15_000)
    assert page.evaluate("window.shown[0]") == "1 new thread(s) waiting for a reply (2 in all)"
    page.evaluate("window.elsewhere = false")

    # Back: "/" goes to the search, Alt+D drafts for the open thread, Ctrl+Enter sends.
    page.locator("body").click()
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.closest('#inbox-search') !== null")
    box = page.locator("#thread-id textarea, #thread-id input").first
    box.fill("keys-second")
    box.press("Enter")
    page.locator("#thread-header").get_by_text("keys-second").first.wait_for(timeout=30_000)
    page.locator("#thread-review").get_by_text("A review is pending").wait_for(timeout=30_000)
    page.keyboard.press("Alt+d")
    page.locator("#draft-sources").get_by_text("Sources").wait_for(timeout=60_000)
    reply = page.locator("#reply-box textarea")
    draft = reply.input_value()
    assert draft
    reply.focus()
    page.keyboard.press("Control+Enter")
    sent = re.compile("Reply (sent on Mirakl|answered the pending review)")
    page.locator("#reply-status").get_by_text(sent).wait_for(timeout=60_000)
    assert desk.shop_messages("keys-second") == [draft]
    assert page.evaluate("window.shown.length") == 1  # the agent was here: no notification

    # The threads a search found, read and closed at once (nothing sent).
    search = page.locator("#inbox-search textarea")
    search.fill("keys-first")
    search.press("Enter")
    page.locator("#inbox-counts").get_by_text("search keys-first").wait_for(timeout=15_000)
    page.locator("#inbox-counts").get_by_text("1 thread(s) shown").wait_for(timeout=15_000)
    page.locator("#bulk-read input").check()
    page.locator("#bulk-close").click()
    page.locator("#bulk-result").get_by_text("Closed 1 thread(s) without a reply.").wait_for(
        timeout=30_000
    )
    assert desk.shop_messages("keys-first") == []


@pytest.mark.slow
def test_the_pictures_a_customer_attached_are_shown_with_the_thread(
    browser_desk: Csagent, page: Any
) -> None:
    import base64
    from io import BytesIO

    import httpx
    from PIL import Image

    desk = browser_desk
    png = BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(png, format="PNG")
    event = httpx.post(
        f"{desk.sim}/_sim/threads/browser-photos/customer-message",
        json={"body": "Das Paket kam beschädigt an, Fotos anbei.", "attachments": [
            {"name": "karton.png", "type": "image/png",
             "content_base64": base64.b64encode(png.getvalue()).decode()},
            {"name": "rechnung.pdf", "type": "application/pdf", "size": 120_000},
        ]},
    ).json()["event"]  # fmt: skip
    answer = httpx.post(
        f"{desk.api}/api/v1/messages", json=event, headers={"X-API-Key": "k"}, timeout=300
    )
    assert answer.status_code == 200, answer.text
    listed = desk.call("GET", "/threads/browser-photos").json()["messages"][-1]["attachments"]
    assert [a["name"] for a in listed] == ["karton.png", "rechnung.pdf"]  # the API lists them too
    sign_in(page, desk.api, "ana", "correct horse", "Ana Moreau")
    box = page.locator("#thread-id textarea, #thread-id input").first
    box.fill("browser-photos")
    box.press("Enter")
    messages = page.locator("#thread-messages")
    messages.get_by_text("karton.png").wait_for(timeout=30_000)
    assert "rechnung.pdf (120 KB)" in messages.inner_text()
    picture = page.locator("#thread-pictures img").first
    picture.wait_for(timeout=30_000)  # downloaded from Mirakl (M13) and shown
    assert page.locator("#thread-pictures img").count() == 1  # the PDF is listed, not shown
    page.screenshot(path=ARTIFACTS / "thread-pictures.png", full_page=True)
