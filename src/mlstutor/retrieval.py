"""Find the note passages that answer a question: dense (MiniLM + FAISS), BM25, or both fused.

The notes overlap heavily (five people wrote up the same exam), so the same fact often sits in three files. A
ranked list of three copies of one passage wastes the learner's and the model's attention: near-duplicates are
folded into the best-ranked copy, whose ``also_in`` remembers the other files.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import bm25s
import numpy as np
import Stemmer

from mlstutor.chunking import Chunk
from mlstutor.config import Settings
from mlstutor.embedding import Embedder, SentenceTransformerEmbedder, get_embedder
from mlstutor.errors import QueryError
from mlstutor.index import ADAPTED, BuildProgress, LoadedIndex, adapted, ensure_index
from mlstutor.text import REMINDER, asked_quantity, states_quantity

MODES = ("dense", "bm25", "hybrid")
RRF_K = 60  # the constant from Cormack et al. (2009); robust across collections
CANDIDATES = 50  # depth read from each ranker before fusion and de-duplication
RERANK_DEPTH = 30  # fused candidates re-scored with finer features
# The re-ranker is linear over eight features of a candidate passage: its fused rank (scaled to ~1 at the top),
# the IDF-weighted share of the question's terms it holds, its BM25 score (share of the best), the passage's own
# cosine, the cosines of its statements with the question -- the best, the second best and the mean -- and the
# share of its lines that only tell the learner what to study ("Know about confusion matrices … and their
# formulas" outranked the formulas). The mean's weight is negative: an overview passage that names many topics
# in passing has one close line and many unrelated ones, the passage about the subject has several close lines.
# Weights fitted as a pairwise logistic ranker on eval/facts*.jsonl (rounded), then checked on both held-out sets,
# which were never fitted on; the fit leaves the reminder share near 0, its weight is the best of a grid on the
# same dev sets.
RERANK_WEIGHTS = {
    "rank": 0.5,
    "coverage": 1.0,
    "bm25": 0.3,
    "passage": 0.9,
    "line_best": 1.0,
    "line_second": 0.5,
    "line_mean": -0.6,
    "reminder": -0.6,  # dev (before de-duplication) hit@1 0.799 -> 0.806, MRR@10 0.869 -> 0.874
    # a passage stating a quantity of the kind asked ("how long …" → a duration): dev hit@1 0.806 -> 0.810, flat
    # from 0.5 to 1.0 (the evidence lines got the same lift first)
    "quantity": 0.5,
}


@dataclass(frozen=True)
class Hit:
    """One retrieved passage: its rank (1-based), the mode's score, and other notes holding the same text."""

    chunk: Chunk
    score: float
    rank: int
    also_in: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "rank": self.rank,
            "score": round(float(self.score), 6),
            "chunk_id": self.chunk.id,
            "source": self.chunk.source,
            "heading_path": self.chunk.heading,
            "line_start": self.chunk.line_start,
            "line_end": self.chunk.line_end,
            "also_in": list(self.also_in),
            "text": self.chunk.text,
        }


def validate_query(query: str, max_chars: int) -> str:
    """The question, stripped; :class:`QueryError` for empty or over-long input."""
    if not isinstance(query, str) or not query.strip():
        raise QueryError("the question is empty: type what you want to know")
    query = query.strip()
    if len(query) > max_chars:
        raise QueryError(f"the question is {len(query):,} characters long; the limit is {max_chars:,}")
    return query


def validate_k(k: object) -> int:
    """How many passages: an integer from 1 to 100."""
    if not isinstance(k, int) or isinstance(k, bool) or k < 1 or k > 100:
        raise QueryError(f"k must be between 1 and 100, not {k!r}")
    return k


def validate_mode(mode: str) -> str:
    if mode not in MODES:
        raise QueryError(f"unknown retrieval mode {mode!r}; choose one of: {', '.join(MODES)}")
    return mode


