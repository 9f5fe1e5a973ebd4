"""Bringing files into the index: read, chunk, embed what is new, upsert, commit, clean up.

Each record's id is a hash of its source and content, so re-ingesting is idempotent and only changed chunks are
embedded again. A file goes in with three steps:

1. upsert its new records (not yet visible: they are not in the manifest);
2. commit: replace the file's manifest entry (content hash + record ids) and the generation token in one write;
   readers now see exactly the new version;
3. delete the file's records that the entry no longer lists.

An ingest stopped anywhere leaves every file either in its old or its new version; the next run sees the
difference (hash or leftover records) and finishes the work without embedding again what is already stored.
Files that cannot be read (binary, not UTF-8, empty, unsupported, malformed) are reported and skipped; a file
that was indexed before keeps its previous version. Files removed from an ingested folder are removed from the
index.

The index records which encoder embedded it. Ingesting with another one (a tuned adapter, `kefu kb tune`)
first embeds every stored record again from its stored text (`reembed_all`), then records the new encoder:
vectors of two encoders are never mixed in one index once the run ends, and a stopped run is redone.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from kefu.encoder import encoder_identity
from kefu.tools.knowledge.documents import (
    SUPPORTED_SUFFIXES,
    DocumentError,
    MetadataValue,
    ParsedPassage,
    parse_bytes,
)
from kefu.tools.knowledge.embeddings import Encoder
from kefu.tools.knowledge.store import ChromaStore, SourceEntry

RecordKind = Literal["section", "answer", "question"]

#: Metadata keys the index writes itself; FAQ fields with these names are stored as "meta_<name>".
RESERVED_KEYS = frozenset({"source", "kind", "passage", "anchor", "heading", "chunk", "record", "question"})

#: Embed this many new records at a time (across small files), then commit the files they belong to.
_EMBED_GROUP = 512
#: With `progress=None`, show a progress bar when at least this many records are to be embedded.
_PROGRESS_MIN = 500


@dataclass(frozen=True, slots=True)
class FileProblem:
    """A file (or part of one) that was not ingested, and why."""

    path: str
    reason: str


@dataclass(slots=True)
class IngestReport:
    """What one `ingest` call did."""

    added: list[str] = field(default_factory=list)
    """Sources indexed for the first time."""
    updated: list[str] = field(default_factory=list)
    """Sources whose content changed and was re-indexed."""
    unchanged: list[str] = field(default_factory=list)
    """Sources already indexed with the same content (nothing embedded)."""
    removed: list[str] = field(default_factory=list)
    """Sources dropped because their file is gone."""
    errors: list[FileProblem] = field(default_factory=list)
    """Files skipped: unreadable, binary, empty, unsupported or malformed."""
    warnings: list[FileProblem] = field(default_factory=list)
    """Files ingested with some part skipped (e.g. an FAQ row without an answer)."""
    passages: int = 0
    """Passages in the sources added or updated."""
    embedded: int = 0
    """Records embedded by this call (records already stored are reused)."""
    reembedded: int = 0
    """Stored records embedded again first because the index was made by another encoder."""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


@dataclass(frozen=True, slots=True)
class Record:
    """One embedded text of a passage, as stored in Chroma."""

    id: str
    kind: RecordKind
    document: str
    """Stored text: the section chunk, the FAQ answer, or one FAQ question."""
    embed_text: str
    """What the encoder sees (the section text with its heading path, the question with the answer, ...)."""
    metadata: Mapping[str, MetadataValue]


def passage_id(source: str, passage: ParsedPassage) -> str:
    """Stable passage id: "<source>#<anchor>", plus "@<n>" for the n-th further chunk of a section."""
    return f"{source}#{passage.anchor}" + (f"@{passage.chunk}" if passage.chunk else "")


def build_records(source: str, passages: Iterable[ParsedPassage]) -> list[Record]:
    """The records that index `passages`: one per section chunk; for an FAQ entry one for the answer (embedded
    with its question) and one per question phrasing."""
    records: dict[str, Record] = {}
    for passage in passages:
        pid = passage_id(source, passage)
        base: dict[str, MetadataValue] = {}
        for key, value in passage.metadata.items():
            base[f"meta_{key}" if key in RESERVED_KEYS else key] = value
        heading = " > ".join(passage.heading_path)
        base.update(
            source=source,
            kind=passage.kind,
            passage=pid,
            anchor=passage.anchor,
            heading=heading,
            chunk=passage.chunk,
        )
        if passage.kind == "section":
            items: list[tuple[RecordKind, str, dict[str, MetadataValue]]] = [("section", passage.text, {})]
        else:
            question = passage.question or ""
            items = [("answer", passage.text, {"question": question})]
            items += [("question", q, {}) for q in (question, *passage.sample_questions) if q]
        for kind, document, extra in items:
            metadata = {**base, **extra, "record": kind}
            embed = text_to_embed(document, metadata)
            digest = hashlib.sha256(
                json.dumps(
                    [source, pid, kind, document, embed, metadata], sort_keys=True, ensure_ascii=False
                ).encode()
            ).hexdigest()[:32]
            records.setdefault(digest, Record(digest, kind, document, embed, metadata))
    return list(records.values())


def text_to_embed(document: str, metadata: Mapping[str, Any]) -> str:
    """What the encoder sees for a stored record: a section chunk with its heading path, an FAQ answer with its
    question, a question as it is. Stored records are re-embedded from their document and metadata alone."""
    record = metadata.get("record")
    if record == "section":
        heading = str(metadata.get("heading") or "")
        return f"{heading}: {document}" if heading else document
    if record == "answer":
        return f"{metadata.get('question') or ''} {document}"
    return document


def reembed_all(store: ChromaStore, encoder: Encoder, *, batch: int = 128) -> int:
    """Embed every stored record again with `encoder` and record it as the index's encoder; returns the count.

    Documents and metadata stay; only vectors change, so nothing needs the original files. Until the last
    batch is written the index still names the old encoder, so a stopped run is simply done again.
    """
    rows = [(i, text_to_embed(d or "", m or {})) for i, d, m in store.load()]
    rows.sort(key=lambda row: len(row[1]))
    for start in range(0, len(rows), batch):
        part = rows[start : start + batch]
        store.reembed([i for i, _ in part], encoder.encode([t for _, t in part]))
    store.set_encoder_id(encoder_identity(encoder), adapter_reference(encoder))
    return len(rows)


def adapter_reference(encoder: Encoder) -> str | None:
    """Where later openers of an index find the adapter of `encoder` (its folder); None for none."""
    adapter = getattr(encoder, "adapter", None)
    return str(Path(adapter).resolve()) if adapter is not None else None


@dataclass(slots=True)
class _Target:
    source: str
    path: Path | None
    """None when the file was named explicitly but no longer exists."""


def _targets(paths: Iterable[str | Path], report: IngestReport) -> tuple[list[_Target], list[str]]:
    """Files to ingest, with their source names, and the folder prefixes whose missing files are pruned."""
    targets: dict[str, _Target] = {}
    roots: list[str] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            root = path.resolve().name or "root"
            roots.append(root + "/")
            for file in _walk(path):
                source = f"{root}/{file.relative_to(path).as_posix()}"
                if file.suffix.lower() not in SUPPORTED_SUFFIXES:
                    report.errors.append(
                        FileProblem(source, f"unsupported file type {file.suffix or '(none)'!r}")
                    )
                    continue
                _add(targets, _Target(source, file), report)
        elif path.exists():
            _add(targets, _Target(path.name, path), report)
        else:
            _add(targets, _Target(path.name, None), report)
    return list(targets.values()), roots


def _add(targets: dict[str, _Target], target: _Target, report: IngestReport) -> None:
    if target.source in targets:
        report.warnings.append(FileProblem(target.source, "named twice; the last one was used"))
    targets[target.source] = target


def _walk(folder: Path) -> Iterator[Path]:
    for directory, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
        for name in sorted(filenames):
            if not name.startswith("."):
                yield Path(directory) / name


@dataclass(slots=True)
class _Pending:
    target: _Target
    file_hash: str
    records: list[Record]
    passages: int
    new: bool


def ingest(
    store: ChromaStore,
    encoder: Encoder,
    paths: Iterable[str | Path],
    *,
    progress: bool | None = None,
) -> IngestReport:
    """Bring `paths` (files or folders) into `store`; see the module docstring for the guarantees."""
    started = time.perf_counter()
    report = IngestReport()
    targets, roots = _targets([paths] if isinstance(paths, str | Path) else paths, report)
    store.sync()
    if store.encoder_id() != encoder_identity(encoder):
        report.reembedded = reembed_all(store, encoder)
    committed = store.sources()
    stored = store.record_sources()

    pending: list[_Pending] = []
    seen: set[str] = set()
    for target in targets:
        seen.add(target.source)
        if target.path is None:
            if target.source in committed:
                _remove(store, target.source, stored, report)
            else:
                report.errors.append(FileProblem(target.source, "no such file or folder"))
            continue
        try:
            data = target.path.read_bytes()
        except OSError as exc:
            report.errors.append(FileProblem(target.source, f"unreadable: {exc.strerror or exc}"))
            continue
        file_hash = hashlib.sha256(data).hexdigest()
        entry = committed.get(target.source)
        have = stored.get(target.source, set())
        if entry is not None and entry.file_hash == file_hash and entry.record_ids <= have:
            report.unchanged.append(target.source)
            if have - entry.record_ids:  # left over by an interrupted run
                store.delete(have - entry.record_ids)
            continue
        try:
            parsed = parse_bytes(data, target.path.suffix)
        except DocumentError as exc:
            report.errors.append(FileProblem(target.source, str(exc)))
            continue
        report.warnings.extend(FileProblem(target.source, warning) for warning in parsed.warnings)
        records = build_records(target.source, parsed.passages)
        pending.append(_Pending(target, file_hash, records, len(parsed.passages), new=entry is None))

    to_embed = sum(1 for p in pending for r in p.records if r.id not in stored.get(p.target.source, ()))
    with _progress_bar(progress, to_embed) as advance:
        group: list[_Pending] = []
        size = 0
        for item in pending:
            group.append(item)
            size += len(item.records)
            if size >= _EMBED_GROUP:
                _write_group(store, encoder, group, stored, report, advance)
                group, size = [], 0
        if group:
            _write_group(store, encoder, group, stored, report, advance)

    for root in roots:
        for source in sorted(committed):
            if source.startswith(root) and source not in seen:
                _remove(store, source, stored, report)
    report.seconds = time.perf_counter() - started
    return report


def _write_group(
    store: ChromaStore,
    encoder: Encoder,
    group: list[_Pending],
    stored: dict[str, set[str]],
    report: IngestReport,
    advance: Any,
) -> None:
    missing = [r for item in group for r in item.records if r.id not in stored.get(item.target.source, ())]
    uses = Counter(r.embed_text for r in missing)
    # Each distinct text is embedded once, in order of length: batches of similar length waste little padding.
    texts = sorted(uses, key=len)
    vectors: dict[str, np.ndarray] = {}
    step = 128
    for i in range(0, len(texts), step):
        batch = texts[i : i + step]
        for text, vector in zip(batch, encoder.encode(batch), strict=True):
            vectors[text] = vector
        advance(sum(uses[text] for text in batch))
    for item in group:
        source = item.target.source
        have = stored.get(source, set())
        new = [r for r in item.records if r.id not in have]
        if new:
            store.upsert(
                [r.id for r in new],
                np.stack([vectors[r.embed_text] for r in new]),
                [r.document for r in new],
                [r.metadata for r in new],
            )
        ids = frozenset(r.id for r in item.records)
        store.commit(SourceEntry(source, item.file_hash, ids, item.passages, time.time()), source)
        stale = have - ids
        if stale:
            store.delete(stale)
        stored[source] = set(ids)
        report.embedded += len(new)
        report.passages += item.passages
        (report.added if item.new else report.updated).append(source)


def _remove(store: ChromaStore, source: str, stored: dict[str, set[str]], report: IngestReport) -> None:
    store.commit(None, source)
    store.delete(stored.pop(source, set()))
    report.removed.append(source)


def delete_source(store: ChromaStore, source: str) -> int:
    """Remove `source` from the index; returns how many records were deleted."""
    store.sync()
    ids = store.record_sources().get(source, set())
    if source in store.sources():
        store.commit(None, source)
    store.delete(ids)
    return len(ids)


class _ProgressAdvance:
    def __init__(self, progress: Any, task: Any) -> None:
        self._progress, self._task = progress, task

    def __call__(self, n: int) -> None:
        self._progress.advance(self._task, n)


def _progress_bar(progress: bool | None, total: int) -> Any:
    show = progress if progress is not None else (total >= _PROGRESS_MIN and sys.stderr.isatty())
    if not show or total == 0:
        return nullcontext(lambda n: None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("embedding"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )

    class _Context:
        def __enter__(self) -> _ProgressAdvance:
            bar.start()
            return _ProgressAdvance(bar, bar.add_task("embedding", total=total))

        def __exit__(self, *exc: object) -> None:
            bar.stop()

    return _Context()
