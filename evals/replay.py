"""`csagent eval replay`: the seller's stored history (the V1 file) through the real graph in
shadow mode, on a throwaway database and simulator: what would have been automated, per intent
and language, with the replies it would have sent. Nothing is sent and nothing is changed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph.classify.intents import AUTOMATABLE
from store.settings import DEFAULT_MARKETPLACE
from tools.mirakl.models import role


@dataclass
class ReplayRow:
    thread_id: str
    language: str
    intent: str | None
    confidence: float | None
    automated: bool  # would have been carried out and sent without a person
    action: str | None
    reason: str | None
    reply: str | None
    text: str


@dataclass
class ReplayReport:
    rows: list[ReplayRow] = field(default_factory=list)

    def table(self) -> list[tuple[str, str, int, int]]:
        """(intent, language, messages, would be automated)."""
        seen: Counter[tuple[str, str]] = Counter()
        auto: Counter[tuple[str, str]] = Counter()
        for r in self.rows:
            key = (r.intent or "?", r.language)
            seen[key] += 1
            auto[key] += r.automated
        return [(i, lang, n, auto[(i, lang)]) for (i, lang), n in sorted(seen.items())]

    def markdown(self, source: str) -> str:
        total, automated = len(self.rows), sum(r.automated for r in self.rows)
        lines = [
            "# Shadow-mode replay",
            "",
            f"{total} waiting customer messages of {source} run through the agent in shadow "
            f"mode: **{automated} would have been answered automatically** "
            f"({automated / total:.0%}), the rest drafted for a person. Nothing was sent."
            if total
            else "No waiting customer message to replay.",
            "",
            "| intent | language | messages | automated |",
            "| --- | --- | ---: | ---: |",
        ]
        lines += [f"| {i} | {lang} | {n} | {a} |" for i, lang, n, a in self.table()]
        lines += ["", "## What would have been sent automatically", ""]
        for r in self.rows:
            if r.automated:
                lines += [
                    f"### {r.thread_id} — {r.intent} ({r.confidence:.2f}), {r.language}, {r.action}",
                    "",
                    "> " + r.text.replace("\n", "\n> "),
                    "",
                    "```text",
                    (r.reply or "").strip(),
                    "```",
                    "",
                ]
        return "\n".join(lines)


def replay(stack: Any, records: list[dict[str, Any]], echo: Callable[[str], None]) -> ReplayReport:
    """Import the records into the stack's database and simulator, then run each thread's
    latest customer message (one still waiting for the shop) through the shadow-mode agent."""
    from knowledge.language import detect_language
    from store.db import session_scope
    from store.ingest import CustomerRef, IncomingMessage
    from store.threads import ThreadRef, thread_pk_of
    from store.v1_import import import_v1

    simulator = stack.simulator.state.sim
    for record in records:
        if record["id"] not in simulator.threads:  # "Mirakl" has the history too
            simulator.add_thread(record)
    with session_scope(stack.settings) as session:
        import_v1(
            session, records, sla_hours=stack.settings.sla_hours, marketplace=DEFAULT_MARKETPLACE
        )
    agent = stack.app.state.pipeline.processor
    report = ReplayReport()
    for record in records:
        messages = sorted(record.get("messages", []), key=lambda m: m["date_created"])
        if not messages or role(messages[-1]["from"]["type"]) != "CUSTOMER":
            continue  # already answered: nothing to replay
        last = messages[-1]
        customer: dict[str, Any] = next(
            (p for p in record.get("current_participants", []) if role(p["type"]) == "CUSTOMER"),
            {},
        )
        entity = next(
            (e["id"] for e in record.get("entities", []) if e["type"] == "MMP_ORDER"), None
        )
        incoming = IncomingMessage(
            thread_id=record["id"], message_id=last["id"], body=last["body"],
            created_at=last["date_created"], order_id=entity,
            customer=CustomerRef(id=customer.get("id") or "unknown", name=customer.get("display_name")),
        )  # fmt: skip
        with session_scope(stack.settings) as session:
            thread_pk = thread_pk_of(session, record["id"], DEFAULT_MARKETPLACE)
            outcome = agent(session, incoming, thread_pk)
        pending = agent.pending_review(ThreadRef(record["id"], DEFAULT_MARKETPLACE))
        values = agent.state_of(ThreadRef(record["id"], DEFAULT_MARKETPLACE)) if pending else {}
        automated = values.get("route") in AUTOMATABLE
        report.rows.append(
            ReplayRow(
                thread_id=record["id"],
                language=values.get("language") or detect_language(last["body"]),
                intent=outcome.intent,
                confidence=outcome.confidence,
                automated=automated,
                action=values.get("action") if automated else None,
                reason=values.get("reason"),
                reply=values.get("reply") if automated else None,
                text=last["body"],
            )
        )
        echo(
            f"  {record['id'][:12]:<12} {outcome.intent or '?':<21} "
            f"{'AUTOMATED' if automated else 'to a person'}"
        )
    return report


def default_report_path(data_dir: Path) -> Path:
    return data_dir.expanduser().resolve() / "reports" / "replay.md"
