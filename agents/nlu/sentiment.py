"""How does the customer feel? A trained head over the shared MiniLM vector, with a lexicon as fallback.

Read by the brain for rules that matter a lot: never try to sell to a customer who is complaining, and offer
a person when the customer stays upset. The model is a softmax head (negative / neutral / positive) over the
same frozen MiniLM vector the rest of kefu uses, shipped in `agents/nlu/models/` (`kefu train sentiment`
rebuilds it; see its MODEL_CARD.md). When the weights or the encoder cannot load, the regex lexicon answers
instead (`Sentiment.source == "lexicon"`), so the rules keep working on a bare install.

On held-out customer-service messages (docs/benchmarks_nlu.md) the model finds upset customers far better
than the lexicon (F1 0.89 vs 0.54) and "model or lexicon" scores the same as the model alone; the union is
kept for `Sentiment.upset` (the no-upsell rule) because a missed complaint costs more than a missed upsell.
The hand-off offer counts the model's `negative` label only, where a false alarm would annoy.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from kefu.agents.nlu.frozen_head import LinearHead
from kefu.encoder import Encoder, encode_cached, shared_encoder

__all__ = [
    "LABELS",
    "MODELS_DIR",
    "Sentiment",
    "SentimentModel",
    "is_upset",
    "read_sentiment",
    "shared_sentiment",
]

LABELS = ("negative", "neutral", "positive")
MODELS_DIR = Path(__file__).resolve().parent / "models"
Label = Literal["negative", "neutral", "positive"]

_UPSET = re.compile(
    r"\b(angry|furious|upset|annoyed|frustrat\w*|disappoint\w*|ridiculous|unacceptable|terrible|horrible|awful|"
    r"worst|useless|pathetic|disgust\w*|outrag\w*|scam|rip ?off|never again|fed up|sick of|waste of|"
    r"broken|damaged|cracked|defective|doesn'?t work|does not work|stopped working|not working|wrong item|"
    r"still (hasn'?t|not|haven'?t)|where the hell|wtf|damn|hell|crap|shit\w*|bullshit|fuck\w*|"
    r"complain\w*|complaint|refund now|i want my money)\b",
    re.I,
)


def is_upset(text: str) -> bool:
    """The lexicon: true for complaints, anger and reports of broken or wrong items (errs towards upset)."""
    if _UPSET.search(text):
        return True
    letters = [c for c in text if c.isalpha()]
    shouting = len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) > 0.7
    return shouting or text.count("!") >= 3


@dataclass(frozen=True)
class Sentiment:
    """One message's sentiment."""

    label: Label
    score: float
    """From -1 (negative) to +1 (positive): P(positive) - P(negative)."""
    negative: float
    """P(negative); 1.0 or 0.0 from the lexicon."""
    upset: bool
    """Negative by the model or by the lexicon: the flag the brain's rules read."""
    source: Literal["model", "lexicon"] = "model"

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "score": self.score, "upset": self.upset, "source": self.source}


def lexicon_sentiment(text: str) -> Sentiment:
    upset = is_upset(text)
    return Sentiment(
        label="negative" if upset else "neutral",
        score=-1.0 if upset else 0.0,
        negative=1.0 if upset else 0.0,
        upset=upset,
        source="lexicon",
    )


class SentimentModel:
    """The shipped head over MiniLM vectors; `analyse(text)` → `Sentiment`."""

    def __init__(
        self, head: LinearHead, *, encoder: Encoder | None = None, card: dict[str, Any] | None = None
    ) -> None:
        if tuple(head.labels) != LABELS:
            raise ValueError(f"a sentiment head has labels {LABELS}, got {head.labels}")
        self.head = head
        self.card = card or {}
        self._encoder = encoder

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = shared_encoder()
        return self._encoder

    def probabilities(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> np.ndarray:
        vecs = vectors if vectors is not None else encode_cached(list(texts), self.encoder)
        return self.head.probabilities(vecs)

    def analyse_many(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> list[Sentiment]:
        out = []
        for text, row in zip(texts, self.probabilities(texts, vectors), strict=True):
            label: Label = LABELS[int(row.argmax())]  # type: ignore[assignment]
            out.append(
                Sentiment(
                    label=label,
                    score=round(float(row[2] - row[0]), 4),
                    negative=round(float(row[0]), 4),
                    upset=label == "negative" or is_upset(text),
                )
            )
        return out

    def analyse(self, text: str, vector: np.ndarray | None = None) -> Sentiment:
        return self.analyse_many([text], None if vector is None else vector.reshape(1, -1))[0]

    def save(self, directory: str | Path, card: dict[str, Any]) -> None:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        np.savez(path / "sentiment.npz", coef=self.head.coef, intercept=self.head.intercept)
        (path / "sentiment.json").write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: str | Path | None = None, *, encoder: Encoder | None = None) -> SentimentModel:
        path = Path(directory) if directory is not None else MODELS_DIR
        arrays = np.load(path / "sentiment.npz")
        card = json.loads((path / "sentiment.json").read_text(encoding="utf-8"))
        return cls(LinearHead(LABELS, arrays["coef"], arrays["intercept"]), encoder=encoder, card=card)


_shared: SentimentModel | None = None
_shared_failed = False
_lock = threading.Lock()


def shared_sentiment() -> SentimentModel | None:
    """The process-wide model (loaded once), or None when it cannot load (the lexicon answers then)."""
    global _shared, _shared_failed
    if _shared is None and not _shared_failed:
        with _lock:
            if _shared is None and not _shared_failed:
                try:
                    _shared = SentimentModel.load()
                except (OSError, ValueError, KeyError):
                    _shared_failed = True
    return _shared


def read_sentiment(text: str, model: SentimentModel | None = None) -> Sentiment:
    """The sentiment of `text` by `model` (default: the shipped one), else by the lexicon.

    With the shipped model, results are cached by text: the assistant records a turn's sentiment and the
    brain reads it for its rules, and one encoder forward serves both.
    """
    if model is None:
        return _shipped(text)
    return _analyse(model, text)


def _analyse(model: SentimentModel | None, text: str) -> Sentiment:
    if model is None:
        return lexicon_sentiment(text)
    try:
        return model.analyse(text)
    except Exception:  # noqa: BLE001 - an encoder that cannot load must not break a turn
        return lexicon_sentiment(text)


@functools.lru_cache(maxsize=256)
def _shipped(text: str) -> Sentiment:
    return _analyse(shared_sentiment(), text)
