"""`csagent eval intents`: how well the classifier labels messages, per intent and language, and
how safely it would automate: coverage and precision of the automated decisions at a threshold."""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from evals.stats import percentile
from graph.classify.explicit import explicit_request
from graph.classify.intents import AUTOMATABLE, INTENTS
from graph.classify.model import training_groups

DATASET = Path(__file__).parent / "data" / "intents_test.jsonl"
# Messages that look like automatable requests and are not (negations, questions about the policy,
# newsletters, returns, past cancellations, invoice addresses, general questions...): none may be
# automated.
HARD_NEGATIVES = Path(__file__).parent / "data" / "hard_negatives.jsonl"


def load_labelled(path: Path) -> list[dict[str, str]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if not isinstance(row, dict) or not row.get("text") or row.get("intent") not in INTENTS:
            raise ValueError(
                f"{path}:{number}: needs text and an intent among {', '.join(INTENTS)}"
            )
        rows.append(row)
    return rows


def automation(
    truth: list[str],
    predicted: list[str],
    confidence: list[float],
    threshold: float,
    explicit: list[bool] | None = None,
) -> dict[str, float]:
    """Coverage: share of truly automatable messages that would be automated. Precision: share
    of automated decisions whose intent was right. A decision is automated when the intent is
    automatable, confident enough, and the message explicitly asks for it (graph/classify/explicit)."""
    asks = explicit if explicit is not None else [True] * len(predicted)
    automated = [
        p in AUTOMATABLE and c >= threshold and e
        for p, c, e in zip(predicted, confidence, asks, strict=True)
    ]
    eligible = [t in AUTOMATABLE for t in truth]
    # Coverage counts the right automations only: a wrong one is a cost, not coverage.
    right = sum(1 for a, t, p in zip(automated, truth, predicted, strict=True) if a and t == p)
    decisions = sum(automated)
    return {
        "threshold": threshold,
        "coverage": right / sum(eligible) if sum(eligible) else 0.0,
        "precision": right / decisions if decisions else 1.0,
        "automated": decisions,
        "wrong": decisions - right,
    }


def precision_interval(
    truth: list[str],
    predicted: list[str],
    automated: list[bool],
    groups: list[str],
) -> tuple[float, float]:
    """95 % Wilson interval of the automation precision counted by concept: a concept (all the
    languages and variants of one sentence) counts once, as right only if every automated
    decision on it was right; near-copies cannot narrow the interval."""
    decided: dict[str, bool] = {}
    for t, p, a, g in zip(truth, predicted, automated, groups, strict=True):
        if a:
            decided[g] = decided.get(g, True) and t == p
    n = len(decided)
    if not n:
        return (0.0, 1.0)
    k = sum(decided.values())
    z = 1.959964
    centre = (k + z * z / 2) / (n + z * z)
    half = z * ((k * (n - k) / n + z * z / 4) ** 0.5) / (n + z * z)
    return (max(0.0, centre - half), min(1.0, centre + half))


def score(
    rows: list[dict[str, str]], predictions: list[dict[str, Any]], threshold: float
) -> dict[str, Any]:
    """The metrics, from labelled rows and predictions ({intent, confidence, latency_ms})."""
    truth = [r["intent"] for r in rows]
    predicted = [p["intent"] for p in predictions]
    confidence = [float(p["confidence"]) for p in predictions]
    explicit = [bool(p.get("explicit", True)) for p in predictions]
    groups = training_groups(rows, variants=1)  # the test files write each concept once
    per_intent: dict[str, dict[str, float]] = {}
    for intent in INTENTS:
        tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t == p == intent)
        fp = sum(1 for t, p in zip(truth, predicted, strict=True) if p == intent != t)
        fn = sum(1 for t, p in zip(truth, predicted, strict=True) if t == intent != p)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_intent[intent] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": tp + fn,
        }
    supported = [m for m in per_intent.values() if m["support"]]
    by_lang: dict[str, list[bool]] = defaultdict(list)
    for row, p in zip(rows, predicted, strict=True):
        by_lang[row.get("lang", "?")].append(row["intent"] == p)
    confusion = Counter(zip(truth, predicted, strict=True))
    latencies = [float(p.get("latency_ms", 0.0)) for p in predictions]
    n = len(rows)
    return {
        "n": n,
        "accuracy": sum(t == p for t, p in zip(truth, predicted, strict=True)) / n if n else 0.0,
        "macro_f1": sum(m["f1"] for m in supported) / len(supported) if supported else 0.0,
        "per_intent": per_intent,
        "per_language": {lang: sum(ok) / len(ok) for lang, ok in sorted(by_lang.items())},
        "confusion": {t: {p: confusion[(t, p)] for p in INTENTS} for t in INTENTS},
        "automation": {
            **automation(truth, predicted, confidence, threshold, explicit),
            "precision_ci": precision_interval(
                truth,
                predicted,
                [
                    p in AUTOMATABLE and c >= threshold and e
                    for p, c, e in zip(predicted, confidence, explicit, strict=True)
                ],
                groups,
            ),
            "concepts": len(set(groups)),
        },
        "curve": [
            automation(truth, predicted, confidence, t / 100, explicit) for t in range(50, 100)
        ],
        "latency_ms": {
            "p50": statistics.median(latencies) if latencies else 0.0,
            "p95": percentile(latencies, 0.95),
        },
    }


