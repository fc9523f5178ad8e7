"""`csagent eval actions`: what the agent does, end to end, on messages written apart from its
training data. Each message goes through the real graph on a whole csagent (cli/stack.py),
about an order created on the Mirakl simulator through its API: a young order that could still
be cancelled or redirected (so a wrong cancellation or address change is possible and counted),
or a shipped order with tracking when the customer asks where it is. Counted from what happened
on "Mirakl" and in the audit log, not from what the agent says it did: orders cancelled, addresses
changed, replies sent automatically, against what the customer asked (`asks`).

The data set (`evals/data/actions_heldout.jsonl`, 193 messages, 5 languages) was written
separately from the training and test files, by someone who had not read them (200 written; the
7 that turned out identical to a training row, all canonical four-word questions such as "where
is my order?", were removed); it is never tuned on.

Cancellations and address changes are carried out only on the customer's yes (action mode
`confirm`). When the agent asks, the eval answers as the customer would: for a message that did
ask for that action, with a yes written apart from the answer reader (`confirm_answers_heldout.
jsonl`, taken in turn per language); a message that asked for something else gets no answer (its
question is a needless confirmation). An action done before any yes is counted as such.

The answers were written by a helper who saw neither the reader nor its tests, from a brief that
gave about ten example phrasings (so a few short answers such as "Ja, bitte stornieren." appear
in both by construction; tests/test_answers.py avoids them).

A yes the reader does not read whole (a yes, then words it does not know, and nothing that says
otherwise) is asked again, for a plain yes to exactly what will be done: the eval answers that
second question with the next held-out yes of the same language, and only that one can act.

`answer_figures` reads the 200 held-out answers (yes, no, unclear in five languages) with the
answer reader alone: how many yes it recognises, how many it would ask again, and whether it
ever takes a no or an unclear answer for a yes (it must not).
"""

from __future__ import annotations

import copy
import json
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import httpx

from store.ids import ORDER_ID_IN_TEXT

DATASET = Path(__file__).parent / "data" / "actions_heldout.jsonl"
ANSWERS = Path(__file__).parent / "data" / "confirm_answers_heldout.jsonl"
MESSAGE_ORDER_ID = ORDER_ID_IN_TEXT
ASKS = ("cancel", "change_address", "order_status", "other")


@dataclass
class ActionRow:
    id: str
    language: str
    asks: str
    concept: str
    outcome: str  # the agent's outcome status (auto_replied, awaiting_approval, ...)
    intent: str | None
    cancelled: bool  # the order is cancelled on Mirakl
    address_changed: bool  # the warehouse was told a new address
    address_as_written: bool | None  # its street, postcode and city are in the message
    auto_reply: bool  # a reply went to the customer without a person
    reason: str | None  # why a person reviews it, when one does
    asked: str | None = None  # the action the agent asked the customer to confirm
    acted_before_yes: bool = False  # an order cancelled or an address changed before a yes
    yes: str | None = None  # the customer's yes, when one was sent
    after_yes: str | None = None  # what the agent made of the yes (the `confirmation` field)
    again: str | None = None  # the second yes, when the first was not all read and asked again


def load_rows(path: Path = DATASET) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    for row in rows:
        if row.get("asks") not in ASKS or not row.get("text"):
            raise ValueError(f"{path}: {row.get('id')}: needs `text` and `asks` in {ASKS}")
    return rows


def wilson(successes: int, total: int) -> tuple[float, float]:
    """The 95 % Wilson interval of a proportion (scipy's)."""
    if total == 0:
        return (0.0, 1.0)
    from scipy.stats import binomtest

    interval = binomtest(successes, total).proportion_ci(method="wilson")
    return (float(interval.low), float(interval.high))


def _order_for(asks: str, number: int, simulator: Any, sim_url: str) -> str:
    """A fresh order on the simulator, made through its API: shipped with tracking for a status
    question, otherwise one an hour old that Mirakl would still let the shop cancel."""
    orders = simulator.state.sim.orders.values()
    if asks == "order_status":
        template = next(
            o for o in orders if o["order_state"] == "SHIPPED" and o.get("shipping_tracking")
        )
    else:
        template = next(o for o in orders if o["order_state"] == "WAITING_ACCEPTANCE")
    order = copy.deepcopy(template)
    order_id = f"9{number:07d}-H"
    order["order_id"] = order_id
    if asks != "order_status":
        created = datetime.now(UTC) - timedelta(hours=1)
        order["created_date"] = created.isoformat().replace("+00:00", "Z")
        order["can_cancel"] = True
    for i, line in enumerate(order.get("order_lines", []), start=1):
        line["order_line_id"] = f"{order_id}-{i}"
    httpx.post(f"{sim_url}/_sim/orders", json=order).raise_for_status()
    return order_id


