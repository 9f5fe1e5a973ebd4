"""Finding passages: dense search in Chroma, BM25 with bm25s, and a weighted fusion of the two.

Dense search asks Chroma for the records nearest to the query vector (section chunks, FAQ answers and every FAQ
question phrasing) and scores each passage by the mean cosine of its best two records, so an FAQ entry that
several of its phrasings support beats one that a single phrasing happens to match. BM25 runs in memory over one
text per passage (heading path, question, sample questions and answer). Fusion adds the two, the BM25 score
squashed into [0, 1):

    fused = (1 - w) * dense + w * bm25 / (bm25 + K)

so a strong keyword match can lift a passage, and the score keeps an absolute meaning that a threshold can use:
below `min_score` there is no answer in the knowledge base ("not found", an empty result list). The defaults
were tuned on the non-held-out part of the retrieval evaluation (`python -m kefu.evals.retrieval`, numbers in
docs/benchmarks_knowledge.md).

The in-memory side (passages and the BM25 index) is a snapshot of one generation of the store; every search
first reads the generation token (one small read) and rebuilds the snapshot when another instance or process
has changed the index.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import bm25s
import numpy as np

from kefu.encoder import encoder_identity
from kefu.tools.knowledge.documents import PassageKind
from kefu.tools.knowledge.embeddings import Encoder
from kefu.tools.knowledge.ingest import RESERVED_KEYS
from kefu.tools.knowledge.store import ChromaStore

SearchMode = Literal["dense", "bm25", "fused"]
SEARCH_MODES: tuple[SearchMode, ...] = ("dense", "bm25", "fused")
FilterValue = str | int | float | bool
Filters = Mapping[str, FilterValue | Sequence[FilterValue] | Mapping[str, Any]]

_OPERATORS = ("$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte")


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrievable piece of knowledge: a chunk of a document section, or an FAQ entry."""

    id: str
    """Stable id: "<source>#<anchor>", with "@<n>" for a section's further chunks."""
    source: str
    """The file it came from, as named at ingest ("demo_kb/faq.json", "wiki.md")."""
    anchor: str
    """The heading path joined by " > " (sections) or the entry id (FAQ)."""
    kind: PassageKind
    heading_path: tuple[str, ...]
    """Headings above the chunk, outermost first; for an FAQ entry, its category."""
    text: str
    """The section text or the FAQ answer."""
    question: str | None = None
    """The FAQ entry's question (None for document sections)."""
    sample_questions: tuple[str, ...] = ()
    chunk: int = 0
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """FAQ fields such as category, usable as filters."""

    @property
    def section_id(self) -> str:
        """The passage id without the chunk number: "<source>#<anchor>"."""
        return f"{self.source}#{self.anchor}"

    @property
    def citation(self) -> str:
        """Human-readable reference: "wiki.md › Retail agent policy › Cancel pending order"."""
        parts = [self.source, *self.heading_path]
        if self.kind == "faq" and self.question:
            parts.append(self.question)
        return " › ".join(parts)


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One passage found for a query."""

    passage: Passage
    score: float
    """The ranking score of the mode used (fused: in [0, 1]; dense: cosine; bm25: squashed BM25)."""
    snippet: str
    """The start of the passage text, whitespace-collapsed, cut at a word boundary."""
    dense_score: float | None = None
    """Cosine similarity of the passage's best record, when dense search ran and reached it."""
    bm25_score: float | None = None
    """Raw BM25 score, when BM25 ran."""
    confident: bool = True
    """The score reaches the mode's `confident_score`: likely the answer, not only the nearest passage."""

    @property
    def source(self) -> str:
        return self.passage.source

    @property
    def heading_path(self) -> tuple[str, ...]:
        return self.passage.heading_path

    @property
    def text(self) -> str:
        return self.passage.text

    @property
    def citation(self) -> str:
        return self.passage.citation


@dataclass(frozen=True, slots=True)
class SearchSettings:
    """How `search` ranks and when it answers "not found"."""

    mode: SearchMode = "fused"
    """Default mode, chosen by held-out evaluation."""
    bm25_weight: float = 0.5
    """w in fused = (1 - w) * dense + w * bm25 / (bm25 + K)."""
    bm25_saturation: float = 32.0
    """K: the BM25 score that counts as half a match."""
    dense_top: int = 2
    """A passage's dense score is the mean cosine of its best `dense_top` records (FAQ phrasings, answer)."""
    min_score: Mapping[SearchMode, float] = field(
        default_factory=lambda: {"dense": 0.35, "bm25": 0.04, "fused": 0.19}
    )
    """Per mode: results scoring below this are dropped; no result left means "not found"."""
    confident_score: Mapping[SearchMode, float] = field(
        default_factory=lambda: {"dense": 0.54, "bm25": 0.07, "fused": 0.29}
    )
    """Per mode: a result scoring below this is shown as "the closest I found", not as the answer. Between the
    two thresholds lie the questions the documents are near but may not answer ("do you ship internationally?"
    finds the passage on when orders ship)."""
    dense_candidates: int = 64
    """Records fetched from Chroma per query (raised to 8 × k when k is large)."""
    snippet_chars: int = 280


