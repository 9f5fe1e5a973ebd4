"""`kefu train intent`: turn a labelled file into an intent model directory, with its validation report.

Steps: hold out a seeded, stratified validation split (examples labelled `oos`/`out_of_scope`/`other`
are not a class: they only help choose the abstention threshold); fit the frozen-vector head on the rest;
for `finetune`, fine-tune MiniLM from that head with early stopping on the validation split, then pick the
ensemble weight of fine-tuned vs frozen on the same split; for `tuned`, fine-tune the same way, then fit
the head again, and score out-of-scope messages, on the tuned body's vectors instead of the shared ones; finally choose the abstention threshold on the
validation probabilities (`oos.choose_threshold`). The validation numbers go into the model's metadata.

Out-of-scope examples, when there are some: with a separate validation file, the training file's ones
also train an extra `OOS_CLASS` row of the frozen head (the validation file's ones set the threshold);
without one, they all go to validation (too few to split). Given out-of-scope validation examples, the
threshold is chosen for the top probability and for the `NeighbourScore` (top probability + closeness to
the nearest training messages), and with `mahalanobis=True` for the neighbour score plus a
`MahalanobisScore` term (distance to the nearest intent mean, shared shrunk covariance); the model keeps
whichever scores best on validation (in-scope accuracy + out-of-scope recall; a richer score must beat a
simpler one outright); without them, the top probability as before.

The Mahalanobis term is opt-in: on CLINC150 validation it won by one or two out-of-scope queries of 100 on
both vector kinds, while on the 1,000 test queries it was no better on last-layer vectors and cost 0.05 of
out-of-scope recall on layer 1–6 vectors (docs/benchmarks_nlu.md). A validation set that small cannot tell
the two apart, so the default stays the simpler score.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from kefu.agents.nlu.finetune import FineTuneSettings, TunedEncoder, fine_tune, settings_dict
from kefu.agents.nlu.frozen_head import LinearHead, fit_linear_head
from kefu.agents.nlu.intent_model import IntentModel, Method
from kefu.agents.nlu.labelled_data import LabelledTexts, stratified_split
from kefu.agents.nlu.oos import (
    OOS_CLASS,
    OOS_LABELS,
    Abstention,
    MahalanobisScore,
    NeighbourScore,
    choose_threshold,
)
from kefu.encoder import Encoder, shared_encoder

__all__ = ["train_intent_model"]

ENSEMBLE_WEIGHTS = (0.0, 0.25, 0.5, 0.6, 0.7, 0.8, 1.0)


def accuracy(probs: np.ndarray, labels: Sequence[str], names: Sequence[str]) -> float:
    """Share of rows whose most probable class (columns named by `names`) is the gold label."""
    if not labels:
        return float("nan")
    return float(np.mean(np.asarray(names)[probs.argmax(axis=1)] == np.asarray(labels)))


def _gain(rule: Abstention) -> float:
    """What the choice between abstention scores maximises on validation (as `choose_threshold` does)."""
    return rule.in_scope_accuracy + (rule.oos_recall or 0.0)


def _rule(rule: Abstention) -> dict[str, float | None]:
    return {"in_scope_accuracy": rule.in_scope_accuracy, "oos_recall": rule.oos_recall}


def train_intent_model(
    data: LabelledTexts,
    *,
    method: Method = "frozen",
    val_fraction: float = 0.15,
    seed: int = 0,
    c: float = 20.0,
    settings: FineTuneSettings | None = None,
    encoder: Encoder | None = None,
    validation: LabelledTexts | None = None,
    mahalanobis: bool = False,
    log: Any = print,
) -> IntentModel:
    """Train on `data` (a separate `validation` set may be given instead of a split of `data`)."""
    started = time.perf_counter()
    enc = encoder or shared_encoder()
    oos_train = [t for t, lab in data.pairs() if lab.lower() in OOS_LABELS]
    in_scope = data.without_labels({lab for lab in data.label_set if lab.lower() in OOS_LABELS})
    # Out-of-scope examples are never a class: they only inform the threshold, so they go to validation.
    oos_class: list[str] = []
    if validation is None:
        train, val_in = stratified_split(in_scope, val_fraction, seed=seed)
        oos_val = oos_train
    else:
        train = in_scope
        oos_val = [t for t, lab in validation.pairs() if lab.lower() in OOS_LABELS]
        oos_class = oos_train if oos_val else []
        oos_val = oos_val or oos_train
        val_in = validation.without_labels({lab for lab in validation.label_set if lab.lower() in OOS_LABELS})
    names = train.label_set
    log(
        f"{len(train)} training and {len(val_in)} validation examples, {len(names)} intents, "
        f"{len(oos_val)} out-of-scope validation examples"
        + (f", {len(oos_class)} out-of-scope training examples" if oos_class else "")
    )

    def fit_head(x_train: np.ndarray, encoder: Encoder) -> LinearHead:
        if oos_class:
            return fit_linear_head(
                np.concatenate([x_train, encoder.encode(oos_class)]),
                list(train.labels) + [OOS_CLASS] * len(oos_class),
                label_names=[*names, OOS_CLASS],
                c=c,
            )
        return fit_linear_head(x_train, train.labels, label_names=names, c=c)

    x_train = enc.encode(train.texts)
    x_val = enc.encode(val_in.texts)
    x_oos = enc.encode(oos_val)
    head = fit_head(x_train, enc)
    frozen_val = head.probabilities(x_val)[:, : len(names)]
    report: dict[str, Any] = {
        "train_examples": len(train),
        "val_examples": len(val_in),
        "seed": seed,
        "frozen_val_accuracy": round(accuracy(frozen_val, val_in.labels, names), 4),
    }
    log(f"frozen head: validation accuracy {report['frozen_val_accuracy']:.4f}")
    model = IntentModel(head, encoder=enc)
    if method in ("finetune", "tuned"):
        s = settings or FineTuneSettings(seed=seed)
        tuned, history = fine_tune(
            train.texts,
            train.labels,
            initial_head=(head.coef[: len(names)], head.intercept[: len(names)]),
            label_names=names,
            val_texts=val_in.texts,
            val_labels=val_in.labels,
            settings=s,
            on_epoch=lambda e, a: log(f"epoch {e}: validation accuracy {a:.4f}"),
        )
        report.update(
            finetune=settings_dict(s) | {"device": tuned.device},
            epochs_val_accuracy=history.val_accuracy,
            best_epoch=history.best_epoch,
            finetune_seconds=history.seconds,
        )
    if method == "tuned":
        # The frozen method's head and scores, on the tuned body's vectors.
        enc = TunedEncoder(tuned)
        x_train, x_val, x_oos = enc.encode(train.texts), enc.encode(val_in.texts), enc.encode(oos_val)
        head = fit_head(x_train, enc)
        model = IntentModel(head, tuned=tuned)
        report["tuned_val_accuracy"] = round(
            accuracy(head.probabilities(x_val)[:, : len(names)], val_in.labels, names), 4
        )
        log(f"head on the tuned vectors: validation accuracy {report['tuned_val_accuracy']:.4f}")
    elif method == "finetune":
        tuned_val = tuned.probabilities(val_in.texts)
        scores = {
            w: accuracy(w * tuned_val + (1 - w) * frozen_val, val_in.labels, names) for w in ENSEMBLE_WEIGHTS
        }
        weight = max(scores, key=lambda w: (scores[w], w))
        model = IntentModel(head, finetuned=tuned, finetuned_weight=weight, encoder=enc)
        report.update(finetuned_val_accuracy=round(scores[1.0], 4), finetuned_weight=weight)
        log(
            f"fine-tuned: validation accuracy {scores[1.0]:.4f}; ensemble weight {weight} → {scores[weight]:.4f}"
        )
    val_probs = model.probabilities(val_in.texts, x_val)
    oos_probs = model.probabilities(oos_val, x_oos) if oos_val else None
    correct = np.asarray(names)[val_probs.argmax(axis=1)] == np.asarray(val_in.labels)
    abstain = choose_threshold(
        val_probs.max(axis=1) if len(val_probs) else np.zeros(0),
        correct,
        None if oos_probs is None else oos_probs.max(axis=1),
    )
    report["abstain_on"] = "top probability"
    if oos_probs is not None and len(val_probs) > 1:
        top_val, top_oos = val_probs.max(axis=1), oos_probs.max(axis=1)
        scope = NeighbourScore.calibrate(x_train, top_val, x_val)
        near_val, near_oos = scope.score(top_val, x_val), scope.score(top_oos, x_oos)
        by_neighbours = choose_threshold(near_val, correct, near_oos)
        report["val_top_probability_rule"] = _rule(abstain)
        report["val_neighbour_rule"] = _rule(by_neighbours)
        if _gain(by_neighbours) > _gain(abstain):
            model.scope, abstain = scope, by_neighbours
            report["abstain_on"] = "neighbour score"
        if mahalanobis:
            distance = MahalanobisScore.fit(x_train, train.labels, x_val)
            by_distance = choose_threshold(
                near_val + distance.term(x_val), correct, near_oos + distance.term(x_oos)
            )
            report["val_neighbour_mahalanobis_rule"] = _rule(by_distance)
            if _gain(by_distance) > _gain(abstain):
                model.scope, model.mahalanobis, abstain = scope, distance, by_distance
                report["abstain_on"] = "neighbour score + Mahalanobis"
    model.threshold = abstain.threshold
    report.update(
        val_accuracy=round(float(np.mean(correct)) if len(correct) else float("nan"), 4),
        threshold=abstain.threshold,
        val_in_scope_accuracy_with_abstention=abstain.in_scope_accuracy,
        val_abstain_rate=abstain.abstain_rate,
        val_oos_recall=abstain.oos_recall,
        seconds=round(time.perf_counter() - started, 1),
    )
    model.report = report
    log(
        f"abstention threshold {abstain.threshold:.3f} on the {report['abstain_on']}: abstains on {abstain.abstain_rate:.1%} of in-scope "
        + (f"and {abstain.oos_recall:.1%} of out-of-scope " if abstain.oos_recall is not None else "")
        + "validation messages"
    )
    return model
