"""Labelled texts for intent training: read a business team's CSV/JSON file, and split it reproducibly.

A team brings its own intents as a file, not as code, so the reader accepts the shapes such files come in:
CSV with a header (`text` and `label` columns; `intent` or `category` also name the label), a JSON list of
`{"text": ..., "label": ...}` objects or of `[text, label]` pairs, JSON Lines, or a JSON object of
`label -> [texts]` (kefu's own YAML intent files have that shape too). Splits are stratified by label and
seeded, so a validation split is the same on every run and every label keeps examples on both sides.
"""

from __future__ import annotations

import csv
import json
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["LabelledTexts", "read_labelled", "stratified_split", "per_label_sample"]

_LABEL_COLUMNS = ("label", "intent", "category", "class", "sentiment")


@dataclass(frozen=True)
class LabelledTexts:
    """Parallel lists of texts and their labels."""

    texts: list[str]
    labels: list[str]

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.labels):
            raise ValueError(f"{len(self.texts)} texts but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def label_set(self) -> list[str]:
        """The distinct labels, sorted (the class order every model here uses)."""
        return sorted(set(self.labels))

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> LabelledTexts:
        rows = list(pairs)
        return cls([str(t) for t, _ in rows], [str(lab) for _, lab in rows])

    @classmethod
    def from_mapping(cls, examples: Mapping[str, Iterable[str]]) -> LabelledTexts:
        """From `label -> texts` (the shape of kefu's intent YAML files)."""
        return cls.from_pairs((t, label) for label, texts in examples.items() for t in texts)

    def pairs(self) -> list[tuple[str, str]]:
        return list(zip(self.texts, self.labels, strict=True))

    def without_labels(self, banned: Iterable[str]) -> LabelledTexts:
        drop = set(banned)
        return LabelledTexts.from_pairs(p for p in self.pairs() if p[1] not in drop)


def _from_json(doc: Any, source: Path) -> LabelledTexts:
    if isinstance(doc, dict) and "intents" in doc and isinstance(doc["intents"], dict):
        # kefu's YAML intent files: intents: {name: {examples: [...]}}
        return LabelledTexts.from_mapping(
            {k: (v["examples"] if isinstance(v, dict) else v) for k, v in doc["intents"].items()}
        )
    if isinstance(doc, dict):
        return LabelledTexts.from_mapping({str(k): list(v) for k, v in doc.items()})
    if isinstance(doc, list):
        pairs: list[tuple[str, str]] = []
        for row in doc:
            if isinstance(row, dict):
                label_key = next((k for k in _LABEL_COLUMNS if k in row), None)
                if "text" not in row or label_key is None:
                    raise ValueError(f"{source}: each object needs 'text' and 'label', got {sorted(row)}")
                pairs.append((row["text"], row[label_key]))
            elif isinstance(row, list | tuple) and len(row) == 2:
                pairs.append((row[0], row[1]))
            else:
                raise ValueError(f"{source}: rows must be {{text, label}} objects or [text, label] pairs")
        return LabelledTexts.from_pairs(pairs)
    raise ValueError(f"{source}: expected a JSON list of examples or an object of label -> texts")


def read_labelled(path: str | Path) -> LabelledTexts:
    """Read labelled examples from a CSV, JSON, JSON Lines or YAML file (see the module docstring)."""
    source = Path(path)
    suffix = source.suffix.lower()
    raw = source.read_text(encoding="utf-8")
    if suffix == ".csv":
        reader = csv.DictReader(raw.splitlines())
        fields = [f.strip().lower() for f in reader.fieldnames or []]
        label_key = next((k for k in _LABEL_COLUMNS if k in fields), None)
        if "text" not in fields or label_key is None:
            raise ValueError(f"{source}: the CSV header needs a 'text' and a 'label' column, got {fields}")
        names = dict(zip(fields, reader.fieldnames or [], strict=True))
        rows = [(r[names["text"]], r[names[label_key]]) for r in reader]
        data = LabelledTexts.from_pairs((t.strip(), lab.strip()) for t, lab in rows if t and t.strip())
    elif suffix in (".jsonl", ".ndjson"):
        data = _from_json([json.loads(line) for line in raw.splitlines() if line.strip()], source)
    elif suffix in (".yaml", ".yml"):
        data = _from_json(yaml.safe_load(raw), source)
    else:
        data = _from_json(json.loads(raw), source)
    if len(data.label_set) < 2:
        raise ValueError(f"{source}: need at least two labels, found {data.label_set}")
    return data


def stratified_split(
    data: LabelledTexts, fraction: float, *, seed: int = 0, min_per_label: int = 1
) -> tuple[LabelledTexts, LabelledTexts]:
    """(rest, held) where `held` takes about `fraction` of each label (at least `min_per_label` of any label
    that has two or more examples; a label with one example stays in `rest`)."""
    by_label: dict[str, list[str]] = defaultdict(list)
    for text, label in data.pairs():
        by_label[label].append(text)
    rest: list[tuple[str, str]] = []
    held: list[tuple[str, str]] = []
    for label in sorted(by_label):
        texts = by_label[label]
        random.Random(f"{seed}-{label}").shuffle(texts)
        n = 0 if len(texts) < 2 else min(len(texts) - 1, max(min_per_label, round(len(texts) * fraction)))
        held += [(t, label) for t in texts[:n]]
        rest += [(t, label) for t in texts[n:]]
    return LabelledTexts.from_pairs(rest), LabelledTexts.from_pairs(held)


def per_label_sample(data: LabelledTexts, k: int, *, seed: int = 0) -> LabelledTexts:
    """`k` examples of each label, drawn with a seeded generator (few-shot training sets)."""
    by_label: dict[str, list[str]] = defaultdict(list)
    for text, label in data.pairs():
        by_label[label].append(text)
    out: list[tuple[str, str]] = []
    for label in sorted(by_label):
        texts: Sequence[str] = by_label[label]
        chosen = random.Random(f"{seed}-{label}").sample(list(texts), min(k, len(texts)))
        out += [(t, label) for t in chosen]
    return LabelledTexts.from_pairs(out)