class EncoderMismatch(RuntimeError):
    """A dense search with another encoder than the one that embedded the index: its scores would mean
    nothing, so it is refused (BM25-only search still works)."""


class PassageIndex:
    """The passages of one store generation, with their BM25 index and filterable metadata."""

    def __init__(
        self,
        generation: str | None,
        passages: list[Passage],
        records: dict[str, int],
        meta: list[dict],
        encoder: str | None = None,
        adapter: str | None = None,
    ):
        self.generation = generation
        self.encoder = encoder
        """The identity of the encoder that embedded the records (None: an empty index)."""
        self.adapter = adapter
        """Where that encoder's adapter is (None: the plain MiniLM or a test double)."""
        self.passages = passages
        self.record_passage = records
        self.record_counts = np.bincount(
            np.fromiter(records.values(), dtype=np.int64), minlength=len(passages)
        )
        self._meta = meta
        self.bm25: bm25s.BM25 | None = None
        self._vocab: set[str] = set()
        if passages:
            corpus = tokenize([_bm25_text(p) for p in passages])
            self.bm25 = bm25s.BM25()
            self.bm25.index(corpus, show_progress=False)
            self._vocab = set(self.bm25.vocab_dict)

    def __len__(self) -> int:
        return len(self.passages)

    def bm25_scores(self, query: str) -> np.ndarray:
        tokens = [t for t in tokenize([query])[0] if t in self._vocab]
        if self.bm25 is None or not tokens:
            return np.zeros(len(self.passages), dtype=np.float32)
        return np.asarray(self.bm25.get_scores(tokens), dtype=np.float32)

    def mask(self, filters: Filters | None) -> np.ndarray | None:
        if not filters:
            return None
        return np.fromiter((matches(m, filters) for m in self._meta), dtype=bool, count=len(self._meta))


def load_index(store: ChromaStore) -> PassageIndex:
    """Snapshot the committed passages of `store` (retried if a commit lands while reading)."""
    for _ in range(3):
        generation = store.sync()
        encoder, adapter = store.encoder_entry()
        visible: set[str] = set()
        for entry in store.sources().values():
            visible |= entry.record_ids
        rows = [(i, d, m) for i, d, m in store.load() if i in visible and m]
        if store.sync() == generation:
            break
    primary: dict[str, tuple[str, Mapping[str, Any]]] = {}
    questions: dict[str, list[str]] = {}
    record_pid: dict[str, str] = {}
    for record_id, document, metadata in rows:
        pid = str(metadata["passage"])
        record_pid[record_id] = pid
        if metadata.get("record") == "question":
            questions.setdefault(pid, []).append(document or "")
        else:
            primary[pid] = (document or "", metadata)
    passages: list[Passage] = []
    meta: list[dict] = []
    for pid in sorted(primary):
        text, m = primary[pid]
        question = m.get("question") or None
        heading = str(m.get("heading") or "")
        passages.append(
            Passage(
                id=pid,
                source=str(m["source"]),
                anchor=str(m.get("anchor", "")),
                kind="faq" if m.get("kind") == "faq" else "section",
                heading_path=tuple(heading.split(" > ")) if heading else (),
                text=text,
                question=str(question) if question else None,
                sample_questions=tuple(sorted(q for q in questions.get(pid, []) if q != question)),
                chunk=int(m.get("chunk", 0)),
                metadata={k: v for k, v in m.items() if k not in RESERVED_KEYS},
            )
        )
        meta.append(dict(m))
    position = {p.id: i for i, p in enumerate(passages)}
    records = {rid: position[pid] for rid, pid in record_pid.items() if pid in position}
    return PassageIndex(generation, passages, records, meta, encoder, adapter)


