"""Where the knowledge lives: a Chroma collection on disk (PersistentClient) or on a Chroma server (HttpClient).

Both are reached through the same `ChromaStore`; only `connect` looks at the location. Two collections are used:

- `<name>` holds one record per embedded text (a section chunk, an FAQ answer, an FAQ sample question);
- `<name>-manifest` holds one entry per source file (its content hash and the ids of its committed records)
  and a generation token that every commit replaces.

A record is visible only when its id is listed in its source's manifest entry, so a file's new records become
visible at once, when its entry is replaced (see `ingest`). The generation token lets a running instance notice,
with one small read, that another process changed the index.

Embedded Chroma keeps its vector index in memory and does not see another process's writes; when the generation
moved without this process writing it, `sync` reopens the local client so that the next query reads what is on
disk. Writers should still take turns on a local directory (one ingest at a time); for several writers or
several server replicas, use a Chroma server.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings

from kefu.tools.knowledge.embeddings import MODEL_ID, MiniLMEmbeddingFunction

DEFAULT_COLLECTION = "kefu-knowledge"
_GENERATION_ID = "__generation__"
_ENCODER_ID = "__encoder__"
_SOURCE_PREFIX = "source:"
_PAGE = 2000


def is_url(location: str | Path) -> bool:
    return isinstance(location, str) and location.startswith(("http://", "https://"))


def connect(location: str | Path) -> ClientAPI:
    """A Chroma client for `location`: an http(s):// URL of a Chroma server, or a directory on disk."""
    settings = Settings(anonymized_telemetry=False)
    if is_url(location):
        url = urlparse(str(location))
        ssl = url.scheme == "https"
        return chromadb.HttpClient(
            host=url.hostname or "localhost",
            port=url.port or (443 if ssl else 8000),
            ssl=ssl,
            settings=settings,
        )
    path = Path(location).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path.resolve()), settings=settings)


@dataclass(frozen=True, slots=True)
class SourceEntry:
    """The committed state of one source file."""

    source: str
    file_hash: str
    record_ids: frozenset[str]
    passages: int
    updated_at: float = field(default=0.0, compare=False)


class _ClientHandle:
    """One client per location and process, shared by the stores on it, reopened when another process wrote."""

    def __init__(self, key: str, factory: Callable[[], ClientAPI], shared: bool) -> None:
        self.key = key
        self.shared = shared
        self._factory = factory
        self.client = factory()
        self.epoch = 0
        self.refs = 0
        self.synced: dict[str, str | None] = {}
        """Per collection: the generation this process's client is known to reflect."""
        self.lock = threading.RLock()

    def reopen(self) -> None:
        with self.lock:
            close = getattr(self.client, "close", None)
            if close is not None:
                close()
            self.client = self._factory()
            self.epoch += 1


_handles: dict[str, _ClientHandle] = {}
_handles_lock = threading.Lock()


def _acquire(location: str | Path) -> _ClientHandle:
    if is_url(location):
        handle = _ClientHandle(str(location), lambda: connect(location), shared=False)
        handle.refs = 1
        return handle
    key = str(Path(location).expanduser().resolve())
    with _handles_lock:
        shared = _handles.get(key)
        if shared is None:
            shared = _handles[key] = _ClientHandle(key, lambda: connect(key), shared=True)
        shared.refs += 1
        return shared


def _release(handle: _ClientHandle) -> None:
    with _handles_lock:
        handle.refs -= 1
        if handle.refs > 0:
            return
        if handle.shared:
            _handles.pop(handle.key, None)
    close = getattr(handle.client, "close", None)
    if close is not None:
        close()


