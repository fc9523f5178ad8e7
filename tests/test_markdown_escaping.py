"""Fields from outside (Mirakl's order state, carrier, tracking URL; an unverified reason) are
shown as written in the dashboard's order panel and in a review: no image is loaded, no link
or emphasis of theirs is rendered. Customer text was escaped already; Mirakl's fields were not."""

from __future__ import annotations

from typing import Any

import markdown_it

from graph.markdown import md_link, md_quote, md_text
from graph.nodes.review import review_request
from ui.formatting import order_markdown

EVIL_IMAGE = "![x](https://evil.example/p.png)"
HOSTILE_ORDER: dict[str, Any] = {
    "order_id": "1-A", "source": "mirakl", "fetched_at": None, "created": None,
    "state": f"SHIPPED {EVIL_IMAGE}", "total_price": "10", "currency": "<b>EUR</b>",
    "shipping_price": "0",
    "lines": [{"qty": 1, "product": "Kettle", "price": "10", "state": "**urgent**"}],
    "shipment": {
        "carrier": f"[Track here](https://evil.example/phish) {EVIL_IMAGE}",
        "status": "SHIPPED", "tracking_number": "XY123",
        "tracking_url": "https://carrier.example/t?id=1)![i](https://evil.example/i.png",
        "address": {"street_1": "# 1 Rue A", "city": "Paris"},
    },
}  # fmt: skip


def rendered(markdown: str) -> str:
    return markdown_it.MarkdownIt().render(markdown)


def test_the_order_panel_renders_no_image_link_or_html_from_mirakl() -> None:
    html = rendered(order_markdown(HOSTILE_ORDER))
    assert "<img" not in html
    assert 'href="https://evil.example' not in html and "<b>EUR" not in html
    assert "<strong>urgent" not in html and "<h1>" not in html
    # The carrier's real tracking page stays one link, its URL quoted whole.
    assert html.count("<a ") == 1 and 'href="https://carrier.example/t?id=1%29' in html


def test_a_review_renders_no_image_or_link_from_the_order_or_the_reason() -> None:
    state: Any = {
        "thread_id": "t1", "intent": "order_status", "confidence": 0.9, "classifier": "local",
        "reason": "review", "text": "Where is it?", "problem": f"read failed {EVIL_IMAGE}",
        "order": {"order_id": "1-A", "state": EVIL_IMAGE, "shipment_status": "**x**",
                  "carrier": "[c](https://evil.example)", "tracking_number": "T1",
                  "fetched_at": "2026-12-01T10:00:00"},
    }  # fmt: skip
    description = review_request(state).description
    html = rendered(description)
    assert "<img" not in html and 'href="https://evil' not in html and "<strong>x" not in html


def test_the_helpers_keep_text_as_written() -> None:
    assert rendered(md_text("*a* [b](https://c) <i>d</i>")).strip() == (
        "<p>*a* [b](https://c) &lt;i&gt;d&lt;/i&gt;</p>"
    )
    assert "<h1>" not in rendered(md_quote("# title\n\n![x](y)"))
    assert md_link("T", "javascript:alert(1)") == "T" and md_link("T", "http://x") == "T"
