"""The evaluation sets: labelled questions over the demo KB, and the Bitext customer-support data used as an FAQ."""

from __future__ import annotations

import csv
import json
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

DEMO_QUESTIONS = "demo_questions.json"
BITEXT_FILE = "bitext_customer_support_4514.csv"
BITEXT_SOURCE = "bitext_faq.json"


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    relevant: frozenset[str]
    """Section ids ("<source>#<anchor>") that answer it; empty: out of scope, the answer is "not found"."""
    split: str
    """"dev" (used for tuning) or "heldout" / "test" (only reported)."""
    near: bool = False
    """Out of scope but about the shop ("do you ship internationally?"): the documents come close without
    answering, so the right reply is "not sure" or "not found", never a confident answer."""


def default_datasets_dir() -> Path | None:
    """../shared/datasets next to the repository, when it is there."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent.parent / "shared" / "datasets"
        if candidate.is_dir():
            return candidate
    return None


def demo_questions() -> list[Query]:
    data = json.loads(resources.files(__package__).joinpath(DEMO_QUESTIONS).read_text(encoding="utf-8"))
    return [
        Query(q["question"], frozenset(q["relevant"]), q["split"], bool(q.get("near", False)))
        for q in data["questions"]
    ]


@dataclass(frozen=True, slots=True)
class BitextProtocol:
    """Bitext as an FAQ: one entry per intent, holding one answer and, as sample questions, the instructions of a
    seeded half of the intent's rows; the other half are the queries."""

    faq: list[dict]
    queries: list[Query]


def bitext_protocol(csv_path: Path, *, seed: int = 13, dev: bool = False) -> BitextProtocol:
    """The Bitext protocol. With `dev=True`, only the indexed half is used: three quarters of it become the
    sample questions and one quarter the queries, so tuning never sees the test queries."""
    rows_by_intent: dict[str, list[dict[str, str]]] = defaultdict(list)
    with csv_path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            rows_by_intent[row["intent"]].append(row)
    rng = random.Random(seed)
    faq: list[dict] = []
    queries: list[Query] = []
    for intent in sorted(rows_by_intent):
        rows = list(rows_by_intent[intent])
        rng.shuffle(rows)
        half = (len(rows) + 1) // 2
        indexed, held = rows[:half], rows[half:]
        if dev:
            cut = (3 * len(indexed) + 3) // 4
            indexed, held = indexed[:cut], indexed[cut:]
        instructions = _unique(r["instruction"] for r in indexed)
        faq.append(
            {
                "id": intent,
                "category": indexed[0]["category"].lower(),
                "question": instructions[0],
                "answer": indexed[0]["response"],
                "questions": instructions[1:],
            }
        )
        relevant = frozenset({f"{BITEXT_SOURCE}#{intent}"})
        split = "dev" if dev else "test"
        queries += [Query(r["instruction"], relevant, split) for r in held]
    return BitextProtocol(faq, queries)


def bitext_guides(csv_path: Path, chunks: int) -> dict[str, str]:
    """Bitext responses as Markdown help pages, one per intent and a section per response, until they make
    about `chunks` chunks (used to fill the 10,000-record latency index)."""
    from kefu.tools.knowledge.documents import parse_bytes

    sections: dict[str, list[str]] = defaultdict(list)
    total = 0
    with csv_path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if total >= chunks:
                break
            section = f"## Answer {len(sections[row['intent']]) + 1}\n\n{row['response']}\n"
            total += len(parse_bytes(section.encode(), ".md").passages)
            sections[row["intent"]].append(section)
    return {
        f"{intent}.md": f"# {intent.replace('_', ' ').capitalize()}\n\n" + "\n".join(parts)
        for intent, parts in sections.items()
    }


def _unique(texts: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for text in texts:
        key = " ".join(text.split()).casefold()
        if key and key not in seen:
            seen.add(key)
            out.append(text)
    return out