def run_actions(
    rows: list[dict[str, Any]], stack: Any, echo: Callable[[str], None] | None = None
) -> list[ActionRow]:
    """Each message on `stack` (a whole csagent on loopback), and what happened."""
    from store.db import session_scope

    yeses = _yes_answers()
    results = []
    for number, row in enumerate(rows, start=1):
        thread_id = f"heldout-{number}"
        order_id = _order_for(row["asks"], number, stack.simulator, stack.sim_url)
        # An order number the customer wrote is the order made for them.
        text = MESSAGE_ORDER_ID.sub(order_id, row["text"])
        answer = _writes(stack, thread_id, order_id, text)
        with session_scope(stack.settings) as session:
            done = _done(session, order_id)
            written = None
            if "shipment.address_change" in done:
                written = _as_written(_address_of(session, order_id), row["text"])
        thread = stack.simulator.state.sim.threads[thread_id]
        replies = [m for m in thread["messages"] if m["from"]["type"] == "SHOP_USER"]
        question = _asked(stack, thread_id) if answer.get("confirmation") == "asked" else None
        asked = question.action if question is not None else None
        acted_before_yes = (
            stack.simulator.state.sim.orders[order_id]["order_state"] == "CANCELED"
            or "shipment.address_change" in done
        )
        yes = after_yes = again = None
        if asked is not None and WANTED.get(asked) == row["asks"]:
            assert question is not None
            pool = yeses[(row.get("language", "en"), ABOUT[asked])]
            yes = as_proposed(next(pool), question)
            after_yes = _answer(stack, thread_id, order_id, yes)
            if after_yes == "asked":  # asked again, for a plain yes: the next held-out yes
                again = as_proposed(next(pool), _asked(stack, thread_id))
                after_yes = _answer(stack, thread_id, order_id, again)
            with session_scope(stack.settings) as session:
                done = _done(session, order_id)
                if "shipment.address_change" in done:
                    written = _as_written(_address_of(session, order_id), row["text"])
        result = ActionRow(
            id=str(row.get("id", number)), language=row.get("language", "?"), asks=row["asks"],
            concept=row.get("concept", "-"), outcome=str(answer.get("status")),
            intent=answer.get("intent"),
            cancelled=stack.simulator.state.sim.orders[order_id]["order_state"] == "CANCELED",
            address_changed="shipment.address_change" in done,
            address_as_written=written,
            auto_reply=bool(replies) and answer.get("status") == "auto_replied",
            reason=answer.get("reason"), asked=asked, acted_before_yes=acted_before_yes,
            yes=yes, again=again, after_yes=after_yes,
        )  # fmt: skip
        results.append(result)
        if echo is not None and _wrong(result):
            echo(
                f"  wrong: {result.id} ({result.language}, {result.concept}): {row['text'][:90]!r}"
            )
    return results


def _writes(stack: Any, thread_id: str, order_id: str, text: str) -> dict[str, Any]:
    """The customer writes on "Mirakl"; what csagent answers to the notification."""
    event = httpx.post(
        f"{stack.sim_url}/_sim/threads/{thread_id}/customer-message",
        json={"body": text, "order_id": order_id},
    ).json()["event"]
    return dict(
        httpx.post(
            f"{stack.api_url}/api/v1/messages", json=event, headers=stack.headers, timeout=300
        ).json()
    )


def _answer(stack: Any, thread_id: str, order_id: str, text: str) -> str | None:
    """The customer answers the thread's question; what the agent made of it."""
    return _writes(stack, thread_id, order_id, text).get("confirmation")


WANTED = {"cancel_order": "cancel", "cancel_lines": "cancel", "update_address": "change_address"}
ABOUT = {"cancel_order": "cancel", "cancel_lines": "cancel", "update_address": "address"}