class Searcher:
    """Runs searches against a store, keeping the in-memory snapshot up to date."""

    def __init__(
        self,
        store: ChromaStore,
        encoder: Encoder,
        settings: SearchSettings,
        follow: Callable[[str | None], Encoder] | None = None,
    ) -> None:
        self.store = store
        self.encoder = encoder
        self.follow = follow
        """Given: the encoder follows the index's (loaded from its adapter reference by this function) when
        another process re-embeds it, as `kefu kb tune` does; else a mismatch is an error."""
        self.settings = settings
        self._index: PassageIndex | None = None
        self._lock = threading.Lock()

    def adopt_recorded(self) -> None:
        """Following: take the encoder the store records now (before an ingest, which would otherwise
        re-embed the index back to a stale one)."""
        if self.follow is not None:
            self._adopt(*self.store.encoder_entry())

    def _adopt(self, made_by: str | None, adapter: str | None) -> None:
        if self.follow is not None and made_by is not None and made_by != encoder_identity(self.encoder):
            self.encoder = self.follow(adapter)

    def index(self) -> PassageIndex:
        """The snapshot of the current generation (rebuilt if the store changed since the last call)."""
        generation = self.store.sync()
        with self._lock:
            if self._index is None or self._index.generation != generation:
                self._index = load_index(self.store)
            return self._index

    def search(
        self,
        query: str,
        k: int = 5,
        filters: Filters | None = None,
        *,
        mode: SearchMode | None = None,
        threshold: float | None = None,
    ) -> list[SearchResult]:
        mode = mode or self.settings.mode
        scores = self.score(query, k, filters, mode=mode)
        if scores is None:
            return []
        floor = self.settings.min_score.get(mode, 0.0) if threshold is None else threshold
        return scores.results(mode, self.settings, k, floor)

    def score(
        self, query: str, k: int = 5, filters: Filters | None = None, *, mode: SearchMode = "fused"
    ) -> Scores | None:
        """The dense candidates and BM25 scores for `query` (None for an empty query or index)."""
        if mode not in SEARCH_MODES:
            raise ValueError(f"unknown search mode {mode!r}; expected one of {', '.join(SEARCH_MODES)}")
        _check_filters(filters)
        query = " ".join(query.split())
        index = self.index()
        if not query or not len(index) or k <= 0:
            return None
        mask = index.mask(filters)
        hits = np.zeros(0, dtype=np.int64)
        sims = np.zeros(0, dtype=np.float32)
        bm25 = np.zeros(len(index), dtype=np.float32)
        if mode != "bm25":
            made_by = index.encoder
            self._adopt(made_by, index.adapter)
            if made_by is not None and made_by != encoder_identity(self.encoder):
                raise EncoderMismatch(
                    f"this knowledge base was embedded by {made_by}, not by {encoder_identity(self.encoder)}: "
                    "open it with the encoder it was built with (config `knowledge.encoder`), or ingest "
                    "with the new one, which embeds the stored records again"
                )
            vector = self.encoder.encode([query])[0]
            wanted = max(self.settings.dense_candidates, 8 * k)
            ids, similarities = self.store.query(vector, wanted, chroma_where(filters))
            found = [(index.record_passage.get(i, -1), s) for i, s in zip(ids, similarities, strict=True)]
            hits = np.array([p for p, _ in found], dtype=np.int64)
            sims = np.array([s for _, s in found], dtype=np.float32)
        if mode != "dense":
            bm25 = index.bm25_scores(query)
            if mask is not None:
                bm25 = np.where(mask, bm25, 0.0).astype(np.float32)
        return Scores(index, hits, sims, bm25, mask, dense_ran=mode != "bm25", bm25_ran=mode != "dense")


@dataclass(frozen=True, slots=True)
class Scores:
    """What one query scored, before fusion: the dense candidate records and every passage's BM25 score."""

    index: PassageIndex
    hits: np.ndarray
    """Passage index of each dense candidate record, nearest first (-1: a record not in the snapshot)."""
    sims: np.ndarray
    """Cosine similarity of each dense candidate record."""
    bm25: np.ndarray
    """BM25 score of every passage (0 where filtered out)."""
    mask: np.ndarray | None
    """Passages allowed by the filters (None: all)."""
    dense_ran: bool
    bm25_ran: bool

    def dense(self, top: int) -> np.ndarray:
        """Dense score per passage (NaN: none of its records among the candidates): the mean similarity of its
        `top` best records. A passage with fewer records averages those it has; its records that did not make
        the candidate list count as the weakest candidate."""
        dense = np.full(len(self.index), np.nan, dtype=np.float32)
        if not self.sims.size:
            return dense
        found: dict[int, list[float]] = {}
        for i, sim in zip(self.hits.tolist(), self.sims.tolist(), strict=True):
            if i >= 0:
                found.setdefault(i, []).append(sim)
        floor = float(self.sims.min())
        for i, values in found.items():
            best = values[:top]  # already nearest first
            best += [floor] * (min(top, int(self.index.record_counts[i])) - len(best))
            dense[i] = sum(best) / len(best)
        if self.mask is not None:
            dense[~self.mask] = np.nan
        return dense

    def results(self, mode: SearchMode, settings: SearchSettings, k: int, floor: float) -> list[SearchResult]:
        """The best `k` passages in `mode` scoring at least `floor`."""
        dense = self.dense(settings.dense_top)
        scores = fuse(dense, self.bm25, mode, settings)
        sure = settings.confident_score.get(mode, 0.0)
        order = np.argsort(-np.nan_to_num(scores, nan=-np.inf), kind="stable")[:k]
        results: list[SearchResult] = []
        for i in (int(i) for i in order):
            score = float(scores[i])
            if np.isnan(score) or score < floor:
                break
            passage = self.index.passages[i]
            results.append(
                SearchResult(
                    passage=passage,
                    score=score,
                    snippet=snippet(passage.text, settings.snippet_chars),
                    dense_score=None if np.isnan(dense[i]) else float(dense[i]),
                    bm25_score=float(self.bm25[i]) if self.bm25_ran else None,
                    confident=score >= sure,
                )
            )
        return results


