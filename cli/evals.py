"""`csagent eval`: offline evaluations that print numbers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.common import fail
from cli.kb import knowledge_base
from store.settings import Settings, get_settings

if TYPE_CHECKING:
    from graph.classify.model import IntentClassifier, LocalIntentModel

eval_app = typer.Typer(help="Offline evaluations that print numbers.", no_args_is_help=True)


@eval_app.command("intents")
def eval_intents(
    dataset: Annotated[Path | None, typer.Option(help="JSONL of {text, intent, lang}.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
    threshold: Annotated[float, typer.Option(min=0, max=1, help="Automation threshold.")] = 0.65,
    with_llm: Annotated[
        bool,
        typer.Option(
            "--llm",
            help="Require the configured LLM (OPENAI_* settings) and print the local classifier's "
            "figures beside the cascade's.",
        ),
    ] = False,
    report: Annotated[Path | None, typer.Option(help="Write report.md and PNG plots here.")] = None,
    negatives: Annotated[
        Path | None,
        typer.Option(
            "--hard-negatives",
            help="JSONL of messages that must never be automated (default: the project's).",
        ),
    ] = None,
) -> None:
    """Accuracy, macro-F1, per intent and language, confusion, automation coverage/precision
    (with a concept-level interval), and the hard negatives: exit 1 if any would be automated."""
    import json

    from evals.intents import (
        DATASET,
        HARD_NEGATIVES,
        hard_negatives,
        load_labelled,
        run,
        write_report,
    )
    from graph.classify.model import IntentClassifier

    settings = get_settings()
    try:
        rows = load_labelled(dataset or DATASET)
        negative_rows = load_labelled(negatives or HARD_NEGATIVES)
    except (OSError, ValueError) as exc:
        raise fail(f"cannot read the dataset: {exc}") from None
    local_model, classifier, name = _intent_classifiers(settings, with_llm)
    result = run(classifier, rows, threshold)
    traps = hard_negatives(classifier, negative_rows, threshold)
    beside = run(IntentClassifier(local_model), rows, threshold) if with_llm else None
    if report is not None:
        path = write_report(result, name, report)
        typer.echo(f"report written to {path}", err=True)
    if as_json:
        typer.echo(json.dumps(_intents_as_json(result, name, traps, beside)))
    else:
        _echo_intents_report(result, name, traps, beside, settings.openai_model)
    if traps["automated"]:
        raise typer.Exit(1)


def _intent_classifiers(
    settings: Settings, with_llm: bool
) -> tuple[LocalIntentModel, IntentClassifier, str]:
    """The local model, the classifier evaluated (the cascade to the LLM when one is configured)
    and its name; `with_llm` fails without an LLM."""
    from graph.classify.model import IntentClassifier, LocalIntentModel
    from graph.llm import chat_model

    llm = chat_model(settings)
    if with_llm and llm is None:
        raise fail("--llm needs an LLM: set OPENAI_API_KEY (and OPENAI_BASE_URL)")
    local_model = LocalIntentModel(settings)
    classifier = IntentClassifier(
        local_model, llm, settings.classifier_llm_threshold, settings.llm_structured_output
    )
    name = "local e5 + calibrated logistic regression" + (
        f", LLM cascade below {settings.classifier_llm_threshold:.2f} ({settings.openai_model})"
        if llm
        else ""
    )
    return local_model, classifier, name


def _intents_as_json(
    result: dict[str, Any],
    name: str,
    traps: dict[str, Any],
    beside: dict[str, Any] | None,
) -> dict[str, Any]:
    """What `eval intents --json` prints: the figures of `result` (and of the local classifier
    alone, `beside`, under "local"), the classifier's name and the hard negatives."""
    out = {
        k: result[k]
        for k in (
            "n",
            "accuracy",
            "macro_f1",
            "per_intent",
            "per_language",
            "automation",
            "latency_ms",
        )
    }
    out["automation"] = {k: result["automation"][k] for k in ("threshold", "coverage", "precision")}
    out["classifier"] = name
    out["llm_calls"] = result["llm_calls"]
    out["llm_tokens_per_message"] = result["llm_tokens_per_message"]
    out["automation"]["precision_ci"] = result["automation"]["precision_ci"]
    out["hard_negatives"] = traps
    if beside is not None:
        out["local"] = _headline(beside)
    return out