def run(classifier: Any, rows: list[dict[str, str]], threshold: float) -> dict[str, Any]:
    predictions = []
    llm_calls = 0
    llm_tokens = 0
    for row in rows:
        started = time.perf_counter()
        prediction = classifier.classify(row["text"])
        elapsed = (time.perf_counter() - started) * 1000
        llm_calls += prediction.classifier == "llm"
        llm_tokens += prediction.llm_tokens
        predictions.append(
            {
                "intent": prediction.intent,
                "confidence": prediction.confidence,
                "explicit": explicit_request(row["text"], prediction.intent, row.get("lang")).ok,
                "latency_ms": elapsed,
            }
        )
    report = score(rows, predictions, threshold)
    report["llm_calls"] = llm_calls
    report["llm_tokens_per_message"] = llm_tokens / len(rows) if rows else 0.0
    return report


def format_report(report: dict[str, Any], classifier: str) -> str:
    a = report["automation"]
    lines = [
        f"intents on {report['n']} messages, classifier: {classifier}",
        f"accuracy {report['accuracy']:.3f}   macro-F1 {report['macro_f1']:.3f}   "
        f"latency p50 {report['latency_ms']['p50']:.1f} ms, "
        f"p95 {report['latency_ms']['p95']:.1f} ms"
        + (
            f"   LLM calls {report['llm_calls']}, {report['llm_tokens_per_message']:.0f} tokens/message"
            if report.get("llm_calls")
            else ""
        ),
        f"automation at {a['threshold']:.2f}: coverage {a['coverage']:.3f} (right automations "
        f"only), precision {a['precision']:.3f} ({a['automated']} automated decisions, "
        f"{a['wrong']} wrong; 95 % interval by concept {a['precision_ci'][0]:.3f}-"
        f"{a['precision_ci'][1]:.3f})",
        "",
        f"{'intent':<22} {'precision':>9} {'recall':>7} {'F1':>6} {'support':>8}",
    ]
    for intent, m in report["per_intent"].items():
        lines.append(
            f"{intent:<22} {m['precision']:>9.3f} {m['recall']:>7.3f} "
            f"{m['f1']:>6.3f} {m['support']:>8}"
        )
    lines.append("")
    lines.append(
        "accuracy per language: "
        + ", ".join(f"{k} {v:.3f}" for k, v in report["per_language"].items())
    )
    lines.append("")
    short = {i: i[:6] for i in INTENTS}
    lines.append("confusion (rows: truth, columns: predicted)")
    lines.append(f"{'':<22} " + " ".join(f"{short[i]:>6}" for i in INTENTS))
    for truth, row in report["confusion"].items():
        lines.append(f"{truth:<22} " + " ".join(f"{row[p]:>6}" for p in INTENTS))
    return "\n".join(lines)


def write_report(report: dict[str, Any], classifier: str, folder: Path) -> Path:
    """report.md with two PNG plots: the confusion matrix and precision against coverage."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    matrix = [[report["confusion"][t][p] for p in INTENTS] for t in INTENTS]
    fig, ax = plt.subplots(figsize=(8, 7))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(INTENTS)), INTENTS, rotation=45, ha="right")
    ax.set_yticks(range(len(INTENTS)), INTENTS)
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            if value:
                ax.text(j, i, str(value), ha="center", va="center", fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("truth")
    ax.set_title(f"Confusion matrix ({report['n']} messages)")
    fig.tight_layout()
    fig.savefig(folder / "confusion.png", dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    curve = report["curve"]
    ax.plot([c["coverage"] for c in curve], [c["precision"] for c in curve], marker=".")
    for c in curve[::10]:
        ax.annotate(f"{c['threshold']:.2f}", (c["coverage"], c["precision"]), fontsize=7)
    ax.set_xlabel("coverage (automatable messages automated)")
    ax.set_ylabel("precision (automated decisions right)")
    ax.set_title("Automation: precision against coverage, by threshold")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(folder / "precision_coverage.png", dpi=110)
    plt.close(fig)
    path = folder / "report.md"
    path.write_text(
        "# Intent classification report\n\n```text\n"
        + format_report(report, classifier)
        + "\n```\n\n"
        "![confusion matrix](confusion.png)\n\n"
        "![precision against coverage](precision_coverage.png)\n",
        encoding="utf-8",
    )
    return path


def hard_negatives(classifier: Any, rows: list[dict[str, str]], threshold: float) -> dict[str, Any]:
    """Which of these messages the agent would act on by itself (the answer must be none)."""
    acted = []
    for row in rows:
        prediction = classifier.classify(row["text"])
        if (
            prediction.intent in AUTOMATABLE
            and prediction.confidence >= threshold
            and explicit_request(row["text"], prediction.intent, row.get("lang")).ok
        ):
            acted.append(
                {**row, "predicted": prediction.intent, "confidence": prediction.confidence}
            )
    return {
        "n": len(rows),
        "languages": sorted({r.get("lang", "?") for r in rows}),
        "automated": len(acted),
        "messages": acted,
    }