class BM25Index:
    """Okapi BM25 over the chunks' search text, English stop words removed and Snowball-stemmed."""

    def __init__(self, texts: Sequence[str]) -> None:
        self._stemmer = Stemmer.Stemmer("english")
        self._bm25 = bm25s.BM25()
        self._bm25.index(self._tokenize(texts), show_progress=False)
        self._n = len(texts)
        self._terms = [set(t) for t in self._words(texts)]
        df: dict[str, int] = {}
        for terms in self._terms:
            for t in terms:
                df[t] = df.get(t, 0) + 1
        self._idf = {t: math.log((self._n + 1) / (n + 0.5)) for t, n in df.items()}

    def _words(self, texts: Sequence[str]) -> list[list[str]]:
        return bm25s.tokenize(
            list(texts), stopwords="en", stemmer=self._stemmer, return_ids=False, show_progress=False
        )

    def coverage(self, query: str, positions: Sequence[int]) -> list[float]:
        """IDF-weighted share of the query's terms that each passage contains: rewards the passage that has
        *all* the question's rare words over one that repeats a single one."""
        terms = set(self._words([query])[0]) if query.strip() else set()
        default = math.log(self._n + 1)
        total = sum(self._idf.get(t, default) for t in terms) or 1.0
        return [sum(self._idf.get(t, default) for t in terms if t in self._terms[p]) / total for p in positions]

    def coverage_texts(self, query: str, texts: Sequence[str]) -> list[float]:
        """:meth:`coverage` for arbitrary texts (a single line, a heading path) with this index's IDF."""
        terms = set(self._words([query])[0]) if query.strip() else set()
        default = math.log(self._n + 1)
        total = sum(self._idf.get(t, default) for t in terms) or 1.0
        return [
            sum(self._idf.get(t, default) for t in terms if t in have) / total
            for have in map(set, self._words(texts))
        ]

    def _tokenize(self, texts: Sequence[str]):
        return bm25s.tokenize(list(texts), stopwords="en", stemmer=self._stemmer, show_progress=False)

    def search(self, query: str, depth: int) -> list[tuple[int, float]]:
        tokens = bm25s.tokenize([query], stopwords="en", stemmer=self._stemmer, return_ids=False, show_progress=False)
        if not tokens or not tokens[0]:
            return []
        docs, scores = self._bm25.retrieve(tokens, k=min(depth, self._n), show_progress=False)
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]


def _query_cache(embedder: Embedder) -> Callable[[str], np.ndarray]:
    """A query's vector, remembered for the last 256 queries (read-only: callers share it)."""

    @functools.lru_cache(maxsize=256)
    def encode(query: str) -> np.ndarray:
        vec = embedder.encode([query])[0]
        vec.setflags(write=False)
        return vec

    return encode