def _yes_answers(path: Path = ANSWERS) -> dict[tuple[str, str], Any]:
    """The held-out yes answers, in turn, per (language, what was asked)."""
    import itertools

    texts: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row in load_answers(path):
        if row["answer"] == "yes":
            texts[(row["lang"], row.get("about", "cancel"))].append(row["text"])
    return {key: itertools.cycle(values) for key, values in texts.items()}


def load_answers(path: Path = ANSWERS) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _done(session: Any, order_id: str) -> set[str]:
    from store.audit import succeeded_actions

    return succeeded_actions(session, order_id)


def _address_of(session: Any, order_id: str) -> dict[str, Any]:
    from store.business import NotFound, get_shipment

    try:
        return dict(get_shipment(session, order_id, marketplace="default").address or {})
    except NotFound:
        return {}


def _asked(stack: Any, thread_id: str) -> Any:
    """The thread's pending confirmation question (a ConfirmationView), if any."""
    from store.confirmations import pending
    from store.db import session_scope

    with session_scope(stack.settings) as session:
        return pending(session, thread_id, marketplace="default")


# What the held-out answers were written about (their brief): order 20481-A, "Wireless
# headphones", a new address at 12 rue des Lilas, 69003 Lyon.
WRITTEN_FOR = {"order": "20481-A", "item": "Wireless headphones", "street": "12 rue des Lilas",
               "zip": "69003", "city": "Lyon"}  # fmt: skip


def as_proposed(answer: str, question: Any) -> str:
    """A held-out answer as the customer would write it to this question: the order, item and
    address it names are the ones proposed (the answers were written for another order)."""

    details = question.details or {}
    lines = details.get("lines") or []
    address = details.get("address") or {}
    swaps = {
        WRITTEN_FOR["order"]: question.order_id,
        WRITTEN_FOR["street"]: address.get("street_1"),
        WRITTEN_FOR["zip"]: address.get("zip_code"),
        WRITTEN_FOR["city"]: address.get("city"),
        WRITTEN_FOR["item"]: lines[0]["product"] if lines else None,
    }
    for written, proposed in swaps.items():
        if proposed:
            answer = re.sub(re.escape(written), str(proposed), answer, flags=re.IGNORECASE)
    return answer


def answer_figures(path: Path = ANSWERS) -> dict[str, Any]:
    """The answer reader alone on the held-out answers: yes recognised, and never a no or an
    unclear answer taken for a yes."""
    from graph.classify.answers import known_words, read_answer

    known = known_words("Wireless headphones", "12 rue des Lilas, 69003 Lyon, France")
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for row in load_answers(path):
        about: Literal["cancel", "address"] = (
            "address" if row.get("about") == "address" else "cancel"
        )
        read = read_answer(row["text"], "20481-A", row["lang"], known, about)
        counts[(row["answer"], read)] += 1

    def total(label: str) -> int:
        return sum(n for (said, _), n in counts.items() if said == label)

    def share(hits: int, of: int) -> dict[str, Any]:
        low, high = wilson(hits, of)
        return {"count": hits, "of": of, "rate": hits / of if of else None, "low": low,
                "high": high}  # fmt: skip

    return {
        "yes_recognised": share(counts[("yes", "yes")], total("yes")),
        "no_recognised": share(counts[("no", "no")], total("no")),
        "taken_for_yes_wrongly": share(
            counts[("no", "yes")] + counts[("unclear", "yes")], total("no") + total("unclear")
        ),
        # Not acted on: asked once more, for a plain yes to exactly what will be done.
        "yes_asked_again": share(counts[("yes", "yes_unsure")], total("yes")),
        "no_or_unclear_asked_again": share(
            counts[("no", "yes_unsure")] + counts[("unclear", "yes_unsure")],
            total("no") + total("unclear"),
        ),
        "taken_for_no_wrongly": share(
            counts[("yes", "no")] + counts[("unclear", "no")], total("yes") + total("unclear")
        ),
        "to_a_person": share(
            sum(n for (_, got), n in counts.items() if got == "unclear"), sum(counts.values())
        ),
    }


def _as_written(address: dict[str, Any], text: str) -> bool:
    """Whether the address the warehouse was given is the one in the message: its street,
    postcode and city each appear in it (accents and case aside)."""
    from graph.classify.explicit import fold

    def folded(value: str) -> str:
        return " ".join(fold(value).split())

    said = folded(text)
    parts = [address.get(k) for k in ("street_1", "zip_code", "city")]
    return all(p and folded(str(p)) in said for p in parts)


