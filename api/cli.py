"""The `csagent` command line: database, V1 import and the demo."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from store import migrate
from store.db import DatabaseUnavailable, resolve_database_url, session_scope
from store.ingest import IncomingMessage
from store.overview import Overview, database_overview
from store.settings import get_settings
from store.v1_import import ImportReport, V1FileError, import_v1, load_v1_records, write_rejects

SAMPLE_V1_FILE = Path(__file__).resolve().parents[1] / "examples" / "v1" / "messages.json"

app = typer.Typer(
    help="csagent: customer-service agent for Mirakl marketplace sellers.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema and connection.", no_args_is_help=True)
app.add_typer(db_app, name="db")
kb_app = typer.Typer(
    help="The knowledge base (policies, FAQ) the drafts are grounded in.", no_args_is_help=True
)
app.add_typer(kb_app, name="kb")
eval_app = typer.Typer(help="Offline evaluations that print numbers.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
bench_app = typer.Typer(help="Benchmarks that print figures.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def database_url() -> str:
    try:
        return resolve_database_url()
    except DatabaseUnavailable as exc:
        raise fail(str(exc)) from None


def require_current_schema() -> str:
    url = database_url()
    if migrate.current_revision(url) != migrate.head_revision():
        raise fail("the database schema is not up to date: run `csagent db upgrade` first")
    return url


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Create or update the schema (idempotent; also creates the pgvector extension)."""
    url = database_url()
    migrate.upgrade(url, revision)
    typer.echo(f"database at revision {migrate.current_revision(url)}")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[
        str, typer.Argument(help="Target revision, e.g. 'base' to drop everything.")
    ],
) -> None:
    """Undo migrations down to REVISION. Dropping tables loses their data."""
    url = database_url()
    migrate.downgrade(url, revision)
    typer.echo(f"database at revision {migrate.current_revision(url) or 'base'}")


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision of the database and the newest one available."""
    url = database_url()
    typer.echo(
        f"current: {migrate.current_revision(url) or 'none'}  head: {migrate.head_revision()}"
    )


@db_app.command("url")
def db_url() -> None:
    """Print the libpq URL of the database (for psql); starts the embedded server if needed."""
    typer.echo(database_url())


def print_import_report(report: ImportReport, rejects_file: Path | None) -> None:
    verb = "would add" if report.dry_run else "added"
    typer.echo(f"records read:    {report.records}")
    typer.echo(
        f"threads:         {report.threads_added} {verb}, {report.threads_present} already there"
    )
    typer.echo(
        f"messages:        {report.messages_added} {verb}, {report.messages_present} already there"
    )
    typer.echo(f"customers:       {report.customers_added} {verb}")
    typer.echo(f"orders linked:   {report.orders_linked} {verb}")
    typer.echo(f"rejected:        {report.rejected}")
    for reject in report.rejects:
        label = f" (thread {reject.thread_id})" if reject.thread_id else ""
        typer.secho(
            f"  record {reject.index}{label}: {reject.reason}", err=True, fg=typer.colors.YELLOW
        )
    if rejects_file is not None:
        typer.echo(f"rejected records written to {rejects_file}")
    if report.dry_run:
        typer.echo("dry run: nothing was written")


def run_import(path: Path, dry_run: bool) -> ImportReport:
    try:
        records = load_v1_records(path)
    except V1FileError as exc:
        raise fail(str(exc)) from None
    require_current_schema()
    with session_scope() as session:
        report = import_v1(session, records, sla_hours=get_settings().sla_hours, dry_run=dry_run)
        if dry_run:
            session.rollback()
    rejects_file = None if dry_run else write_rejects(path, report.rejects)
    print_import_report(report, rejects_file)
    return report


@app.command("import-v1")
def import_v1_command(
    path: Annotated[Path, typer.Argument(help="The V1 poller's messages.json.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and count, write nothing.")
    ] = False,
) -> None:
    """Import the old aggregator's messages.json (idempotent: a second run adds nothing).

    Malformed records are reported, written to <name>.rejects.json beside the input, and make the
    exit code 1; every other record is still imported.
    """
    report = run_import(path, dry_run)
    if report.rejected:
        raise typer.Exit(1)


def print_overview(overview: Overview) -> None:
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(overview.threads_by_status.items()))
    directions = ", ".join(f"{n} {d}" for d, n in sorted(overview.messages_by_direction.items()))
    typer.echo(f"threads:    {overview.threads} ({statuses or 'none'})")
    typer.echo(f"messages:   {overview.messages} ({directions or 'none'})")
    typer.echo(f"customers:  {overview.customers}")
    typer.echo(
        f"orders:     {overview.orders} ({overview.threads_with_order} threads linked to an order)"
    )
    typer.echo(f"overdue:    {overview.overdue} open threads past their reply deadline")
    if overview.oldest_waiting:
        typer.echo("longest waiting:")
        for t in overview.oldest_waiting:
            due = t.sla_due_at.strftime("%Y-%m-%d %H:%M") if t.sla_due_at else "-"
            typer.echo(
                f"  due {due}  {t.customer or '?':<18} {t.order or '-':<12} {(t.topic or '')[:50]}"
            )


@app.command("stats")
def stats() -> None:
    """Print what the database holds: threads by status, messages, customers, orders."""
    database_url()
    with session_scope() as session:
        print_overview(database_overview(session, now=datetime.now(UTC)))


@app.command("demo")
def demo(
    v1_file: Annotated[Path, typer.Option(help="V1 file to import.")] = SAMPLE_V1_FILE,
) -> None:
    """Migrate the (embedded) database, import the sample V1 file, run the live flow on loopback
    (simulator -> API, a duplicate, a lost webhook recovered by sync, the business tools) and
    show what is there."""
    from api.demo import run_live_demo

    url = database_url()
    typer.secho(f"database: {url}", fg=typer.colors.CYAN)
    migrate.upgrade(url)
    typer.secho(f"importing {v1_file}", fg=typer.colors.CYAN)
    report = run_import(v1_file, dry_run=False)
    typer.secho("live: new customer messages, as n8n would post them", fg=typer.colors.CYAN)
    run_live_demo(get_settings(), typer.echo)
    typer.secho("what is in the database now:", fg=typer.colors.CYAN)
    with session_scope() as session:
        print_overview(database_overview(session, now=datetime.now(UTC)))
    if report.rejected:
        raise typer.Exit(1)


@app.command("mirakl-sim")
def mirakl_sim(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8081,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    api_key: Annotated[str, typer.Option(help="Shop API key the simulator accepts.")] = (
        "sim-shop-key"
    ),
    shop_id: Annotated[str, typer.Option(help="The simulated shop's id.")] = "2001",
    webhook_url: Annotated[
        str | None, typer.Option(help="POST a Mirakl-style webhook here for each customer message.")
    ] = None,
    seed: Annotated[bool, typer.Option(help="Start with the examples/ threads and orders.")] = True,
) -> None:
    """Run the Mirakl Seller API simulator (the contract in shared/mirakl/CONTRACT.md)."""
    import uvicorn

    from tools.mirakl.simulator import create_simulator

    simulator = create_simulator(
        api_key=api_key, shop_id=shop_id, seed=seed, webhook_url=webhook_url
    )
    typer.echo(f"Mirakl simulator: http://{host}:{port}/api (controls under /_sim, docs at /docs)")
    uvicorn.run(simulator, host=host, port=port, log_level="warning")


def parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise fail(f"--since must be an ISO-8601 date, got {value!r}") from None
    if parsed.tzinfo is None:
        raise fail("--since needs a time zone, e.g. 2026-11-20T00:00:00Z")
    return parsed


@app.command("sync")
def sync(
    since: Annotated[
        str | None, typer.Option(help="Read threads updated since (ISO-8601); default: cursor.")
    ] = None,
    interval: Annotated[
        float | None, typer.Option(help="Keep running, one pass every INTERVAL seconds.")
    ] = None,
) -> None:
    """Reconcile with the Mirakl inbox: ingest customer messages that no webhook delivered."""
    import asyncio
    import time

    from api.pipeline import Pipeline
    from tools.mirakl.client import MiraklClient
    from tools.mirakl.errors import MiraklConfigError, MiraklError
    from tools.mirakl.sync import sync_inbox

    start = parse_since(since)
    require_current_schema()
    pipeline = Pipeline.from_settings()

    def ingest(message: IncomingMessage) -> None:
        pipeline.ingest(message, source="sync")

    async def one_pass(since_: datetime | None) -> None:
        async with MiraklClient.from_settings() as client:
            report = await sync_inbox(client, session_scope, ingest, since=since_)
        after = report.cursor_after.isoformat() if report.cursor_after else "-"
        typer.echo(
            f"threads read: {report.threads_seen}, customer messages: "
            f"{report.customer_messages}, ingested: {report.ingested}, "
            f"already known: {report.already_known}, cursor: {after}"
        )

    while True:
        try:
            asyncio.run(one_pass(start))
        except MiraklConfigError as exc:
            raise fail(exc.message) from None
        except MiraklError as exc:
            if interval is None:
                raise fail(f"sync failed, cursor not moved: {exc.message}", 1) from None
            typer.secho(f"sync failed, will retry: {exc.message}", err=True, fg=typer.colors.YELLOW)
        if interval is None:
            return
        start = None  # after the first pass, follow the stored cursor
        time.sleep(interval)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="HTTP worker processes.")] = 1,
) -> None:
    """Run the API (migrating the database first). Each process also runs a queue worker unless
    CSAGENT_API_QUEUE_WORKER=false."""
    import uvicorn

    from store.keys import api_key_file, resolve_api_key

    settings = get_settings()
    migrate.upgrade(database_url())
    resolve_api_key(settings)
    where = "CSAGENT_API_KEY" if settings.api_key else str(api_key_file(settings))
    typer.echo(f"csagent API on http://{host}:{port} (API key: {where}; docs at /docs)")
    uvicorn.run(
        "api.app:create_app", factory=True, host=host, port=port, workers=workers,
        log_level="info",
    )  # fmt: skip


@app.command("worker")
def worker(
    concurrency: Annotated[int, typer.Option(min=1, help="Worker threads in this process.")] = 1,
) -> None:
    """Process queued inbound events (accepted with ?mode=async, or left by a crash) until stopped.
    Any number of workers, in any number of processes, can share one database."""
    import signal
    import threading

    from api.pipeline import Pipeline

    require_current_schema()
    pipeline = Pipeline.from_settings()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    threads = [
        threading.Thread(target=pipeline.run_worker, args=(stop, get_settings().queue_poll_s))
        for _ in range(concurrency)
    ]
    for t in threads:
        t.start()
    typer.echo(f"csagent worker: {concurrency} thread(s) processing the queue (Ctrl-C stops)")
    while not stop.is_set():
        stop.wait(0.5)
    for t in threads:
        t.join(timeout=30)


def knowledge_base() -> Any:
    from knowledge.ingest import KnowledgeBase
    from store.db import get_engine

    require_current_schema()
    return KnowledgeBase(get_settings(), get_engine())


@kb_app.command("ingest")
def kb_ingest(
    path: Annotated[Path | None, typer.Argument(help="Folder of <lang>/<doc>.md files.")] = None,
    recreate: Annotated[
        bool, typer.Option("--recreate", help="Drop and rebuild (e.g. after changing embeddings).")
    ] = False,
) -> None:
    """Chunk, embed and store the knowledge base; unchanged chunks are not re-embedded."""
    from knowledge.ingest import KnowledgeError

    root = path or get_settings().knowledge_dir
    if not root.is_dir():
        raise fail(f"{root} is not a folder of Markdown documents")
    kb = knowledge_base()

    def progress(done: int, total: int) -> None:
        typer.echo(f"\r  embedded {done}/{total} chunks", nl=done == total)

    try:
        report = kb.ingest(root, recreate=recreate, progress=progress)
    except KnowledgeError as exc:
        raise fail(str(exc)) from None
    typer.echo(
        f"{report.documents} documents, {report.chunks} chunks: {report.embedded} embedded, "
        f"{report.unchanged} unchanged, {report.removed} removed"
        + (
            f" (deleted documents: {', '.join(report.removed_documents)})"
            if report.removed_documents
            else ""
        )
    )


@kb_app.command("search")
def kb_search(
    question: Annotated[str, typer.Argument(help="A customer question, in any language.")],
    k: Annotated[int, typer.Option("-k", min=1, max=50, help="How many chunks.")] = 5,
    lang: Annotated[
        str | None, typer.Option(help="Only chunks in this language (en, fr, ...).")
    ] = None,
    doc_type: Annotated[str | None, typer.Option("--type", help="Only this document type.")] = None,
    mode: Annotated[str, typer.Option(help="hybrid, vector or fulltext.")] = "hybrid",
) -> None:
    """Print the best chunks with their source, heading and scores."""
    from knowledge.ingest import KnowledgeError
    from knowledge.retriever import Retriever

    if mode not in ("hybrid", "vector", "fulltext"):
        raise fail("--mode must be hybrid, vector or fulltext")
    try:
        result = Retriever(knowledge_base()).search(
            question, k=k, mode=mode, lang=lang, doc_type=doc_type
        )  # type: ignore[arg-type]
    except KnowledgeError as exc:
        raise fail(str(exc)) from None
    for i, hit in enumerate(result.hits, start=1):
        ranks = f"vector #{hit.vector_rank or '-'}, text #{hit.text_rank or '-'}"
        typer.secho(f"{i}. {hit.path} — {hit.heading}  (score {hit.score:.4f}; {ranks})", bold=True)
        typer.echo("   " + hit.body.replace("\n", " ")[:300])
    typer.echo(f"({result.latency_ms:.1f} ms)")


@eval_app.command("intents")
def eval_intents(
    dataset: Annotated[Path | None, typer.Option(help="JSONL of {text, intent, lang}.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
    threshold: Annotated[float, typer.Option(min=0, max=1, help="Automation threshold.")] = 0.95,
    report: Annotated[Path | None, typer.Option(help="Write report.md and PNG plots here.")] = None,
) -> None:
    """Accuracy, macro-F1, per intent and language, confusion, automation coverage/precision."""
    import json

    from evals.intents import DATASET, format_report, load_labelled, run, write_report
    from graph.classify.model import IntentClassifier, LocalIntentModel
    from graph.llm import chat_model

    settings = get_settings()
    try:
        rows = load_labelled(dataset or DATASET)
    except (OSError, ValueError) as exc:
        raise fail(f"cannot read the dataset: {exc}") from None
    llm = chat_model(settings)
    classifier = IntentClassifier(
        LocalIntentModel(settings), llm, settings.classifier_llm_threshold
    )
    name = "local e5 + calibrated logistic regression" + (
        f", LLM cascade below {settings.classifier_llm_threshold:.2f} ({settings.openai_model})"
        if llm
        else ""
    )
    result = run(classifier, rows, threshold)
    if report is not None:
        path = write_report(result, name, report)
        typer.echo(f"report written to {path}", err=True)
    if as_json:
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
        out["automation"] = {
            k: result["automation"][k] for k in ("threshold", "coverage", "precision")
        }
        out["classifier"] = name
        out["llm_calls"] = result["llm_calls"]
        out["llm_tokens_per_message"] = result["llm_tokens_per_message"]
        typer.echo(json.dumps(out))
    else:
        typer.echo(format_report(result, name))


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
    results = run_scenarios(scenarios, typer.echo)
    failed = [r for r in results if not r.passed]
    typer.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)


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


def _test_texts() -> list[str]:
    from evals.intents import DATASET, load_labelled

    return [row["text"] for row in load_labelled(DATASET)]


@bench_app.command("classify")
def bench_classify_command() -> None:
    """Messages per second of the local classifier (embedding + model), on the test set."""
    from evals.bench import bench_classify

    bench_classify(_test_texts(), typer.echo)


@bench_app.command("retrieval")
def bench_retrieval_command() -> None:
    """Queries per second and latency of vector, full-text and hybrid search."""
    from evals.bench import bench_retrieval
    from evals.retrieval import DATASET, load_questions

    require_current_schema()
    bench_retrieval([row["question"] for row in load_questions(DATASET)], typer.echo)


@bench_app.command("ingest")
def bench_ingest_command(
    messages: Annotated[int, typer.Option(min=1, max=100_000, help="Messages to post.")] = 200,
    concurrency: Annotated[int, typer.Option(min=1, max=256, help="Concurrent senders.")] = 8,
) -> None:
    """Throughput and latency per outcome of POST /api/v1/messages with the agent, on a stack of
    its own, against a bare insert-only endpoint on the same database; peak RSS."""
    from evals.bench import bench_ingest

    bench_ingest(messages, concurrency, _test_texts(), typer.echo)


def main() -> None:
    app()