class Retriever:
    """Search one loaded index. Thread-safe for concurrent ``search`` calls; build with :meth:`open`."""

    def __init__(self, index: LoadedIndex, embedder: Embedder, settings: Settings) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self._bm25: BM25Index | None = None
        self._lock = threading.Lock()
        self._pos = {c.id: i for i, c in enumerate(index.chunks)}
        # a question is encoded once: passages, their ordering by best line and the evidence all read its vector
        # (the cache holds the encoder, not the retriever: a swapped-out index is freed at once)
        self.query_vector = _query_cache(embedder)
        # statement vectors are stored passage by passage, in passage order: passage p's are rows
        # line_starts[p]:line_starts[p + 1] of the index's line vectors
        self.line_starts = np.searchsorted(index.line_owner, np.arange(len(index.chunks) + 1))
        # "Know about confusion matrices … and their formulas" tells the learner what to study, it states nothing
        self.reminder_share = [
            sum(bool(REMINDER.match(t)) for _, t in c.statements) / max(1, len(c.statements)) for c in index.chunks
        ]

    def position(self, chunk: Chunk) -> int:
        """The chunk's row in this index (its vector, its statements' vectors)."""
        return self._pos[chunk.id]

    def similarity(self, query_vec: np.ndarray, chunk: Chunk) -> float:
        """Cosine similarity of an encoded query with a chunk of this index."""
        return float(self.index.vectors[self._pos[chunk.id]] @ query_vec)

    @classmethod
    def open(
        cls, settings: Settings | None = None, progress: BuildProgress | None = None, load_encoder: bool = True
    ) -> Retriever:
        """Load the index for ``settings`` (building it first when missing or stale). ``load_encoder=False``: the
        encoder loads on the first search instead (a CLI quiz from the stored bank never searches: ~8 s saved)."""
        settings = settings or Settings.from_env()
        index = ensure_index(settings, progress)
        if settings.adapted and (fitted := adapted(index)):
            folder, index = fitted
            encoder = SentenceTransformerEmbedder(ADAPTED, folder)
            if load_encoder:  # loaded now, beside its vectors (not lazily, after a refit replaced them)
                encoder.encode(["warm up"])
            return cls(index, encoder, settings)
        return cls(index, get_embedder(settings.embedding_model), settings)

    @property
    def chunks(self) -> list[Chunk]:
        return self.index.chunks

    @property
    def bm25(self) -> BM25Index:
        with self._lock:
            if self._bm25 is None:
                self._bm25 = BM25Index([c.search_text_with(self.settings.heading_context) for c in self.index.chunks])
            return self._bm25

    def _dense(self, qv: np.ndarray, depth: int) -> list[tuple[int, float]]:
        scores, ids = self.index.faiss_index.search(qv[None, :], min(depth, len(self.index.chunks)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def _line_stats(self, qv: np.ndarray, positions: Sequence[int]) -> list[tuple[float, float, float]]:
        """Best, second best and mean cosine of each passage's statements with the question."""
        sims = self.index.line_vectors @ qv
        out = []
        for p in positions:
            lo, hi = self.line_starts[p], self.line_starts[p + 1]
            s = np.sort(sims[lo:hi])[::-1] if hi > lo else np.zeros(1, dtype="float32")
            out.append((float(s[0]), float(s[1] if len(s) > 1 else s[0]), float(s.mean())))
        return out

    def ranked(self, query: str, mode: str, depth: int = CANDIDATES) -> list[tuple[int, float]]:
        """(chunk position, score) best first, before de-duplication."""
        if mode == "bm25":
            return self.bm25.search(query, depth)
        qv = self.query_vector(query)
        if mode == "dense":
            return self._dense(qv, depth)
        fused, feats = self.candidates(query, qv, depth)
        head = list(feats)
        scores = {p: sum(RERANK_WEIGHTS[name] * x for name, x in f.items()) for p, f in feats.items()}
        head.sort(key=lambda p: -scores[p])
        tail = sorted((p for p in fused if p not in scores), key=lambda p: -fused[p])
        floor = min(scores.values(), default=0.0)
        last = min((fused[p] for p in head), default=1.0) or 1.0
        return [(p, scores[p]) for p in head] + [(p, floor - 1.0 + fused[p] / last) for p in tail]

    def candidates(
        self, query: str, qv: np.ndarray, depth: int = CANDIDATES
    ) -> tuple[dict[int, float], dict[int, dict[str, float]]]:
        """Dense and BM25 runs fused by reciprocal rank (position -> fused score), and the re-ranker's features
        (:data:`RERANK_WEIGHTS`' names) of the best :data:`RERANK_DEPTH` -- also what the weights are fitted on
        (``scripts/fit_reranker.py``)."""
        dense, sparse = self._dense(qv, depth), self.bm25.search(query, depth)
        fused: dict[int, float] = {}
        for run in (dense, sparse):
            for rank, (pos, _) in enumerate(run, start=1):
                fused[pos] = fused.get(pos, 0.0) + 1.0 / (RRF_K + rank)
        head = sorted(fused, key=lambda p: -fused[p])[:RERANK_DEPTH]
        bm25 = dict(sparse)
        top = max(bm25.values(), default=0.0) or 1.0
        kind = asked_quantity(query)
        feats = {
            p: {
                "rank": RRF_K / (RRF_K + r),
                "coverage": c,
                "bm25": bm25.get(p, 0.0) / top,
                "passage": float(self.index.vectors[p] @ qv),
                "line_best": best,
                "line_second": second,
                "line_mean": mean,
                "reminder": self.reminder_share[p],
                "quantity": float(kind is not None and self._states(kind, query, p)),
            }
            for r, (p, c, (best, second, mean)) in enumerate(
                zip(head, self.bm25.coverage(query, head), self._line_stats(qv, head))
            )
        }
        return fused, feats

    def _states(self, kind: str, query: str, p: int) -> bool:
        """Does passage ``p`` state a quantity of the ``kind`` the query asks for?"""
        return any(states_quantity(kind, query, t) for _, t in self.index.chunks[p].statements)

    def _dedup(self, ranked: list[tuple[int, float]], k: int) -> list[Hit]:
        vectors = self.index.vectors
        kept: list[tuple[int, float, list[str]]] = []
        for pos, score in ranked:
            twin = None
            if kept:
                sims = vectors[[p for p, _, _ in kept]] @ vectors[pos]
                best = int(np.argmax(sims))
                if sims[best] >= self.settings.dedup_threshold:
                    twin = best
            if twin is not None:
                source = self.index.chunks[pos].source
                holder = kept[twin]
                if source != self.index.chunks[holder[0]].source and source not in holder[2]:
                    holder[2].append(source)
                continue
            if len(kept) < k:  # past k, keep scanning only to collect duplicates' sources
                kept.append((pos, score, []))
        return [
            Hit(self.index.chunks[pos], score, rank, tuple(also))
            for rank, (pos, score, also) in enumerate(kept, start=1)
        ]

    def search(self, query: str, k: int | None = None, mode: str | None = None) -> list[Hit]:
        """The ``k`` best distinct passages for ``query``, as the ranker orders them (what the learner's search and
        the eval show is :meth:`mlstutor.evidence.EvidenceFinder.search`: the first six then ordered by best line)."""
        query = validate_query(query, self.settings.max_query_chars)
        mode = validate_mode(mode or self.settings.mode)
        k = validate_k(self.settings.k if k is None else k)
        return self._dedup(self.ranked(query, mode), k)