def _echo_intents_report(
    result: dict[str, Any],
    name: str,
    traps: dict[str, Any],
    beside: dict[str, Any] | None,
    llm_model: str,
) -> None:
    """The report of `eval intents`, the hard negatives automated, and the local classifier
    beside the cascade (`beside`, when the LLM was asked for)."""
    from evals.intents import format_report

    typer.echo(format_report(result, name))
    typer.echo(
        f"\nhard negatives: {traps['n']} messages ({', '.join(traps['languages'])}), "
        f"{traps['automated']} automated actions"
    )
    for row in traps["messages"]:
        typer.echo(f"  AUTOMATED {row['predicted']} ({row['confidence']:.2f}): {row['text']}")
    if beside is not None:
        typer.echo(f"\n{'':<28}{'accuracy':>9}{'macro-F1':>9}{'coverage':>9}{'precision':>10}")
        for label, figures in (
            ("local alone", _headline(beside)),
            (f"cascade ({llm_model})", _headline(result)),
        ):
            typer.echo(
                f"{label[:27]:<28}{figures['accuracy']:>9.3f}{figures['macro_f1']:>9.3f}"
                f"{figures['coverage']:>9.3f}{figures['precision']:>10.3f}"
            )


def _headline(result: dict[str, Any]) -> dict[str, float]:
    return {
        "accuracy": result["accuracy"],
        "macro_f1": result["macro_f1"],
        "coverage": result["automation"]["coverage"],
        "precision": result["automation"]["precision"],
    }


@eval_app.command("scenarios")
def eval_scenarios(
    file: Annotated[Path | None, typer.Option(help="YAML scenarios (default: evals/data).")] = None,
) -> None:
    """Run end-to-end scenarios through the real graph (simulator + throwaway embedded
    PostgreSQL); prints pass/fail and exits 1 on any failure."""
    from evals.scenarios import SCENARIOS, load_scenarios, run_scenarios

    try:
        scenarios = load_scenarios(file or SCENARIOS)
    except (OSError, ValueError) as exc:
        raise fail(f"cannot read the scenarios: {exc}") from None
    from cli.stack import throwaway_stack

    with throwaway_stack("scenarios") as stack:
        results = run_scenarios(scenarios, stack, typer.echo)
    failed = [r for r in results if not r.passed]
    typer.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)


@eval_app.command("actions")
def eval_actions(
    dataset: Annotated[
        Path | None, typer.Option(help="Held-out messages, JSON lines (default: evals/data).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The figures as JSON.")] = False,
) -> None:
    """What the agent does end to end on messages written apart from its training data: orders
    cancelled and addresses changed (wrongly, or as asked), automatic replies, with 95 % Wilson
    intervals, per language and concept (simulator + throwaway embedded PostgreSQL)."""
    import json

    from evals.actions import DATASET, load_rows, report, run_actions, summarize

    try:
        rows = load_rows(dataset or DATASET)
    except (OSError, ValueError) as exc:
        raise fail(f"cannot read the messages: {exc}") from None
    from cli.stack import throwaway_stack

    with throwaway_stack("actions") as stack:
        figures = summarize(run_actions(rows, stack, None if as_json else typer.echo))
    if as_json:
        typer.echo(json.dumps(figures, indent=2, ensure_ascii=False))
    else:
        report(figures, typer.echo)


@eval_app.command("thresholds")
def eval_thresholds(
    target: Annotated[
        float, typer.Option(min=0.5, max=1, help="Precision the interval must stay above.")
    ] = 0.9,
    as_json: Annotated[bool, typer.Option("--json", help="The figures as JSON.")] = False,
    data: Annotated[
        Path | None, typer.Option(help="Training data, JSON lines (default: the bundled file).")
    ] = None,
) -> None:
    """Per-intent thresholds from concept-grouped calibration: out-of-fold precision and
    coverage of each automatable intent at each threshold, the lowest one the data supports,
    and the thresholds in force (automation, and asking to confirm)."""
    import json

    from evals.thresholds import report, thresholds
    from graph.classify.intents import AUTOMATABLE
    from graph.classify.model import TRAINING_DATA, LocalIntentModel, load_examples

    settings = get_settings()
    try:
        rows = load_examples(data or TRAINING_DATA)
    except (OSError, ValueError, KeyError) as exc:
        raise fail(f"cannot read the training data: {exc}") from None
    model = LocalIntentModel(settings)
    figures = thresholds(rows, model.embed, AUTOMATABLE, target)
    in_force: dict[str, dict[str, float]] = {
        intent: {
            name: value
            for name, value in (
                ("automation", settings.automation_thresholds.get(intent)),
                ("confirmation", settings.confirmation_thresholds.get(intent)),
            )
            if value is not None
        }
        for intent in AUTOMATABLE
    }
    figures["in_force"] = in_force
    if as_json:
        typer.echo(json.dumps(figures, indent=2))
    else:
        report(figures, in_force, typer.echo)


