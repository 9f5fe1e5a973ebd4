"""Reading knowledge files into passages: Markdown, plain text, HTML, and CSV/JSON FAQ files.

A passage is what search returns: a chunk of a document section (keeping its heading path) or one FAQ entry
(its answer, its question and its sample questions). Reading never touches the index; `ingest` does that.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Literal

MetadataValue = str | int | float | bool
PassageKind = Literal["section", "faq"]

DOCUMENT_SUFFIXES = frozenset({".md", ".markdown", ".txt", ".text", ".html", ".htm"})
FAQ_SUFFIXES = frozenset({".csv", ".json", ".jsonl"})
SUPPORTED_SUFFIXES = DOCUMENT_SUFFIXES | FAQ_SUFFIXES

#: A section longer than this many words is split into several chunks at paragraph or bullet boundaries.
#: MiniLM was trained on 128-token inputs; ~90 words stays under that with the heading path prepended.
MAX_CHUNK_WORDS = 90

_SNIFF_BYTES = 8192


class DocumentError(ValueError):
    """A file that cannot be read as knowledge (binary, empty, malformed, unsupported)."""


@dataclass(frozen=True, slots=True)
class ParsedPassage:
    """One passage read from a file, before it is embedded and stored."""

    anchor: str
    """Where the passage sits in its file: the heading path joined by " > ", or the FAQ entry id."""
    kind: PassageKind
    """"section" for a chunk of a document, "faq" for a question/answer entry."""
    heading_path: tuple[str, ...]
    """The headings above the chunk, outermost first (for an FAQ entry: its category, if any)."""
    text: str
    """What the passage says: the section text or the FAQ answer."""
    chunk: int = 0
    """Index of this chunk within its section (0 for the first or only one)."""
    question: str | None = None
    """The FAQ entry's question."""
    sample_questions: tuple[str, ...] = ()
    """Other phrasings of the FAQ question, indexed so that customer wording finds the entry."""
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)
    """Extra fields from the FAQ file (category and any other column), usable as search filters."""


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """Everything read from one file."""

    passages: tuple[ParsedPassage, ...]
    warnings: tuple[str, ...] = ()
    """Problems that skipped part of the file (e.g. an FAQ row without an answer)."""


def read_file(path: Path) -> ParsedFile:
    """Read one file into passages; raise `DocumentError` (or `OSError`) when it cannot be used."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(f"unsupported file type {suffix or '(no extension)'!r}")
    return parse_bytes(path.read_bytes(), suffix)


def parse_bytes(data: bytes, suffix: str) -> ParsedFile:
    """Parse a file's bytes according to its suffix (".md", ".faq.json" → ".json", ...)."""
    text = _decode(data)
    suffix = suffix.lower()
    if suffix in (".md", ".markdown"):
        parsed = ParsedFile(tuple(_chunk_sections(_markdown_sections(text))))
    elif suffix in (".txt", ".text"):
        parsed = ParsedFile(tuple(_chunk_sections([((), _blocks(text))])))
    elif suffix in (".html", ".htm"):
        parsed = ParsedFile(tuple(_chunk_sections(_html_sections(text))))
    elif suffix == ".csv":
        parsed = _faq_from_rows(_csv_rows(text), "row")
    elif suffix == ".json":
        parsed = _faq_from_rows(_json_rows(text), "entry")
    elif suffix == ".jsonl":
        parsed = _faq_from_rows(_jsonl_rows(text), "line")
    else:
        raise DocumentError(f"unsupported file type {suffix!r}")
    if not parsed.passages:
        raise DocumentError("no content found" + (f" ({parsed.warnings[0]})" if parsed.warnings else ""))
    return parsed


def _decode(data: bytes) -> str:
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise DocumentError("binary file (NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if not text.strip():
        raise DocumentError("empty file")
    return text


# --- documents ------------------------------------------------------------------------------------------

_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_BULLET = re.compile(r"^ {0,3}([-*+]|\d{1,3}[.)])[ \t]+")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n.*?\n(---|\.\.\.)[ \t]*\n", re.DOTALL)

Section = tuple[tuple[str, ...], list[str]]


def _markdown_sections(text: str) -> list[Section]:
    """Split Markdown into (heading path, blocks); blocks are paragraphs, list items and code blocks."""
    text = _FRONT_MATTER.sub("", text.replace("\r\n", "\n").replace("\r", "\n"), count=1)
    lines = text.split("\n")
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    body: list[str] = []
    in_fence = False

    def flush() -> None:
        blocks = _blocks("\n".join(body))
        if blocks:
            sections.append((tuple(title for _, title in path), blocks))
        body.clear()

    def open_heading(level: int, title: str) -> None:
        flush()
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, _strip_inline(title)))

    for line in lines:
        if _FENCE.match(line):
            in_fence = not in_fence
            body.append(line)
            continue
        if in_fence:
            body.append(line)
            continue
        atx = _ATX.match(line)
        if atx:
            open_heading(len(atx.group(1)), atx.group(2))
            continue
        setext = _SETEXT.match(line)
        if setext and body and body[-1].strip() and not _BULLET.match(body[-1]):
            # "Title\n=====" (level 1) or "Title\n-----" (level 2); a lone "---" after a blank line is a rule.
            title = body.pop()
            open_heading(1 if setext.group(1)[0] == "=" else 2, title)
            continue
        body.append(line)
    flush()
    return sections


