"""Hybrid retrieval over the knowledge base: vector similarity (pgvector, through PGVectorStore)
and PostgreSQL full-text ranking, fused by reciprocal rank fusion. The full-text side stems the
question in each chunk's own language, so a French question matches French text as French."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any, Literal

import psycopg
from sqlalchemy import Connection, text
from sqlalchemy.exc import ProgrammingError

from knowledge.embeddings import query_window
from knowledge.ingest import TS_CONFIG, KnowledgeBase, KnowledgeError
from store.metrics import stage

Mode = Literal["hybrid", "vector", "fulltext"]
RRF_K = 60  # the constant of Cormack et al.; dampens the weight of the very first ranks
CANDIDATES = 20
TEXT_WEIGHT = 0.5  # full text helps most in the KB's own languages; see README figures


@dataclass(frozen=True)
class Hit:
    id: str
    doc: str
    path: str
    lang: str
    doc_type: str
    heading: str
    content: str
    score: float
    vector_rank: int | None = None
    text_rank: int | None = None

    @property
    def body(self) -> str:
        """The chunk without its heading line."""
        head, _, rest = self.content.partition("\n\n")
        return rest if rest and head == self.heading else self.content


def reciprocal_rank_fusion(
    rankings: list[list[str]], weights: list[float] | None = None, k: int = RRF_K
) -> dict[str, float]:
    """Fused score of each id: the sum over the rankings of weight / (k + rank), ranks from 1."""
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings), strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return scores


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    latency_ms: float


def _hit(row: Any, **scores: Any) -> Hit:
    """A chunk row (id, doc, path, lang, doc_type, heading, content) and how it ranked."""
    return Hit(
        id=row["id"], doc=row["doc"], path=row["path"], lang=row["lang"],
        doc_type=row["doc_type"], heading=row["heading"], content=row["content"], **scores,
    )  # fmt: skip


class Retriever:
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb

    def search(
        self,
        query: str,
        *,
        k: int = 5,
        mode: Mode = "hybrid",
        lang: str | None = None,
        doc_type: str | None = None,
        query_vector: list[float] | None = None,
    ) -> SearchResult:
        """The k best chunks; `query_vector` avoids re-embedding a message embedded already."""
        started = time.perf_counter()
        dense: list[Hit] = []
        sparse: list[Hit] = []
        with stage("retrieval"), self.kb.engine.connect() as conn:
            try:
                if mode in ("hybrid", "vector"):
                    vector = query_vector or self.kb.embeddings.embed_query(query)
                    dense = self._vector(conn, vector, lang, doc_type)
                if mode in ("hybrid", "fulltext"):
                    sparse = self._fulltext(conn, query, lang, doc_type)
            except ProgrammingError as exc:
                if isinstance(exc.orig, psycopg.errors.UndefinedTable):
                    raise KnowledgeError(
                        "the knowledge base is empty: run `csagent kb ingest` first"
                    ) from None
                raise
        if mode == "vector":
            hits = dense[:k]
        elif mode == "fulltext":
            hits = sparse[:k]
        else:
            hits = self._fuse(dense, sparse)[:k]
        return SearchResult(hits, (time.perf_counter() - started) * 1000)

    def _vector(
        self, conn: Connection, vector: list[float], lang: str | None, doc_type: str | None
    ) -> list[Hit]:
        # Plain SQL on the PGVectorStore table (cosine distance, as the store was built with):
        # one round trip on csagent's own connection instead of the store's async engine.
        sql = f"""
            SELECT langchain_id::text AS id, doc, path, lang, doc_type, heading, content,
                   embedding <=> CAST(:vector AS vector) AS distance
            FROM "{self.kb.table}"
            WHERE (CAST(:lang AS text) IS NULL OR lang = :lang)
              AND (CAST(:doc_type AS text) IS NULL OR doc_type = :doc_type)
            ORDER BY distance
            LIMIT {CANDIDATES}
        """
        literal = "[" + ",".join(f"{x:.7g}" for x in vector) + "]"
        rows = conn.execute(
            text(sql), {"vector": literal, "lang": lang, "doc_type": doc_type}
        ).mappings()
        return [
            _hit(r, score=1.0 - float(r["distance"]), vector_rank=rank)
            for rank, r in enumerate(rows, start=1)
        ]

    def _fulltext(
        self, conn: Connection, query: str, lang: str | None, doc_type: str | None
    ) -> list[Hit]:
        languages = ", ".join(f"('{code}', '{cfg}')" for code, cfg in TS_CONFIG.items())
        sql = f"""
            SELECT c.langchain_id::text AS id, c.doc, c.path, c.lang, c.doc_type, c.heading,
                   c.content, ts_rank_cd(c.content_tsv, t.q) AS rank
            FROM "{self.kb.table}" AS c
            LEFT JOIN (VALUES {languages}) AS l(code, cfg) ON l.code = c.lang
            -- Any of the question's words may match (OR), ranked by how many and how close.
            CROSS JOIN LATERAL (
                SELECT replace(
                    plainto_tsquery(coalesce(l.cfg, 'simple')::regconfig, :query)::text, '&', '|'
                )::tsquery AS q
            ) AS t
            WHERE c.content_tsv @@ t.q
              AND (CAST(:lang AS text) IS NULL OR c.lang = :lang)
              AND (CAST(:doc_type AS text) IS NULL OR c.doc_type = :doc_type)
            ORDER BY rank DESC, c.path
            LIMIT {CANDIDATES}
        """
        rows = conn.execute(
            text(sql), {"query": query_window(query), "lang": lang, "doc_type": doc_type}
        ).mappings()
        return [
            _hit(r, score=float(r["rank"]), text_rank=rank) for rank, r in enumerate(rows, start=1)
        ]

    @staticmethod
    def _fuse(dense: list[Hit], sparse: list[Hit]) -> list[Hit]:
        scores = reciprocal_rank_fusion(
            [[h.id for h in dense], [h.id for h in sparse]], [1.0, TEXT_WEIGHT]
        )
        by_id = {h.id: h for h in sparse} | {h.id: h for h in dense}
        text_ranks = {h.id: h.text_rank for h in sparse}
        vector_ranks = {h.id: h.vector_rank for h in dense}
        fused = [
            replace(
                by_id[i], score=score, vector_rank=vector_ranks.get(i), text_rank=text_ranks.get(i)
            )
            for i, score in scores.items()
        ]
        return sorted(fused, key=lambda h: (-h.score, h.path, h.id))
