"""`csagent eval retrieval`: recall@1, recall@5, MRR and latency of the knowledge-base search,
vector-only, full-text-only and hybrid side by side, overall and per language."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from evals.stats import percentile
from knowledge.retriever import Mode, Retriever

DATASET = Path(__file__).parent / "data" / "kb_questions.jsonl"
MODES: tuple[Mode, ...] = ("vector", "fulltext", "hybrid")


def load_questions(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        missing = {"question", "doc"} - set(row)
        if missing:
            raise ValueError(f"{path}:{number}: missing {', '.join(sorted(missing))}")
        rows.append(row)
    return rows


def rank_of(docs: list[str], expected: str) -> int | None:
    """1-based rank of the first hit from the expected document."""
    return next((i for i, doc in enumerate(docs, start=1) if doc == expected), None)


def summarize(ranks: list[int | None], latencies: list[float]) -> dict[str, float]:
    n = len(ranks) or 1
    return {
        "n": len(ranks),
        "recall@1": sum(1 for r in ranks if r == 1) / n,
        "recall@5": sum(1 for r in ranks if r is not None and r <= 5) / n,
        "mrr": sum(1 / r for r in ranks if r is not None) / n,
        "p50_ms": statistics.median(latencies) if latencies else 0.0,
        "p95_ms": percentile(latencies, 0.95),
    }


def evaluate_retrieval(retriever: Retriever, rows: list[dict[str, Any]]) -> dict[str, Any]:
    report: dict[str, Any] = {"n": len(rows), "modes": {}}
    for mode in MODES:
        ranks: list[int | None] = []
        latencies: list[float] = []
        by_lang: dict[str, list[int | None]] = defaultdict(list)
        for row in rows:
            result = retriever.search(row["question"], k=5, mode=mode)
            rank = rank_of([h.doc for h in result.hits], row["doc"])
            ranks.append(rank)
            latencies.append(result.latency_ms)
            by_lang[row.get("lang", "?")].append(rank)
        summary: dict[str, Any] = summarize(ranks, latencies)
        summary["per_language"] = {
            lang: {k: v for k, v in summarize(r, []).items() if not k.endswith("_ms")}
            for lang, r in sorted(by_lang.items())
        }
        report["modes"][mode] = summary
    return report


def format_report(report: dict[str, Any], embeddings: str) -> str:
    lines = [f"retrieval on {report['n']} questions, embeddings: {embeddings}", ""]
    lines.append(
        f"{'mode':<9} {'recall@1':>8} {'recall@5':>8} {'MRR':>6} {'p50 ms':>7} {'p95 ms':>7}"
    )
    for mode, s in report["modes"].items():
        lines.append(
            f"{mode:<9} {s['recall@1']:>8.3f} {s['recall@5']:>8.3f} {s['mrr']:>6.3f} "
            f"{s['p50_ms']:>7.1f} {s['p95_ms']:>7.1f}"
        )
    lines.append("")
    languages = sorted({lang for s in report["modes"].values() for lang in s["per_language"]})
    lines.append("recall@1 / recall@5 per language")
    lines.append(f"{'mode':<9} " + " ".join(f"{lang:>11}" for lang in languages))
    for mode, s in report["modes"].items():
        cells = []
        for lang in languages:
            stats = s["per_language"].get(lang)
            cells.append(f"{stats['recall@1']:.2f} / {stats['recall@5']:.2f}" if stats else "-")
        lines.append(f"{mode:<9} " + " ".join(f"{c:>11}" for c in cells))
    return "\n".join(lines)