class ChromaStore:
    """Records and manifest of one knowledge base in Chroma."""

    def __init__(self, location: str | Path, collection: str = DEFAULT_COLLECTION) -> None:
        self.location = location
        self.name = collection
        self.remote = is_url(location)
        self._handle = _acquire(location)
        self._epoch = -1
        self._records: Collection | None = None
        self._manifest: Collection | None = None
        self._closed = False
        with self._handle.lock:
            self._collections()
            if self.name not in self._handle.synced:
                self._handle.synced[self.name] = self._read_generation()

    # --- plumbing ---------------------------------------------------------------------------------------

    def _collections(self) -> tuple[Collection, Collection]:
        if self._closed:
            raise RuntimeError("the knowledge store is closed")
        if self._epoch != self._handle.epoch or self._records is None or self._manifest is None:
            client = self._handle.client
            self._records = client.get_or_create_collection(
                self.name,
                embedding_function=MiniLMEmbeddingFunction(),
                configuration={"hnsw": {"space": "cosine"}},
            )
            # Entries carry a one-dimensional placeholder vector; no embedding function may be involved.
            self._manifest = client.get_or_create_collection(f"{self.name}-manifest", embedding_function=None)
            self._epoch = self._handle.epoch
        return self._records, self._manifest

    def _read_generation(self) -> str | None:
        _, manifest = self._collections()
        got = manifest.get(ids=[_GENERATION_ID], include=["metadatas"])
        metadatas = got.get("metadatas") or []
        return str(metadatas[0]["token"]) if got["ids"] and metadatas and metadatas[0] else None

    @property
    def batch_size(self) -> int:
        try:
            return max(1, min(5000, int(self._handle.client.get_max_batch_size())))
        except Exception:  # older servers
            return 1000

    # --- generation -------------------------------------------------------------------------------------

    def sync(self) -> str | None:
        """The current generation token; reopens a local client first if another process changed the index."""
        with self._handle.lock:
            generation = self._read_generation()
            if generation != self._handle.synced.get(self.name):
                if not self.remote:
                    self._handle.reopen()
                    generation = self._read_generation()
                self._handle.synced[self.name] = generation
            return generation

    # --- encoder --------------------------------------------------------------------------------------

    def encoder_id(self) -> str | None:
        """The identity of the encoder that embedded the stored records (`kefu.encoder.encoder_identity`).

        Indexes written before encoders were recorded were all embedded by the plain MiniLM, so a filled
        index without the entry reads as MODEL_ID; an empty one as None (any encoder may fill it).
        """
        return self.encoder_entry()[0]

    def encoder_entry(self) -> tuple[str | None, str | None]:
        """(encoder identity, adapter folder): where later openers load the adapter from; None for the plain
        MiniLM (or an encoder that is not MiniLM, such as a test double)."""
        with self._handle.lock:
            records, manifest = self._collections()
            got = manifest.get(ids=[_ENCODER_ID], include=["documents", "metadatas"])
            documents = got.get("documents") or []
            metadatas = got.get("metadatas") or []
            if got["ids"] and documents and documents[0]:
                adapter = (metadatas[0] or {}).get("adapter") if metadatas else None
                return str(documents[0]), str(adapter) if adapter else None
            return (MODEL_ID if records.count() else None), None

    def set_encoder_id(self, identity: str, adapter: str | None = None) -> str:
        """Record `identity` (and where its adapter is) as the index's encoder and move the generation."""
        token = uuid.uuid4().hex
        with self._handle.lock:
            _, manifest = self._collections()
            manifest.upsert(
                ids=[_GENERATION_ID, _ENCODER_ID],
                embeddings=np.ones((2, 1), dtype=np.float32),
                documents=["", identity],
                metadatas=[{"token": token}, {"adapter": adapter or ""}],
            )
            self._handle.synced[self.name] = token
        return token

    def reembed(self, ids: Sequence[str], embeddings: np.ndarray) -> None:
        """Replace the vectors of stored records, leaving their documents and metadata as they are."""
        with self._handle.lock:
            records, _ = self._collections()
            step = self.batch_size
            for i in range(0, len(ids), step):
                records.update(ids=list(ids[i : i + step]), embeddings=embeddings[i : i + step])

    # --- manifest ---------------------------------------------------------------------------------------

    def sources(self) -> dict[str, SourceEntry]:
        """The committed sources, by name."""
        with self._handle.lock:
            _, manifest = self._collections()
            entries: dict[str, SourceEntry] = {}
            for ids, documents, metadatas in _pages(manifest, include=["documents", "metadatas"]):
                for id_, document, metadata in zip(ids, documents, metadatas, strict=True):
                    if not id_.startswith(_SOURCE_PREFIX) or not metadata:
                        continue
                    source = id_[len(_SOURCE_PREFIX) :]
                    entries[source] = SourceEntry(
                        source=source,
                        file_hash=str(metadata.get("file_hash", "")),
                        record_ids=frozenset(json.loads(document or "[]")),
                        passages=int(metadata.get("passages", 0)),
                        updated_at=float(metadata.get("updated_at", 0.0)),
                    )
            return entries

    def commit(self, entry: SourceEntry | None, source: str) -> str:
        """Make `entry` the committed state of `source` (None: remove it) and move the generation."""
        token = uuid.uuid4().hex
        with self._handle.lock:
            _, manifest = self._collections()
            ids = [_GENERATION_ID]
            documents = [""]
            metadatas: list[Mapping[str, Any]] = [{"token": token}]
            if entry is None:
                manifest.delete(ids=[_SOURCE_PREFIX + source])
            else:
                ids.append(_SOURCE_PREFIX + source)
                documents.append(json.dumps(sorted(entry.record_ids)))
                metadatas.append(
                    {
                        "file_hash": entry.file_hash,
                        "passages": entry.passages,
                        "records": len(entry.record_ids),
                        "updated_at": entry.updated_at or time.time(),
                    }
                )
            manifest.upsert(
                ids=ids,
                embeddings=np.ones((len(ids), 1), dtype=np.float32),
                documents=documents,
                metadatas=metadatas,  # type: ignore[arg-type]
            )
            self._handle.synced[self.name] = token
        return token

    # --- records ----------------------------------------------------------------------------------------

    def record_sources(self) -> dict[str, set[str]]:
        """Every stored record id, committed or not, grouped by source."""
        with self._handle.lock:
            records, _ = self._collections()
            by_source: dict[str, set[str]] = {}
            for ids, _docs, metadatas in _pages(records, include=["metadatas"]):
                for id_, metadata in zip(ids, metadatas, strict=True):
                    by_source.setdefault(str((metadata or {}).get("source", "")), set()).add(id_)
            return by_source

    def upsert(
        self,
        ids: Sequence[str],
        embeddings: np.ndarray,
        documents: Sequence[str],
        metadatas: Sequence[Mapping[str, Any]],
    ) -> None:
        with self._handle.lock:
            records, _ = self._collections()
            step = self.batch_size
            for i in range(0, len(ids), step):
                records.upsert(
                    ids=list(ids[i : i + step]),
                    embeddings=embeddings[i : i + step],
                    documents=list(documents[i : i + step]),
                    metadatas=list(metadatas[i : i + step]),  # type: ignore[arg-type]
                )

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        with self._handle.lock:
            records, _ = self._collections()
            step = self.batch_size
            for i in range(0, len(ids), step):
                records.delete(ids=ids[i : i + step])

    def load(self) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
        """Every stored record as (id, document, metadata)."""
        with self._handle.lock:
            records, _ = self._collections()
            pages = list(_pages(records, include=["documents", "metadatas"]))
        for ids, documents, metadatas in pages:
            yield from zip(ids, documents, metadatas, strict=True)

    def query(
        self, embedding: np.ndarray, n: int, where: Mapping[str, Any] | None
    ) -> tuple[list[str], list[float]]:
        """Ids and cosine similarities of the `n` nearest records (matching `where`), nearest first."""
        with self._handle.lock:
            records, _ = self._collections()
            got = records.query(
                query_embeddings=embedding.reshape(1, -1),
                n_results=n,
                where=dict(where) if where else None,
                include=["distances"],
            )
        ids = got["ids"][0]
        distances = (got.get("distances") or [[]])[0]
        return ids, [1.0 - float(d) for d in distances]

    def count(self) -> int:
        with self._handle.lock:
            records, _ = self._collections()
            return records.count()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            _release(self._handle)


def _pages(collection: Collection, include: list[str]) -> Iterator[tuple[list[str], list[Any], list[Any]]]:
    offset = 0
    while True:
        got = collection.get(limit=_PAGE, offset=offset, include=include)  # type: ignore[arg-type]
        ids = got["ids"]
        if not ids:
            return
        none: list[Any] = [None] * len(ids)
        documents: list[Any] = list(got.get("documents") or none)
        metadatas: list[Any] = list(got.get("metadatas") or none)
        yield ids, documents, metadatas
        if len(ids) < _PAGE:
            return
        offset += len(ids)