def fuse(dense: np.ndarray, bm25: np.ndarray, mode: SearchMode, settings: SearchSettings) -> np.ndarray:
    """The ranking score of every passage in `mode` (NaN: not a candidate)."""
    squashed = bm25 / (bm25 + settings.bm25_saturation)
    if mode == "bm25":
        return np.where(bm25 > 0, squashed, np.nan)
    if mode == "dense":
        return dense
    # Passages outside the dense candidates score at most the weakest candidate's similarity.
    reached = dense[~np.isnan(dense)]
    floor = float(reached.min()) if reached.size else 0.0
    w = settings.bm25_weight
    fused = (1 - w) * np.nan_to_num(dense, nan=floor) + w * squashed
    return np.where(np.isnan(dense) & (bm25 <= 0), np.nan, fused)


# --- helpers --------------------------------------------------------------------------------------------

_stemmer: Any = None


def tokenize(texts: list[str]) -> list[list[str]]:
    """BM25 tokens: lower-cased words of two or more characters, English stop words removed, stemmed."""
    global _stemmer
    if _stemmer is None:
        try:
            import Stemmer

            _stemmer = Stemmer.Stemmer("english")
        except ImportError:  # pragma: no cover - PyStemmer is a dependency; without it, no stemming
            _stemmer = False
    tokens = bm25s.tokenize(
        texts, stopwords="en", stemmer=_stemmer or None, return_ids=False, show_progress=False
    )
    return [list(t) for t in tokens]


def _bm25_text(passage: Passage) -> str:
    parts = [" ".join(passage.heading_path)]
    if passage.question:
        parts.append(passage.question)
    parts.extend(passage.sample_questions)
    parts.append(passage.text)
    return "\n".join(parts)


def snippet(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat.rfind(" ", 0, limit)
    return flat[: cut if cut > limit // 2 else limit].rstrip(" ,;:") + "…"


def _check_filters(filters: Filters | None) -> None:
    for key, value in (filters or {}).items():
        if key.startswith("$"):
            raise ValueError(f"filter keys are metadata fields; {key!r} is not supported")
        if isinstance(value, Mapping):
            bad = [op for op in value if op not in _OPERATORS]
            if bad or len(value) != 1:
                raise ValueError(f"filter on {key!r}: use one of {', '.join(_OPERATORS)}")


def _condition(value: Any) -> tuple[str, Any]:
    if isinstance(value, Mapping):
        ((op, operand),) = value.items()
        return op, list(operand) if op in ("$in", "$nin") else operand
    if isinstance(value, list | tuple | set | frozenset):
        return "$in", list(value)
    return "$eq", value


def chroma_where(filters: Filters | None) -> dict[str, Any] | None:
    """Filters as a Chroma `where` clause (conditions are ANDed)."""
    if not filters:
        return None
    clauses = [{key: {op: operand}} for key, value in filters.items() for op, operand in [_condition(value)]]
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def matches(metadata: Mapping[str, Any], filters: Filters) -> bool:
    """Whether `metadata` satisfies every filter (the same semantics as Chroma's `where`)."""
    for key, value in filters.items():
        op, operand = _condition(value)
        have = metadata.get(key)
        if op == "$eq":
            ok = have == operand
        elif op == "$ne":
            ok = have != operand
        elif op == "$in":
            ok = have in operand
        elif op == "$nin":
            ok = have not in operand
        elif have is None or isinstance(have, str) != isinstance(operand, str):
            ok = False
        elif op == "$gt":
            ok = have > operand
        elif op == "$gte":
            ok = have >= operand
        elif op == "$lt":
            ok = have < operand
        else:
            ok = have <= operand
        if not ok:
            return False
    return True