@eval_app.command("replay")
def eval_replay(
    v1_file: Annotated[
        Path | None, typer.Option(help="V1 messages.json to replay (default: the sample).")
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(
            help="Markdown report (default: <data dir>/reports/replay.md, which the "
            "dashboard shows)."
        ),
    ] = None,
) -> None:
    """Run the stored history through the agent in shadow mode, on a throwaway database and
    simulator: what would have been automated, per intent and language, with the replies it
    would have sent. Nothing is sent, nothing is changed."""
    from cli.stack import throwaway_stack
    from evals.replay import default_report_path, replay
    from examples import SAMPLE_V1_FILE
    from store.v1_import import V1FileError, load_v1_records

    source = v1_file or SAMPLE_V1_FILE
    try:
        records = load_v1_records(source)
    except (OSError, V1FileError) as exc:
        raise fail(f"cannot read {source}: {exc}") from None
    target = report or default_report_path(get_settings().data_dir)
    with throwaway_stack("replay", automation_mode="shadow") as stack:
        result = replay(stack, records, typer.echo)
    typer.echo(f"{'intent':<22} {'lang':<5} {'messages':>8} {'automated':>9}")
    for intent, lang, n, automated in result.table():
        typer.echo(f"{intent:<22} {lang:<5} {n:>8} {automated:>9}")
    total, automated = len(result.rows), sum(r.automated for r in result.rows)
    typer.echo(f"{automated} of {total} waiting messages would have been answered automatically")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(result.markdown(source.name), encoding="utf-8")
    typer.echo(f"report: {target}")


@eval_app.command("retrieval")
def eval_retrieval(
    dataset: Annotated[
        Path | None, typer.Option(help="JSONL of {question, lang, doc, heading}.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """Recall@1, recall@5, MRR and latency: vector, full-text and hybrid, per language."""
    import json

    from evals.retrieval import DATASET, evaluate_retrieval, format_report, load_questions
    from knowledge.ingest import KnowledgeError
    from knowledge.retriever import Retriever

    try:
        rows = load_questions(dataset or DATASET)
    except (OSError, ValueError) as exc:
        raise fail(f"cannot read the dataset: {exc}") from None
    kb = knowledge_base()
    try:
        report = evaluate_retrieval(Retriever(kb), rows)
    except KnowledgeError as exc:
        raise fail(str(exc)) from None
    embeddings = f"{kb.embeddings.kind} ({kb.embeddings.model})"
    if as_json:
        typer.echo(json.dumps({**report, "embeddings": embeddings}))
    else:
        typer.echo(format_report(report, embeddings))


@eval_app.command("drafts")
def eval_drafts(
    dataset: Annotated[
        Path | None, typer.Option(help="JSONL of threads with what a good reply contains.")
    ] = None,
    llm: Annotated[
        bool, typer.Option("--llm", help="Score the configured LLM's drafts (OPENAI_* settings).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """Language purity, required facts, forbidden claims and decision stated, over drafts of a
    file of threads; exit 1 when a target is missed."""
    import json

    from evals.drafts import DATASET, evaluate_drafts, format_report, load_threads
    from graph.drafting import DraftingService
    from graph.llm import chat_model
    from knowledge.ingest import KnowledgeError

    try:
        rows = load_threads(dataset or DATASET)
    except (OSError, ValueError) as exc:
        raise fail(f"cannot read the threads: {exc}") from None
    settings = get_settings()
    model = chat_model(settings) if llm else None
    if llm and model is None:
        raise fail("--llm needs an LLM: set OPENAI_API_KEY (and OPENAI_BASE_URL)")
    kb = knowledge_base()
    service = DraftingService(settings, kb.engine, model=model)
    try:
        report = evaluate_drafts(service, rows)
    except KnowledgeError as exc:
        raise fail(str(exc)) from None
    generator = f"llm ({settings.openai_model})" if model is not None else "retrieval"
    local = evaluate_drafts(DraftingService(settings, kb.engine), rows) if llm else None
    if as_json:
        extra = {"retrieval": local["overall"]} if local is not None else {}
        typer.echo(json.dumps({**report, "generator": generator, **extra}, ensure_ascii=False))
    else:
        typer.echo(format_report(report, generator))
        if local is not None:
            typer.echo("\noverall, the LLM beside the drafts written without it:")
            for label, overall in (("retrieval", local["overall"]), (generator, report["overall"])):
                typer.echo(
                    f"  {label[:30]:<31} purity {overall['purity']:.3f}  required "
                    f"{overall['required']:.3f}  forbidden {overall['forbidden']}  decision "
                    f"{overall['decision']:.3f}"
                )
    if not all(report["met"].values()):
        raise typer.Exit(1)
