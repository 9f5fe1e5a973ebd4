"""Intent classification for the embedded brain: what does the customer want in this message?

A linear SVM over word and character n-grams (character n-grams keep typos like "cancle" close to
"cancel"), trained in well under a second from the labelled utterances shipped with kefu plus the
example phrasings of enabled plugin tools. Ids, emails and numbers are masked first, so the model
learns the request, not the values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_ORDER = re.compile(r"#?\bw\s?\d{5,8}\b", re.I)
_NUM = re.compile(r"\d+([.,]\d+)?")


def mask(text: str) -> str:
    """Lower-case and replace values by placeholders: 'cancel #W123 for a@b.com' → 'cancel ORDERID for EMAIL'."""
    text = _EMAIL.sub(" EMAIL ", text)
    text = _ORDER.sub(" ORDERID ", text)
    text = _NUM.sub(" NUM ", text)
    return re.sub(r"\s+", " ", text).strip().lower()


def load_examples(name: str = "shop_intents.yaml") -> dict[str, list[str]]:
    """Intent → example utterances, from a YAML file shipped in `kefu.agents.nlu.data`."""
    raw = resources.files("kefu.agents.nlu").joinpath("data", name).read_text(encoding="utf-8")
    doc: dict[str, Any] = yaml.safe_load(raw)
    return {intent: [str(x) for x in spec["examples"]] for intent, spec in doc["intents"].items()}


@dataclass(frozen=True)
class IntentPrediction:
    """The most likely intent, its probability, and the runner-up."""

    intent: str
    confidence: float
    second: str
    second_confidence: float


class IntentClassifier:
    """TF-IDF (words + characters) and a linear SVM; `fit` on any text → label mapping.

    Trains in about 0.1 s on a thousand utterances, so it is fitted at start-up rather than shipped
    as a pickle. Confidence is a softmax over the SVM margins (a ranking signal, not a calibrated
    probability); the brain uses it only to decide whether a message changes the topic.
    """

    def __init__(self, c: float = 0.5, seed: int = 0, temperature: float = 0.25) -> None:
        self.temperature = temperature
        self._pipeline = Pipeline(
            [
                (
                    "features",
                    FeatureUnion(
                        [
                            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)),
                            (
                                "chars",
                                TfidfVectorizer(
                                    analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, min_df=1
                                ),
                            ),
                        ]
                    ),
                ),
                ("clf", LinearSVC(C=c, random_state=seed)),
            ]
        )
        self.labels: list[str] = []

    def fit(self, examples: Mapping[str, Iterable[str]]) -> IntentClassifier:
        texts, labels = [], []
        for intent, utterances in examples.items():
            for u in utterances:
                texts.append(mask(u))
                labels.append(intent)
        self._pipeline.fit(texts, labels)
        self.labels = list(self._pipeline.classes_)
        return self

    def predict(self, text: str) -> IntentPrediction:
        margins = self._pipeline.decision_function([mask(text)])[0] / self.temperature
        probs = np.exp(margins - margins.max())
        probs /= probs.sum()
        order = np.argsort(probs)[::-1]
        return IntentPrediction(
            intent=str(self.labels[order[0]]),
            confidence=float(probs[order[0]]),
            second=str(self.labels[order[1]]),
            second_confidence=float(probs[order[1]]),
        )

    def accuracy(self, examples: Mapping[str, Iterable[str]]) -> float:
        pairs = [(u, intent) for intent, us in examples.items() for u in us]
        predicted = self._pipeline.predict([mask(u) for u, _ in pairs])
        return float(np.mean([p == gold for p, (_, gold) in zip(predicted, pairs, strict=True)]))