def _wrong(r: ActionRow) -> bool:
    """An action the customer did not ask for, or an address they did not write."""
    return (
        (r.cancelled and r.asks != "cancel")
        or (r.address_changed and r.asks != "change_address")
        or (r.address_changed and r.address_as_written is False)
    )


def summarize(results: list[ActionRow]) -> dict[str, Any]:
    """The figures: wrong actions, requests carried out, automated status replies' precision and
    coverage, automated replies to messages that asked for nothing automatable; each with its
    95 % Wilson interval; per language and per concept."""

    def share(hits: int, total: int) -> dict[str, Any]:
        low, high = wilson(hits, total)
        return {"count": hits, "of": total, "rate": hits / total if total else None,
                "low": low, "high": high}  # fmt: skip

    by = defaultdict(list)
    for r in results:
        by[r.asks].append(r)
    status_auto = [r for r in results if r.auto_reply and r.intent == "order_status"]
    requests = by["cancel"] + by["change_address"]
    answered = [r for r in requests if r.yes is not None]
    figures: dict[str, Any] = {
        "messages": len(results),
        "wrong_actions": share(sum(_wrong(r) for r in results), len(results)),
        "actions_without_a_yes": share(sum(r.acted_before_yes for r in results), len(results)),
        "requests_asked_to_confirm": share(
            sum(r.asked is not None for r in requests), len(requests)
        ),
        "carried_out_after_a_yes": share(
            sum(r.cancelled or r.address_changed for r in answered), len(answered)
        ),
        "yes_asked_again": share(sum(r.again is not None for r in answered), len(answered)),
        "needless_confirmations": share(
            sum(r.asked is not None for r in by["order_status"] + by["other"]),
            len(by["order_status"]) + len(by["other"]),
        ),
        "cancellations_carried_out": share(
            sum(r.cancelled for r in by["cancel"]), len(by["cancel"])
        ),
        "address_changes_carried_out": share(
            sum(r.address_changed for r in by["change_address"]), len(by["change_address"])
        ),
        "addresses_written_as_the_customer_wrote": share(
            sum(bool(r.address_as_written) for r in results if r.address_changed),
            sum(r.address_changed for r in results),
        ),
        "status_replies_precision": share(
            sum(r.asks == "order_status" for r in status_auto), len(status_auto)
        ),
        "status_questions_answered_automatically": share(
            sum(r.auto_reply for r in by["order_status"]), len(by["order_status"])
        ),
        "automatic_replies_to_other": share(
            sum(r.auto_reply for r in by["other"]), len(by["other"])
        ),
    }
    wrong_by: dict[str, dict[str, Any]] = {}
    for key in ("language", "concept"):
        groups = defaultdict(list)
        for r in results:
            groups[getattr(r, key)].append(r)
        wrong_by[key] = {
            name: share(sum(_wrong(r) for r in group), len(group))
            for name, group in sorted(groups.items())
        }
    figures["wrong_actions_by"] = wrong_by
    figures["answers"] = answer_figures()
    figures["rows"] = [asdict(r) for r in results]
    return figures


def report(figures: dict[str, Any], echo: Callable[[str], None]) -> None:
    def line(name: str, f: dict[str, Any]) -> str:
        rate = "-" if f["rate"] is None else f"{f['rate']:.2f}"
        return (
            f"  {name:42} {f['count']:>4}/{f['of']:<4} {rate:>5}  [{f['low']:.2f}, {f['high']:.2f}]"
        )

    echo(f"actions on {figures['messages']} held-out messages (95 % Wilson intervals)")
    for name in (
        "wrong_actions", "actions_without_a_yes", "requests_asked_to_confirm",
        "carried_out_after_a_yes", "yes_asked_again", "needless_confirmations", "cancellations_carried_out", "address_changes_carried_out",
        "addresses_written_as_the_customer_wrote",
        "status_replies_precision", "status_questions_answered_automatically",
        "automatic_replies_to_other",
    ):  # fmt: skip
        echo(line(name.replace("_", " "), figures[name]))
    if "answers" in figures:
        echo("the answer reader on 200 held-out answers to a confirmation question:")
        for name, f in figures["answers"].items():
            echo(line(name.replace("_", " "), f))
    for key, groups in figures["wrong_actions_by"].items():
        echo(f"wrong actions by {key}:")
        for name, f in groups.items():
            if f["count"] or key == "language":
                echo(line(name, f))
