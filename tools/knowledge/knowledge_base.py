"""`KnowledgeBase`: the one object the rest of kefu uses to ingest, search and delete knowledge."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from kefu.encoder import encoder_for
from kefu.tools.knowledge.embeddings import Encoder, shared_encoder
from kefu.tools.knowledge.ingest import IngestReport, delete_source, ingest, reembed_all
from kefu.tools.knowledge.search import (
    Filters,
    Passage,
    Scores,
    Searcher,
    SearchMode,
    SearchResult,
    SearchSettings,
)
from kefu.tools.knowledge.store import DEFAULT_COLLECTION, ChromaStore, SourceEntry

DEFAULT_LOCATION = Path(".kefu") / "knowledge"
DEMO_KB_DIR = Path(__file__).resolve().parent / "demo_kb"
#: The demo shop's knowledge: its policy (from τ-bench, MIT) and its FAQ.
DEMO_KB_FILES = (DEMO_KB_DIR / "wiki.md", DEMO_KB_DIR / "faq.json")


def _recorded_encoder(adapter: str | None) -> Encoder:
    """The encoder an index names by its adapter folder (the plain MiniLM when it has none, or when the
    folder is gone: searches then say which encoder is missing)."""
    if adapter and not Path(adapter).is_dir():
        return shared_encoder()
    return encoder_for(adapter or None)


class KnowledgeBase:
    """FAQ and policy retrieval over a Chroma collection.

    `location` is a directory (embedded Chroma, created if missing) or the http(s) URL of a Chroma server;
    everything else works the same on both. The MiniLM encoder is shared by every instance in the process and
    loaded on first use. Changes made by another instance or process are seen at the next `search`.

    `encoder` is an encoder object or an adapter folder made by `kefu kb tune` (one shared instance per
    folder). The index records the encoder that embedded it; without an `encoder`, that one is used, and followed
    when another process embeds the index again (so a knowledge base tuned with `kefu kb tune` is searched
    with its adapter by every opener, a running assistant included, from its next search). Ingesting with a
    given other encoder embeds the stored records again first; searching with one raises `EncoderMismatch`.

    >>> kb = KnowledgeBase(tmp_path)                                    # doctest: +SKIP
    >>> kb.ingest(["docs/", "faq.csv"]).ok                              # doctest: +SKIP
    >>> [r.citation for r in kb.search("how long do refunds take?", k=3)]  # doctest: +SKIP
    """

    def __init__(
        self,
        location: str | Path = DEFAULT_LOCATION,
        *,
        collection: str = DEFAULT_COLLECTION,
        settings: SearchSettings | None = None,
        encoder: Encoder | str | Path | None = None,
    ) -> None:
        self.location = location
        self.settings = settings or SearchSettings()
        self._store = ChromaStore(location, collection)
        if isinstance(encoder, str | Path):  # an adapter folder (config `knowledge.encoder`)
            encoder = encoder_for(encoder)
        follow = None if encoder is not None else _recorded_encoder
        self._searcher = Searcher(
            self._store, encoder or _recorded_encoder(self._store.encoder_entry()[1]), self.settings, follow
        )

    @property
    def encoder(self) -> Encoder:
        """The encoder that embeds queries and new records (given, or the one the index records)."""
        return self._searcher.encoder

    @classmethod
    def demo(cls, location: str | Path = DEFAULT_LOCATION, **kwargs: object) -> KnowledgeBase:
        """Open `location` and make sure the demo shop's policy and FAQ are indexed (a no-op when they are)."""
        kb = cls(location, **kwargs)  # type: ignore[arg-type]
        report = kb.ingest(DEMO_KB_FILES)
        if not report.ok:  # pragma: no cover - the files ship with the package
            raise RuntimeError(f"demo knowledge base: {report.errors}")
        return kb

    def ingest(
        self, paths: str | Path | Iterable[str | Path], *, progress: bool | None = None
    ) -> IngestReport:
        """Index files and folders (Markdown, text, HTML; CSV/JSON/JSONL FAQ files).

        A file is named in the index by its file name, a file found in a folder by "<folder>/<relative path>".
        Unchanged files are skipped, changed ones re-indexed, files gone from an ingested folder removed; files
        that cannot be used are listed in the report's `errors` and skipped.
        """
        self._searcher.adopt_recorded()
        return ingest(self._store, self.encoder, paths, progress=progress)

    def search(
        self,
        query: str,
        k: int = 5,
        filters: Filters | None = None,
        *,
        mode: SearchMode | None = None,
        threshold: float | None = None,
    ) -> list[SearchResult]:
        """The best `k` passages for `query`, best first; an empty list means "not found".

        `filters` restricts by metadata: {"category": "returns"}, {"source": ["faq.json", "wiki.md"]} (any of),
        {"kind": "faq"}, or {"field": {"$gte": 2}} with Chroma's operators ($eq $ne $in $nin $gt $gte $lt $lte).
        `mode` is "fused" (default), "dense" or "bm25"; `threshold` overrides the mode's `min_score`.
        """
        return self._searcher.search(query, k, filters, mode=mode, threshold=threshold)

    def scores(
        self, query: str, k: int = 5, filters: Filters | None = None, *, mode: SearchMode = "fused"
    ) -> Scores | None:
        """The raw scores of `query` before fusion and threshold: the dense candidate records and every passage's
        BM25 score, for evaluation and tuning (`scores.results(mode, settings, k, floor)` ranks them under any
        settings without searching again). None for an empty query or index."""
        return self._searcher.score(query, k, filters, mode=mode)

    def reembed(self) -> int:
        """Embed every stored record again with this knowledge base's encoder and record it as the index's
        encoder (after `kefu kb tune`); returns the number of records. Ingest does this by itself when the
        index was made by another encoder."""
        return reembed_all(self._store, self.encoder)

    def delete(self, source: str) -> int:
        """Remove one source (as named at ingest) from the index; returns the number of records deleted."""
        return delete_source(self._store, source)

    def sources(self) -> dict[str, SourceEntry]:
        """The indexed sources by name, with their content hash and record ids."""
        self._store.sync()
        return self._store.sources()

    def passages(self) -> list[Passage]:
        """Every indexed passage (from the current snapshot)."""
        return list(self._searcher.index().passages)

    def __len__(self) -> int:
        return len(self._searcher.index())

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