def _blocks(text: str) -> list[str]:
    """Paragraphs and list items of a text, whitespace-trimmed; a list item keeps its continuation lines."""
    blocks: list[str] = []
    current: list[str] = []
    in_fence = False

    def flush() -> None:
        block = "\n".join(current).strip()
        if block and not _SETEXT.fullmatch(block):
            blocks.append(block)
        current.clear()

    for line in text.replace("\r\n", "\n").split("\n"):
        if _FENCE.match(line):
            if in_fence:
                current.append(line)
                flush()
            else:
                flush()
                current.append(line)
            in_fence = not in_fence
            continue
        if in_fence:
            current.append(line)
        elif not line.strip():
            flush()
        elif _BULLET.match(line):
            flush()
            current.append(line.strip())
        else:
            current.append(line.strip())
    flush()
    return blocks


def _strip_inline(title: str) -> str:
    title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title)
    return re.sub(r"[*_`]+", "", title).strip()


def _chunk_sections(sections: Iterable[Section]) -> Iterable[ParsedPassage]:
    """Pack each section's blocks into chunks of at most MAX_CHUNK_WORDS words (a longer block is split
    at sentence ends)."""
    seen: dict[str, int] = {}
    for heading_path, blocks in sections:
        anchor = " > ".join(heading_path)
        pieces = [piece for block in blocks for piece in _split_long(block)]
        chunks: list[list[str]] = []
        words = 0
        for piece in pieces:
            n = len(piece.split())
            if chunks and words + n <= MAX_CHUNK_WORDS:
                chunks[-1].append(piece)
                words += n
            else:
                chunks.append([piece])
                words = n
        start = seen.get(anchor, 0)  # a heading path repeated later in the file continues the numbering
        for i, chunk in enumerate(chunks):
            yield ParsedPassage(anchor, "section", heading_path, "\n".join(chunk), chunk=start + i)
        seen[anchor] = start + len(chunks)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


def _split_long(block: str) -> list[str]:
    if len(block.split()) <= MAX_CHUNK_WORDS:
        return [block]
    out: list[str] = []
    current: list[str] = []
    count = 0
    for sentence in _SENTENCE_END.split(block):
        words = sentence.split()
        while len(words) > MAX_CHUNK_WORDS:  # a "sentence" with no full stop in sight
            if current:
                out.append(" ".join(current))
                current, count = [], 0
            out.append(" ".join(words[:MAX_CHUNK_WORDS]))
            words = words[MAX_CHUNK_WORDS:]
        if current and count + len(words) > MAX_CHUNK_WORDS:
            out.append(" ".join(current))
            current, count = [], 0
        if words:
            current.append(" ".join(words))
            count += len(words)
    if current:
        out.append(" ".join(current))
    return out


_HTML_BLOCKS = frozenset(
    {
        "p",
        "li",
        "dt",
        "dd",
        "td",
        "th",
        "pre",
        "blockquote",
        "div",
        "section",
        "article",
        "br",
        "tr",
        "figcaption",
    }
)
_HTML_SKIP = frozenset({"script", "style", "noscript", "template", "head", "svg", "nav", "footer"})


