"""`csagent eval scenarios`: end-to-end cases through the real graph, against the Mirakl
simulator and a throwaway embedded PostgreSQL; a pass/fail table, non-zero exit on a regression."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml

SCENARIOS = Path(__file__).parent / "data" / "scenarios.yaml"


@dataclass
class ScenarioResult:
    name: str
    passed: bool
    outcome: str
    problems: list[str] = field(default_factory=list)


def load_scenarios(path: Path) -> list[dict[str, Any]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, list) or not all(
        isinstance(s, dict) and s.get("message") and s.get("expect") for s in data
    ):
        raise ValueError(f"{path}: expected a list of scenarios with `message` and `expect`")
    return data


def check(
    expect: dict[str, Any],
    answer: dict[str, Any],
    replies: list[str],
    review: str,
    order_state: str | None,
) -> list[str]:
    """What differs from the expectation (empty when the scenario passes)."""
    problems = []
    if answer.get("status") != expect.get("outcome"):
        problems.append(
            f"outcome {answer.get('status')} (intent {answer.get('intent')}), expected {expect.get('outcome')}"
        )
    for text in expect.get("reply_contains", []):
        if not any(text in reply for reply in replies):
            problems.append(f"no reply contains {text!r}")
    if "replies" in expect and len(replies) != expect["replies"]:
        problems.append(f"{len(replies)} replies sent, expected {expect['replies']}")
    if "review_reason" in expect and expect["review_reason"] not in review:
        problems.append(f"review does not say {expect['review_reason']!r}")
    if "order_state" in expect and order_state != expect["order_state"]:
        problems.append(f"order is {order_state} on Mirakl, expected {expect['order_state']}")
    return problems


def run_scenarios(
    scenarios: list[dict[str, Any]], stack: Any, echo: Callable[[str], None]
) -> list[ScenarioResult]:
    """Each scenario on `stack`, a whole csagent on loopback (cli/stack.py builds one)."""
    from store.business import upsert_mirakl_order
    from store.db import session_scope

    results = []
    simulator, sim_url, api_url = stack.simulator, stack.sim_url, stack.api_url
    settings, headers = stack.settings, stack.headers
    for number, scenario in enumerate(scenarios, start=1):
        thread_id = f"scenario-{number}"
        order_id = _prepare_order(
            scenario.get("order") or {},
            simulator,
            sim_url,
            settings,
            upsert_mirakl_order,
            session_scope,
        )
        customer = scenario.get("customer") or {}
        body = {
            "body": scenario["message"],
            "order_id": order_id,
            "customer_id": customer.get("id"),
            "customer_name": customer.get("name"),
        }
        event = httpx.post(
            f"{sim_url}/_sim/threads/{thread_id}/customer-message", json=body
        ).json()["event"]
        answer = httpx.post(
            f"{api_url}/api/v1/messages", json=event, headers=headers, timeout=300
        ).json()
        thread = simulator.state.sim.threads[thread_id]
        replies = [m["body"] for m in thread["messages"] if m["from"]["type"] == "SHOP_USER"]
        reviews = httpx.get(f"{api_url}/api/v1/reviews", headers=stack.reviewer_headers).json()
        review = next((r["description"] for r in reviews if r["thread_id"] == thread_id), "")
        target = (scenario.get("order") or {}).get("as") or (scenario.get("order") or {}).get("id")
        state = simulator.state.sim.orders.get(target, {}).get("order_state") if target else None
        problems = check(scenario["expect"], answer, replies, review, state)
        results.append(
            ScenarioResult(
                scenario.get("name", thread_id),
                not problems,
                str(answer.get("status")),
                problems,
            )
        )
        echo(
            f"{'PASS' if not problems else 'FAIL'}  {scenario.get('name', thread_id)}"
            + ("" if not problems else f"  — {'; '.join(problems)}")
        )
    return results


def _prepare_order(
    spec: dict[str, Any], simulator: Any, sim_url: str, settings: Any, upsert: Any, sessions: Any
) -> str | None:
    """The order the customer writes about: an example one, or a copy with overrides."""
    if not spec:
        return None
    source = spec["id"]
    if not spec.get("as"):
        return str(source) if spec.get("link", True) else None
    order = copy.deepcopy(simulator.state.sim.orders[source])
    order["order_id"] = spec["as"]
    if "state" in spec:
        order["order_state"] = spec["state"]
        order["can_cancel"] = spec["state"] in (
            "STAGING",
            "WAITING_ACCEPTANCE",
            "WAITING_DEBIT",
            "WAITING_DEBIT_PAYMENT",
        )
    if "age_hours" in spec:
        created = datetime.now(UTC) - timedelta(hours=float(spec["age_hours"]))
        order["created_date"] = created.isoformat().replace("+00:00", "Z")
    for i, line in enumerate(order.get("order_lines", []), start=1):
        line["order_line_id"] = f"{spec['as']}-{i}"
    httpx.post(f"{sim_url}/_sim/orders", json=order).raise_for_status()
    with sessions(settings) as session:
        upsert(session, order)
    return str(spec["as"]) if spec.get("link", True) else None
