"""`csagent kb ingest`: Markdown policies -> heading-aware chunks -> embeddings -> pgvector.

Idempotent by content hash: unchanged chunks are not re-embedded, changed ones are replaced,
chunks of deleted documents are removed. Chunks live in a langchain-postgres PGVectorStore table
with, beside it, a full-text column stemmed in each chunk's own language.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from langchain_postgres import Column, PGEngine, PGVectorStore
from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from knowledge.embeddings import get_embeddings
from store.db import sqlalchemy_url
from store.models import KnowledgeCollection
from store.settings import Settings

TABLE = "kb_chunks"
CHUNK_NS = uuid.UUID("0c4f8a2e-5b7d-4e1a-9c3b-7d2e1f0a6b58")
# PostgreSQL text-search configurations per language; anything else is indexed as `simple`.
TS_CONFIG = {"en": "english", "fr": "french", "de": "german", "es": "spanish", "it": "italian"}
METADATA_COLUMNS = ["path", "doc", "lang", "doc_type", "heading", "content_hash"]


class KnowledgeError(RuntimeError):
    """The knowledge base cannot be used as asked (e.g. embeddings of another kind)."""


@dataclass(frozen=True)
class Chunk:
    id: str
    path: str
    doc: str
    lang: str
    doc_type: str
    heading: str
    content: str
    content_hash: str

    def metadata(self) -> dict[str, Any]:
        return {
            "path": self.path, "doc": self.doc, "lang": self.lang, "doc_type": self.doc_type,
            "heading": self.heading, "content_hash": self.content_hash,
        }  # fmt: skip


@dataclass
class IngestReport:
    documents: int = 0
    chunks: int = 0
    embedded: int = 0
    unchanged: int = 0
    removed: int = 0
    removed_documents: list[str] = field(default_factory=list)


def chunk_document(path: Path, root: Path) -> list[Chunk]:
    """Heading-aware chunks of one `<lang>/<doc>.md` file."""
    relative = path.relative_to(root).as_posix()
    lang = path.parent.name if path.parent != root else "en"
    doc = path.stem
    headers = MarkdownHeaderTextSplitter(
        headers_to_split_on=[("#", "title"), ("##", "section"), ("###", "subsection")],
        strip_headers=True,
    )
    splitter = RecursiveCharacterTextSplitter(chunk_size=900, chunk_overlap=120)
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for section in splitter.split_documents(headers.split_text(path.read_text(encoding="utf-8"))):
        body = section.page_content.strip()
        if not body:
            continue
        parts = [section.metadata.get(k) for k in ("title", "section", "subsection")]
        heading = " > ".join(p for p in parts if p)
        digest = hashlib.sha256(f"{heading}\n{body}".encode()).hexdigest()
        occurrence = seen.get(digest, 0)
        seen[digest] = occurrence + 1
        chunk_id = str(uuid.uuid5(CHUNK_NS, f"{relative}:{digest}:{occurrence}"))
        # The heading travels with the text: it is what both the embedding and the reader need.
        content = f"{heading}\n\n{body}" if heading else body
        chunks.append(Chunk(chunk_id, relative, doc, lang, doc, heading, content, digest))
    return chunks


def iter_documents(root: Path) -> Iterator[Path]:
    yield from sorted(p for p in root.rglob("*.md") if p.is_file())


class KnowledgeBase:
    """The chunk table of one collection, with the embedder it was built with."""

    def __init__(self, settings: Settings, engine: Engine, table: str = TABLE) -> None:
        self.settings = settings
        self.engine = engine
        self.table = table
        self.embeddings = get_embeddings(settings)
        self._store: PGVectorStore | None = None
        self._pg_engine: PGEngine | None = None

    # -- the collection --------------------------------------------------------------------------

    def collection(self, session: Session) -> KnowledgeCollection | None:
        return session.get(KnowledgeCollection, self.table)

    def check_compatible(self, session: Session) -> KnowledgeCollection | None:
        existing = self.collection(session)
        if existing is None:
            return None
        kind, model = self.embeddings.kind, self.embeddings.model
        if (existing.embeddings_kind, existing.embeddings_model) != (kind, model):
            raise KnowledgeError(
                f"the knowledge base was built with {existing.embeddings_kind} embeddings "
                f"({existing.embeddings_model}, {existing.dimension} dimensions) but "
                f"CSAGENT_EMBEDDINGS is {kind} ({model}); mixing them would return nonsense. "
                "Re-ingest with `csagent kb ingest --recreate`, or switch the setting back."
            )
        return existing

    def create(self) -> None:
        """Create the chunk table (vector size of the current embedder) and register it."""
        dimension = self.embeddings.dimension
        self._store = None
        self.pg_engine().init_vectorstore_table(
            self.table,
            dimension,
            metadata_columns=[Column(name, "TEXT") for name in METADATA_COLUMNS],
            overwrite_existing=True,
        )
        with Session(self.engine) as session, session.begin():
            cases = " ".join(
                f"WHEN '{lang}' THEN '{cfg}'::regconfig" for lang, cfg in TS_CONFIG.items()
            )
            session.execute(
                text(
                    f'ALTER TABLE "{self.table}" ADD COLUMN content_tsv tsvector GENERATED '
                    f"ALWAYS AS (to_tsvector(CASE lang {cases} ELSE 'simple'::regconfig END, "
                    "content)) STORED"
                )
            )
            session.execute(text(f'CREATE INDEX ON "{self.table}" USING gin (content_tsv)'))
            session.execute(text(f'CREATE INDEX ON "{self.table}" (path)'))
            session.merge(
                KnowledgeCollection(
                    name=self.table,
                    table_name=self.table,
                    embeddings_kind=self.embeddings.kind,
                    embeddings_model=self.embeddings.model,
                    dimension=dimension,
                )
            )

    def drop(self, session: Session) -> None:
        session.execute(text(f'DROP TABLE IF EXISTS "{self.table}"'))
        existing = self.collection(session)
        if existing is not None:
            session.delete(existing)
            session.flush()
        self._store = None

    def pg_engine(self) -> PGEngine:
        if self._pg_engine is None:
            url = self.engine.url.render_as_string(hide_password=False)
            self._pg_engine = PGEngine.from_connection_string(sqlalchemy_url(url))
        return self._pg_engine

    def store(self) -> PGVectorStore:
        if self._store is None:
            self._store = PGVectorStore.create_sync(
                self.pg_engine(),
                embedding_service=self.embeddings,
                table_name=self.table,
                metadata_columns=METADATA_COLUMNS,
            )
        return self._store

    # -- ingestion -------------------------------------------------------------------------------

    def ingest(
        self,
        root: Path,
        *,
        recreate: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> IngestReport:
        """Bring the table in line with the Markdown files under `root`."""
        report = IngestReport()
        # Each step commits before the next: the vector store creates its table over a
        # connection of its own, which must not wait for a lock held here.
        if recreate:
            with Session(self.engine) as session, session.begin():
                self.drop(session)
        with Session(self.engine) as session:
            missing = self.check_compatible(session) is None
        if missing:
            self.create()
        wanted: dict[str, list[Chunk]] = {}
        for path in iter_documents(root):
            chunks = chunk_document(path, root)
            wanted[chunks[0].path if chunks else path.relative_to(root).as_posix()] = chunks
        report.documents = len(wanted)
        report.chunks = sum(len(c) for c in wanted.values())
        with self.engine.connect() as conn:
            stored = conn.execute(
                text(f'SELECT langchain_id::text, path FROM "{self.table}"')
            ).all()
        stored_ids = {row[0] for row in stored}
        wanted_ids = {c.id for chunks in wanted.values() for c in chunks}
        stale = [row[0] for row in stored if row[0] not in wanted_ids]
        report.removed_documents = sorted({row[1] for row in stored} - set(wanted))
        new = [c for chunks in wanted.values() for c in chunks if c.id not in stored_ids]
        report.unchanged = report.chunks - len(new)
        if stale:
            self.store().delete(ids=stale)
            report.removed = len(stale)
        for start in range(0, len(new), 32):
            batch = new[start : start + 32]
            vectors = self.embeddings.embed_documents([c.content for c in batch])
            self.store().add_embeddings(
                [c.content for c in batch],
                vectors,
                [c.metadata() for c in batch],
                [c.id for c in batch],
            )
            report.embedded += len(batch)
            if progress:
                progress(report.embedded, len(new))
        with Session(self.engine) as session, session.begin():
            collection = self.collection(session)
            assert collection is not None
            collection.ingested_at = datetime.now(UTC)
        return report
