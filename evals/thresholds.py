"""`csagent eval thresholds`: per-intent thresholds from concept-grouped calibration.

The local classifier's confidence is calibrated on folds grouped by concept (graph/classify/
model.py): every translation and variant of one sentence sits in the same fold. Here the same
recipe is fitted five times more, each time without one fifth of the concepts, and scores the
concepts it did not see (nested: the calibration inside each fit is grouped by concept too). The
out-of-fold confidences say, per automatable intent and threshold, how often the classifier alone
is right when it is that sure (precision, with its 95 % Wilson interval) and how many of the
intent's messages reach it (coverage); the lowest threshold whose precision interval is above
the target is the one the data supports.

This is the classifier alone. In use, automation also needs the message's words to ask for the
action (graph/classify/explicit.py) and a cancellation or an address change needs the customer's
yes, so the thresholds in force were checked end to end as well (`csagent eval actions`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from evals.actions import wilson

GRID = tuple(round(0.30 + 0.05 * i, 2) for i in range(14))  # 0.30 … 0.95


@dataclass(frozen=True)
class Point:
    threshold: float
    chosen: int  # messages the classifier gives this intent at least this confidently
    right: int  # ... of which are this intent
    of: int  # messages of this intent
    low: float  # Wilson interval of the precision
    high: float

    @property
    def precision(self) -> float | None:
        return self.right / self.chosen if self.chosen else None

    @property
    def coverage(self) -> float:
        return self.right / self.of if self.of else 0.0


def out_of_fold(
    vectors: np.ndarray, labels: np.ndarray, groups: Sequence[str], folds: int = 5
) -> tuple[np.ndarray, list[str]]:
    """Each row's probabilities from a model fitted without its concept (the production recipe:
    logistic regression, sigmoid calibration on concept-grouped folds)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    group_array = np.asarray(groups)
    classes = sorted(set(labels.tolist()))
    probabilities = np.zeros((len(labels), len(classes)))
    for train, test in GroupKFold(n_splits=folds).split(vectors, labels, group_array):
        inner = list(
            GroupKFold(n_splits=folds).split(vectors[train], labels[train], group_array[train])
        )
        model = CalibratedClassifierCV(
            LogisticRegression(C=8.0, max_iter=3000), method="sigmoid", cv=inner
        ).fit(vectors[train], labels[train])
        fitted = [str(c) for c in model.classes_]
        probabilities[np.ix_(test, [classes.index(c) for c in fitted])] = model.predict_proba(
            vectors[test]
        )
    return probabilities, classes


def curve(
    probabilities: np.ndarray, classes: list[str], labels: np.ndarray, intent: str
) -> list[Point]:
    """Precision and coverage of `intent` at each threshold of the grid."""
    top = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    mine = top == classes.index(intent)
    of = int((labels == intent).sum())
    points = []
    for threshold in GRID:
        chosen = mine & (confidence >= threshold)
        right = int((labels[chosen] == intent).sum())
        low, high = wilson(right, int(chosen.sum()))
        points.append(Point(threshold, int(chosen.sum()), right, of, low, high))
    return points


def supported(points: list[Point], target: float) -> Point | None:
    """The lowest threshold whose precision's interval is at or above `target` (a threshold's
    precision is that of everything automated from it up: what using it would give)."""
    return next((p for p in points if p.chosen and p.low >= target), None)


def thresholds(
    rows: list[dict[str, Any]],
    embed: Callable[[str], list[float]],
    intents: Sequence[str],
    target: float,
) -> dict[str, Any]:
    from graph.classify.model import training_groups

    vectors = np.array([embed(r["text"]) for r in rows], dtype=np.float32)
    labels = np.array([r["intent"] for r in rows])
    probabilities, classes = out_of_fold(vectors, labels, training_groups(rows))
    figures: dict[str, Any] = {"rows": len(rows), "concepts": len(set(training_groups(rows))),
                               "target": target, "intents": {}}  # fmt: skip
    for intent in intents:
        points = curve(probabilities, classes, labels, intent)
        best = supported(points, target)
        figures["intents"][intent] = {
            "supported": best.threshold if best else None,
            "points": [
                {"threshold": p.threshold, "chosen": p.chosen, "right": p.right, "of": p.of,
                 "precision": p.precision, "low": p.low, "high": p.high, "coverage": p.coverage}
                for p in points
            ],
        }  # fmt: skip
    return figures


def report(
    figures: dict[str, Any],
    in_force: dict[str, dict[str, float]],
    echo: Callable[[str], None],
) -> None:
    echo(
        f"out-of-fold on {figures['rows']} training rows, {figures['concepts']} concepts "
        f"(5 folds grouped by concept); precision target {figures['target']:.2f} "
        "(95 % Wilson lower bound)"
    )
    for intent, data in figures["intents"].items():
        supported_at = data["supported"]
        said = f"{supported_at:.2f}" if supported_at is not None else "none on the grid"
        echo(f"{intent}: supported from {said}")
        marks = {round(v, 2): k for k, v in in_force.get(intent, {}).items()}
        for p in data["points"]:
            precision = "-" if p["precision"] is None else f"{p['precision']:.3f}"
            mark = f"  <- {marks[p['threshold']]} in force" if p["threshold"] in marks else ""
            echo(
                f"  {p['threshold']:.2f}  precision {precision:>5} [{p['low']:.2f}, {p['high']:.2f}]"
                f"  {p['right']:>4}/{p['chosen']:<4} coverage {p['coverage']:.2f}{mark}"
            )