class _HTMLSections(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[Section] = []
        self._path: list[tuple[int, str]] = []
        self._blocks: list[str] = []
        self._text: list[str] = []
        self._heading: tuple[int, list[str]] | None = None
        self._skip = 0
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HTML_SKIP:
            self._skip += 1
        elif len(tag) == 2 and tag[0] == "h" and tag[1] in "123456":
            self._end_block()
            self._flush_section()
            self._heading = (int(tag[1]), [])
        elif tag in _HTML_BLOCKS:
            self._end_block()
            if tag == "pre":
                self._pre += 1
            elif tag == "li":
                self._text.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HTML_SKIP:
            self._skip = max(0, self._skip - 1)
        elif self._heading and tag == f"h{self._heading[0]}":
            level, parts = self._heading
            self._heading = None
            title = " ".join("".join(parts).split())
            if title:
                while self._path and self._path[-1][0] >= level:
                    self._path.pop()
                self._path.append((level, title))
        elif tag in _HTML_BLOCKS:
            self._end_block()
            if tag == "pre":
                self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._heading is not None:
            self._heading[1].append(data)
        else:
            self._text.append(data)

    def _end_block(self) -> None:
        raw = "".join(self._text)
        self._text.clear()
        block = raw.strip() if self._pre else " ".join(raw.split())
        if block and block != "-":
            self._blocks.append(block)

    def _flush_section(self) -> None:
        if self._blocks:
            self.sections.append((tuple(title for _, title in self._path), list(self._blocks)))
        self._blocks.clear()

    def finish(self) -> list[Section]:
        self.close()
        self._end_block()
        self._flush_section()
        return self.sections


def _html_sections(text: str) -> list[Section]:
    parser = _HTMLSections()
    parser.feed(text)
    return parser.finish()


# --- FAQ files ------------------------------------------------------------------------------------------

_QUESTION_KEYS = ("question", "q", "title")
_ANSWER_KEYS = ("answer", "a", "response")
_SAMPLE_KEYS = ("questions", "sample_questions", "alternatives", "paraphrases")
_ID_KEYS = ("id", "entry_id")
_LIST_KEYS = ("entries", "faq", "faqs", "items", "questions")


def _csv_rows(text: str) -> list[Mapping[str, object]]:
    reader = csv.DictReader(io.StringIO(text))
    fields = {name.strip().lower() for name in reader.fieldnames or ()}
    if not fields & set(_QUESTION_KEYS) or not fields & set(_ANSWER_KEYS):
        raise DocumentError("CSV file without question and answer columns")
    return [{(k or "").strip().lower(): v for k, v in row.items() if k is not None} for row in reader]


def _json_rows(text: str) -> list[Mapping[str, object]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"invalid JSON ({exc.msg}, line {exc.lineno})") from None
    if isinstance(data, dict):
        for key in _LIST_KEYS:
            if isinstance(data.get(key), list):
                data = data[key]
                break
    if not isinstance(data, list):
        raise DocumentError("JSON file is not an FAQ (expected a list of question/answer objects)")
    return data


def _jsonl_rows(text: str) -> list[Mapping[str, object]]:
    rows: list[Mapping[str, object]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise DocumentError(f"invalid JSON on line {number} ({exc.msg})") from None
    return rows


def _first(row: Mapping[str, object], keys: tuple[str, ...]) -> object:
    for key in keys:
        value = row.get(key)
        if value not in (None, ""):
            return value
    return None


def _faq_from_rows(rows: list[Mapping[str, object]], unit: str) -> ParsedFile:
    passages: list[ParsedPassage] = []
    warnings: list[str] = []
    ids: set[str] = set()
    for number, row in enumerate(rows, 1):
        if not isinstance(row, Mapping):
            warnings.append(f"{unit} {number}: not an object, skipped")
            continue
        row = {str(k).strip().lower(): v for k, v in row.items()}
        question = _clean(_first(row, _QUESTION_KEYS))
        answer = _clean(_first(row, _ANSWER_KEYS))
        if not question or not answer:
            warnings.append(f"{unit} {number}: missing {'question' if not question else 'answer'}, skipped")
            continue
        entry_id = _clean(_first(row, _ID_KEYS)) or _slug(question)
        base, n = entry_id, 2
        while entry_id in ids:
            entry_id, n = f"{base}-{n}", n + 1
        if entry_id != base:
            warnings.append(f"{unit} {number}: duplicate id {base!r}, stored as {entry_id!r}")
        ids.add(entry_id)
        samples = _sample_questions(_first(row, _SAMPLE_KEYS), question)
        metadata = _faq_metadata(row)
        category = metadata.get("category")
        passages.append(
            ParsedPassage(
                anchor=entry_id,
                kind="faq",
                heading_path=(str(category),) if category else (),
                text=answer,
                question=question,
                sample_questions=samples,
                metadata=metadata,
            )
        )
    return ParsedFile(tuple(passages), tuple(warnings))


def _clean(value: object) -> str:
    return " ".join(str(value).split()) if value not in (None, "") else ""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "entry"


def _sample_questions(value: object, question: str) -> tuple[str, ...]:
    if value in (None, ""):
        items: list[object] = []
    elif isinstance(value, list):
        items = list(value)
    else:
        items = re.split(r"\s*(?:\||\n)\s*", str(value))
    out: list[str] = []
    seen = {question.casefold()}
    for item in items:
        text = _clean(item)
        if text and text.casefold() not in seen:
            seen.add(text.casefold())
            out.append(text)
    return tuple(out)


def _faq_metadata(row: Mapping[str, object]) -> dict[str, MetadataValue]:
    reserved = set(_QUESTION_KEYS + _ANSWER_KEYS + _SAMPLE_KEYS + _ID_KEYS)
    extra = row.get("metadata")
    items = list(extra.items()) if isinstance(extra, Mapping) else []
    items += [(k, v) for k, v in row.items() if k not in reserved and k != "metadata"]
    metadata: dict[str, MetadataValue] = {}
    for key, value in items:
        key = str(key).strip()
        if not key or value in (None, ""):
            continue
        if isinstance(value, bool | int | float):
            metadata[key] = value
        elif isinstance(value, str):
            metadata[key] = value.strip()
        else:
            metadata[key] = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return metadata
