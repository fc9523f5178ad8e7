"""The evaluation runners: metrics computed by hand on a tiny set, the CLI's JSON, the test set's
independence from the training data, and a scenario regression failing the command."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from evals.intents import DATASET, load_labelled, score
from graph.classify.model import load_examples

runner = CliRunner()


def test_metrics_by_hand() -> None:
    rows = [
        {"text": "a", "intent": "order_status", "lang": "fr"},
        {"text": "b", "intent": "order_status", "lang": "en"},
        {"text": "c", "intent": "cancellation_request", "lang": "fr"},
        {"text": "d", "intent": "other", "lang": "en"},
    ]
    predictions = [
        {"intent": "order_status", "confidence": 0.99},
        {"intent": "cancellation_request", "confidence": 0.97},  # wrong, and automated
        {"intent": "cancellation_request", "confidence": 0.60},  # right, below the threshold
        {"intent": "other", "confidence": 0.90},
    ]
    report = score(rows, predictions, threshold=0.95)
    assert report["accuracy"] == 0.75
    assert report["per_intent"]["order_status"] == pytest.approx(
        {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2}
    )
    assert report["per_intent"]["cancellation_request"] == pytest.approx(
        {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1}
    )
    assert report["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert report["per_language"] == {"en": 0.5, "fr": 1.0}
    # 3 automatable messages, 2 automated; of the 2 automated decisions 1 was right, and only
    # right automations count as coverage (1/3).
    automation = {
        k: report["automation"][k]
        for k in ("threshold", "coverage", "precision", "automated", "wrong")
    }
    assert automation == pytest.approx(
        {"threshold": 0.95, "coverage": 1 / 3, "precision": 0.5, "automated": 2, "wrong": 1}
    )
    low, high = report["automation"]["precision_ci"]
    assert 0.0 <= low <= 0.5 <= high <= 1.0 and report["automation"]["concepts"] == 3
    assert report["confusion"]["order_status"]["cancellation_request"] == 1


def normalise(text: str) -> str:
    return re.sub(r"[^a-zà-ÿß]+", " ", text.lower()).strip()


def trigrams(text: str) -> set[str]:
    t = normalise(text)
    return {t[i : i + 3] for i in range(len(t) - 2)}


def test_the_test_set_is_written_apart_from_the_training_data() -> None:
    test_rows = load_labelled(DATASET)
    assert len(test_rows) >= 300
    assert {r["lang"] for r in test_rows} == {"en", "fr", "de", "es", "it"}
    assert_written_apart([row["text"] for row in test_rows])


def assert_written_apart(texts: list[str]) -> None:
    """No text is a training row or a near-duplicate of one (trigram Jaccard 0.8 or more)."""
    train = load_examples()
    train_norm = {normalise(r["text"]) for r in train}
    train_grams = [trigrams(r["text"]) for r in train]
    for text in texts:
        assert normalise(text) not in train_norm, text
        grams = trigrams(text)
        closest = max(len(grams & g) / max(1, len(grams | g)) for g in train_grams)
        assert closest < 0.8, f"near-duplicate of a training row: {text!r} ({closest:.2f})"


def test_eval_intents_json_and_report(tmp_path: Path) -> None:
    dataset = tmp_path / "tiny.jsonl"
    dataset.write_text("\n".join(json.dumps(r) for r in [
        {"text": "Bonjour, où en est ma commande ? Toujours rien reçu.", "intent": "order_status", "lang": "fr"},
        {"text": "Please cancel my order, I ordered the wrong colour", "intent": "cancellation_request", "lang": "en"},
        {"text": "Vielen Dank, alles angekommen!", "intent": "other", "lang": "de"},
    ]))  # fmt: skip
    result = runner.invoke(
        app,
        [
            "eval",
            "intents",
            "--dataset",
            str(dataset),
            "--json",
            "--report",
            str(tmp_path / "report"),
        ],
    )
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(report) >= {
        "n",
        "accuracy",
        "macro_f1",
        "per_intent",
        "per_language",
        "automation",
        "latency_ms",
        "classifier",
    }
    assert report["n"] == 3
    assert set(report["automation"]) == {"threshold", "coverage", "precision", "precision_ci"}
    assert report["hard_negatives"]["n"] >= 150 and report["hard_negatives"]["automated"] == 0
    assert report["accuracy"] == 1.0
    for png in ("confusion.png", "precision_coverage.png"):
        assert (tmp_path / "report" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Intent classification report" in (tmp_path / "report" / "report.md").read_text()
    bad = runner.invoke(app, ["eval", "intents", "--dataset", str(tmp_path / "missing.jsonl")])
    assert bad.exit_code == 2 and "cannot read the dataset" in bad.output


@pytest.mark.slow
def test_a_regressed_scenario_fails_the_command(db_url: str, tmp_path: Path) -> None:
    scenarios = tmp_path / "s.yaml"
    scenarios.write_text(
        "- name: shipped order status\n"
        "  order: {id: 20567843-A}\n"
        '  message: "Bonjour, où en est ma commande ? Je n\'ai toujours rien reçu."\n'
        '  expect: {outcome: auto_replied, reply_contains: ["6A01815623033"], replies: 1}\n'
        "- name: a regression (expects a cancellation that policy must refuse)\n"
        "  order: {id: 20567843-A}\n"
        '  message: "Please cancel my order, I don\'t need it anymore."\n'
        "  expect: {outcome: auto_replied, order_state: CANCELED}\n"
    )
    result = runner.invoke(app, ["eval", "scenarios", "--file", str(scenarios)])
    assert result.exit_code == 1, result.output
    assert "PASS  shipped order status" in result.output
    assert (
        "FAIL  a regression" in result.output
        and "order is SHIPPED on Mirakl, expected CANCELED" in result.output
    )
    assert "1 passed, 1 failed" in result.output


@pytest.mark.slow
def test_bench_commands_print_figures(db_url: str) -> None:
    ingest = runner.invoke(app, ["bench", "ingest", "--messages", "6", "--concurrency", "2"])
    assert ingest.exit_code == 0, ingest.output
    assert re.search(r"classify: 315 messages, [\d.]+ messages/s", ingest.output)
    assert re.search(
        r"ingest \(agent, API in this process\): 6 messages, concurrency 2: [\d.]+ messages/s, "
        r"\d+ % of the classifier alone",
        ingest.output,
    )
    # Where the time went, stage by stage, and each message embedded exactly once.
    assert re.search(r"queue\.store +[\d.]+ +[\d.]+\n", ingest.output)
    assert re.search(r"embed +[1-9][\d.]* +[\d.]+\n", ingest.output)
    assert "embeddings per message: 1.00" in ingest.output
    assert re.search(r"baseline \(bare insert, same database\): [\d.]+ messages/s", ingest.output)
    assert "peak RSS" in ingest.output


@pytest.mark.slow
def test_bench_ingest_can_serve_the_api_from_worker_processes(db_url: str) -> None:
    ingest = runner.invoke(
        app, ["bench", "ingest", "--messages", "6", "--concurrency", "2", "--processes", "2"]
    )
    assert ingest.exit_code == 0, ingest.output
    assert "API in its own server processes): 6 messages" in ingest.output
    # The stages are read from the server processes' metrics, not this process's.
    assert re.search(r"embed +[1-9][\d.]* +[\d.]+\n", ingest.output)
    assert "embeddings per message: 1.00" in ingest.output


@pytest.mark.slow
def test_eval_replay_reports_what_shadow_mode_would_have_done(tmp_path: Path) -> None:
    """The sample V1 history through the real graph in shadow mode, on a throwaway stack: a
    table per intent and language and the replies that would have been sent; nothing is sent."""
    report = tmp_path / "replay.md"
    result = runner.invoke(app, ["eval", "replay", "--report", str(report)])
    assert result.exit_code == 0, result.output
    summary = [line for line in result.output.splitlines() if "waiting messages would have" in line]
    assert summary, result.output
    automated, total = (int(x) for x in summary[0].split(" waiting")[0].split(" of "))
    assert total == 37 and 0 < automated < total
    text = report.read_text(encoding="utf-8")
    assert "| intent | language | messages | automated |" in text
    assert "Nothing was sent" in text
    assert text.count("\n### ") == automated  # each automated reply is shown


def test_eval_actions_counts_what_happened_on_mirakl(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted from the simulator's orders and the audit log: a plain cancellation request on a
    young order is carried out (with a threshold low enough that the classifier's confidence
    does not decide here) is asked back, and carried out on the customer's yes; thanks do
    nothing."""
    import json

    from store.settings import get_settings

    monkeypatch.setenv("CSAGENT_AUTOMATION_THRESHOLDS", '{"cancellation_request": 0.3}')
    get_settings.cache_clear()

    rows = [
        {"id": "a", "language": "en", "asks": "cancel", "concept": "plain_request",
         "text": "Please cancel my order, I don't need it anymore."},
        {"id": "b", "language": "en", "asks": "other", "concept": "thanks",
         "text": "Thanks a lot, everything arrived and works perfectly!"},
    ]  # fmt: skip
    data = tmp_path / "heldout.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    try:
        result = runner.invoke(app, ["eval", "actions", "--dataset", str(data), "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    by_id = {r["id"]: r for r in figures["rows"]}
    # The request is asked back; the eval answers with a held-out yes; the order is cancelled
    # exactly when the agent read that answer as a yes, never before.
    a = by_id["a"]
    assert (a["asked"], a["acted_before_yes"], a["yes"] is not None) == (
        "cancel_order",
        False,
        True,
    )
    assert a["cancelled"] == (a["after_yes"] == "yes") and not by_id["b"]["cancelled"]
    assert by_id["b"]["asked"] is None and by_id["b"]["yes"] is None
    assert figures["actions_without_a_yes"]["count"] == 0
    assert figures["cancellations_carried_out"]["count"] == int(a["cancelled"])
    # On the 200 held-out answers, no refusal and no unclear answer is ever taken for a yes.
    assert figures["answers"]["taken_for_yes_wrongly"]["count"] == 0
    assert figures["answers"]["yes_recognised"]["count"] > 0
    assert figures["wrong_actions"] == {**figures["wrong_actions"], "count": 0, "of": 2}
    assert 0 <= figures["wrong_actions"]["low"] <= figures["wrong_actions"]["high"] <= 1
    bad = runner.invoke(app, ["eval", "actions", "--dataset", str(tmp_path / "none.jsonl")])
    assert bad.exit_code != 0 and "cannot read the messages" in bad.output


def test_the_held_out_action_set_was_written_apart_from_the_training_data() -> None:
    from evals.actions import ASKS, DATASET, load_rows

    rows = load_rows(DATASET)
    assert {r["language"] for r in rows} == {"en", "fr", "de", "es", "it"}
    assert {r["asks"] for r in rows} == set(ASKS)
    assert_written_apart([row["text"] for row in rows])


def test_eval_thresholds_reports_what_concept_grouped_calibration_supports(
    tmp_path: Path,
) -> None:
    """Out of fold, grouped by concept: at the threshold it says the data supports, precision's
    interval is above the target, and at no lower one; coverage only falls as the threshold rises; the
    thresholds in force are marked."""
    import json

    from graph.classify.model import TRAINING_DATA

    rows = [json.loads(line) for line in TRAINING_DATA.read_text(encoding="utf-8").splitlines()]
    subset = tmp_path / "train.jsonl"  # two languages: the same recipe, faster
    subset.write_text(
        "\n".join(json.dumps(r) for r in rows if r.get("lang") in ("en", "de")), encoding="utf-8"
    )
    result = runner.invoke(
        app, ["eval", "thresholds", "--data", str(subset), "--target", "0.9", "--json"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert set(figures["intents"]) == {"order_status", "cancellation_request", "address_update"}
    for intent, data in figures["intents"].items():
        points = data["points"]
        coverage = [p["coverage"] for p in points]
        assert coverage == sorted(coverage, reverse=True), intent
        enough = [p["threshold"] for p in points if p["chosen"] and p["low"] >= 0.9]
        assert data["supported"] == (min(enough) if enough else None), intent
    # Order-status questions are the classifier's surest: some threshold is supported.
    assert figures["intents"]["order_status"]["supported"] is not None
    assert figures["in_force"]["order_status"] == {"automation": 0.65}
    from evals.thresholds import report

    said: list[str] = []
    report(figures, figures["in_force"], said.append)
    assert any(line.startswith("  0.65  precision") and "<- automation in force" in line
               for line in said)  # fmt: skip
    bad = runner.invoke(app, ["eval", "thresholds", "--data", str(tmp_path / "none.jsonl")])
    assert bad.exit_code != 0 and "cannot read the training data" in bad.output
