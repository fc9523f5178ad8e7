"""`csagent kb`: ingest and search the knowledge base the drafts are grounded in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, cast

import typer

from cli.common import fail, require_current_schema
from store.settings import get_settings

kb_app = typer.Typer(
    help="The knowledge base (policies, FAQ) the drafts are grounded in.", no_args_is_help=True
)


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
    from knowledge.retriever import Mode, Retriever

    if mode not in ("hybrid", "vector", "fulltext"):
        raise fail("--mode must be hybrid, vector or fulltext")
    try:
        result = Retriever(knowledge_base()).search(
            question, k=k, mode=cast(Mode, mode), lang=lang, doc_type=doc_type
        )
    except KnowledgeError as exc:
        raise fail(str(exc)) from None
    for i, hit in enumerate(result.hits, start=1):
        ranks = f"vector #{hit.vector_rank or '-'}, text #{hit.text_rank or '-'}"
        typer.secho(f"{i}. {hit.path} — {hit.heading}  (score {hit.score:.4f}; {ranks})", bold=True)
        typer.echo("   " + hit.body.replace("\n", " ")[:300])
    typer.echo(f"({result.latency_ms:.1f} ms)")
