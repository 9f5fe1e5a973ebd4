"""`kefu bench nlu-public`: intent, out-of-scope and sentiment models on public test splits.

Every number comes from an official test split (BANKING77 test, CLINC150 test + oos_test) or a seeded
held-out split (UCI sentences 20%), and every choice (ensemble weights, the abstention threshold) is made
on validation data: a seeded 10% of BANKING77 train, CLINC150's official val + oos_val. The airline tweets
are evaluation only (non-commercial licence). Frozen MiniLM vectors are cached under /tmp/kefu-nlu-cache,
keyed by content, so a rerun takes minutes. Fine-tuning is optional, being slow on a CPU: `--finetune-10shot DIR`
fine-tunes on the 10-shot set for 8 epochs, `--finetune-full DIR` on the 90% split of BANKING77 train for one
epoch (with the 10% as validation); either reuses a model already saved in DIR. `--setfit-10shot DIR` tunes
MiniLM contrastively on the 10-shot set (`contrastive.py`, SetFit-style) or reuses the checkpoint in DIR.

CLINC150 also runs `train_intent_model` itself (what `kefu train intent` does with a training file holding
`oos` examples and a separate validation file), once on the usual vectors and once on richer ones:
`layer_vectors`, the mean-pooled states of layers 1–6 concatenated (one forward, no training; the layer
set was the one of {5–6, 4–6, 3–6, 1–6} with the best CLINC150 val accuracy).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kefu.agents.nlu.contrastive import contrastive_tune, tuned_encoder
from kefu.agents.nlu.finetune import FineTunedClassifier, FineTuneSettings, fine_tune
from kefu.agents.nlu.frozen_head import fit_linear_head
from kefu.agents.nlu.intent_model import IntentModel
from kefu.agents.nlu.intent_training import accuracy, train_intent_model
from kefu.agents.nlu.labelled_data import LabelledTexts, per_label_sample, stratified_split
from kefu.agents.nlu.oos import MahalanobisScore, NeighbourScore, choose_threshold
from kefu.encoder import shared_encoder

__all__ = ["run_public_benchmark", "banking77", "clinc150"]

CACHE = Path("/tmp/kefu-nlu-cache")
SEED = 0
WEIGHTS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0)


def _root(root: str | Path | None) -> Path:
    from kefu.agents.nlu.sentiment_training import default_root

    return Path(root) if root is not None else default_root()


def banking77(root: str | Path | None = None) -> tuple[LabelledTexts, LabelledTexts]:
    """(train, test), the official splits."""
    base = _root(root) / "banking77"

    def read(name: str) -> LabelledTexts:
        with (base / name).open(newline="", encoding="utf-8") as f:
            return LabelledTexts.from_pairs((r["text"], r["category"]) for r in csv.DictReader(f))

    return read("train.csv"), read("test.csv")


def clinc150(root: str | Path | None = None) -> dict[str, LabelledTexts]:
    """The official splits of the "full" variant: train, val, test, oos_train, oos_val, oos_test."""
    data = json.loads((_root(root) / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    return {k: LabelledTexts.from_pairs((t, lab) for t, lab in v) for k, v in data.items()}


def embed(texts: Sequence[str]) -> np.ndarray:
    """Frozen MiniLM vectors, cached on disk by content."""
    key = hashlib.sha1("\n".join(texts).encode()).hexdigest()[:20]
    path = CACHE / f"{key}.npy"
    if path.exists():
        return np.load(path)
    vectors = shared_encoder().encode(list(texts))
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


LAYERS = (1, 2, 3, 4, 5, 6)


def layer_vectors(texts: Sequence[str], layers: Sequence[int] = LAYERS) -> np.ndarray:
    """MiniLM's mean-pooled hidden states of `layers` (0 = word embeddings), each L2-normalised, concatenated
    and normalised again: richer features than the last layer alone, from the same single forward pass.
    All seven layers are cached (float16) by content, so other layer sets cost nothing more."""
    key = hashlib.sha1(("layers64\n" + "\n".join(texts)).encode()).hexdigest()[:20]
    path = CACHE / f"{key}.npy"
    if path.exists():
        states = np.load(path).astype(np.float32)
    else:
        import torch
        from transformers import AutoModel, AutoTokenizer

        from kefu.encoder import model_path

        tokenizer = AutoTokenizer.from_pretrained(str(model_path()), local_files_only=True)
        model = AutoModel.from_pretrained(str(model_path()), local_files_only=True).eval()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        states = np.empty((len(texts), 7, 384), dtype=np.float32)
        for start in range(0, len(order), 64):
            idx = order[start : start + 64]
            batch = tokenizer(
                [texts[i] for i in idx], padding=True, truncation=True, max_length=64, return_tensors="pt"
            )
            with torch.inference_mode():
                hidden = model(**batch, output_hidden_states=True).hidden_states
                mask = batch["attention_mask"].unsqueeze(-1).float()
                pooled = torch.stack([(h.float() * mask).sum(1) / mask.sum(1) for h in hidden], 1)
            states[idx] = pooled.numpy()
        CACHE.mkdir(parents=True, exist_ok=True)
        np.save(path, states.astype(np.float16))
    chosen = states[:, list(layers)]
    chosen = chosen / np.linalg.norm(chosen, axis=2, keepdims=True)
    flat = chosen.reshape(len(chosen), -1)
    return (flat / np.linalg.norm(flat, axis=1, keepdims=True)).astype(np.float32)


class _Cached:
    """An `Encoder` over the bench's caches, so `train_intent_model` runs here as it does for users."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self.fn(list(texts)) if len(texts) else np.zeros((0, 384), dtype=np.float32)


def tfidf_probabilities(train: LabelledTexts, texts: Sequence[str], names: Sequence[str]) -> np.ndarray:
    """The shop's TF-IDF (words + characters) linear SVM, margins softmaxed, columns in `names` order."""
    from kefu.agents.nlu.intents import IntentClassifier, mask

    clf = IntentClassifier()
    by_label: dict[str, list[str]] = {}
    for t, lab in train.pairs():
        by_label.setdefault(lab, []).append(t)
    clf.fit(by_label)
    margins = clf._pipeline.decision_function([mask(t) for t in texts]) / clf.temperature
    probs = np.exp(margins - margins.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    order = [clf.labels.index(n) for n in names]
    return probs[:, order]


def _best_weight(a: np.ndarray, b: np.ndarray, gold: Sequence[str], names: Sequence[str]) -> float:
    scores = {w: accuracy(w * a + (1 - w) * b, gold, names) for w in WEIGHTS}
    return max(scores, key=lambda w: (scores[w], -abs(w - 0.5)))


def bench_banking77(
    root: str | Path | None,
    log: Any,
    finetune_full: Path | None = None,
    finetune_10shot: Path | None = None,
    setfit_10shot: Path | None = None,
) -> dict[str, Any]:
    train_all, test = banking77(root)
    names = train_all.label_set
    train, val = stratified_split(train_all, 0.1, seed=SEED)
    x_tr, x_va, x_te = embed(train.texts), embed(val.texts), embed(test.texts)
    log("BANKING77: vectors ready")
    head = fit_linear_head(x_tr, train.labels, label_names=names)
    frozen_va, frozen_te = head.probabilities(x_va), head.probabilities(x_te)
    svm = tfidf_probabilities(train, list(val.texts) + list(test.texts), names)
    svm_va, svm_te = svm[: len(val)], svm[len(val) :]
    w = _best_weight(frozen_va, svm_va, val.labels, names)
    out: dict[str, Any] = {
        "full": {
            "frozen MiniLM + logistic regression": accuracy(frozen_te, test.labels, names),
            "TF-IDF SVM (words + chars)": accuracy(svm_te, test.labels, names),
            f"ensemble frozen {w:g} + TF-IDF {1 - w:g}": accuracy(
                w * frozen_te + (1 - w) * svm_te, test.labels, names
            ),
        }
    }
    if finetune_full is not None:
        if not (finetune_full / "finetuned.json").exists():
            log(f"fine-tuning on 90% of BANKING77 train (one epoch) → {finetune_full}")
            tuned_full, _ = fine_tune(
                train.texts,
                train.labels,
                initial_head=(head.coef, head.intercept),
                label_names=names,
                val_texts=val.texts,
                val_labels=val.labels,
                settings=FineTuneSettings(epochs=1, seed=SEED),
            )
            tuned_full.save(finetune_full)
        tuned = FineTunedClassifier.load(finetune_full)
        ft_va, ft_te = tuned.probabilities(val.texts), tuned.probabilities(test.texts)
        mix_va = w * frozen_va + (1 - w) * svm_va
        mix_te = w * frozen_te + (1 - w) * svm_te
        v = _best_weight(ft_va, mix_va, val.labels, names)
        out["full"]["fine-tuned MiniLM"] = accuracy(ft_te, test.labels, names)
        out["full"][f"ensemble fine-tuned {v:g} + previous {1 - v:g}"] = accuracy(
            v * ft_te + (1 - v) * mix_te, test.labels, names
        )
    # 10 examples per intent: no validation data in a true few-shot setting, so equal weights.
    shot = per_label_sample(train_all, 10, seed=SEED)
    head10 = fit_linear_head(embed(shot.texts), shot.labels, label_names=names)
    frozen10 = head10.probabilities(x_te)
    svm10 = tfidf_probabilities(shot, test.texts, names)
    out["10-shot"] = {
        "frozen MiniLM + logistic regression": accuracy(frozen10, test.labels, names),
        "TF-IDF SVM (words + chars)": accuracy(svm10, test.labels, names),
        "ensemble frozen 0.5 + TF-IDF 0.5": accuracy(0.5 * frozen10 + 0.5 * svm10, test.labels, names),
    }
    if finetune_10shot is not None:
        if not (finetune_10shot / "finetuned.json").exists():
            log(f"fine-tuning on the 10-shot set → {finetune_10shot}")
            settings = FineTuneSettings(epochs=8, batch_size=16, patience=99, seed=SEED)
            tuned10, _ = fine_tune(
                shot.texts,
                shot.labels,
                initial_head=(head10.coef, head10.intercept),
                label_names=names,
                settings=settings,
            )
            tuned10.save(finetune_10shot)
        ft10 = FineTunedClassifier.load(finetune_10shot).probabilities(test.texts)
        out["10-shot"]["fine-tuned MiniLM (8 epochs, no validation data)"] = accuracy(
            ft10, test.labels, names
        )
        out["10-shot"]["ensemble fine-tuned 0.5 + frozen 0.5"] = accuracy(
            0.5 * ft10 + 0.5 * frozen10, test.labels, names
        )
        out["10-shot"]["ensemble fine-tuned, frozen, TF-IDF (1/3 each)"] = accuracy(
            (ft10 + frozen10 + svm10) / 3, test.labels, names
        )
    if setfit_10shot is not None:
        if not (setfit_10shot / "config.json").exists():
            log(f"contrastive (SetFit-style) tuning on the 10-shot set → {setfit_10shot}")
            contrastive_tune(shot.texts, shot.labels, setfit_10shot, log=log)
        tuned_enc = tuned_encoder(setfit_10shot)
        sf_head = fit_linear_head(tuned_enc.encode(shot.texts), shot.labels, label_names=names)
        sf10 = sf_head.probabilities(tuned_enc.encode(test.texts))
        rows = out["10-shot"]
        note = " (rows added after seeing the ones above)"
        rows[
            "SetFit-style contrastive MiniLM (5 pairs per example, lr 2e-5) + logistic regression" + note
        ] = accuracy(sf10, test.labels, names)
        rows["ensemble SetFit 0.5 + frozen 0.5" + note] = accuracy(
            0.5 * sf10 + 0.5 * frozen10, test.labels, names
        )
        rows["ensemble SetFit, frozen, TF-IDF (1/3 each)" + note] = accuracy(
            (sf10 + frozen10 + svm10) / 3, test.labels, names
        )
        if finetune_10shot is not None:
            rows["ensemble SetFit, fine-tuned, frozen, TF-IDF (1/4 each)" + note] = accuracy(
                (sf10 + ft10 + frozen10 + svm10) / 4, test.labels, names
            )
    return out


def bench_clinc150(root: str | Path | None, log: Any, tuned: Path | None = None) -> dict[str, Any]:
    """CLINC150 rows; with `tuned`, also `kefu train intent --method tuned` (fine-tuned there, or reused)."""
    sets = clinc150(root)
    train, val, test = sets["train"], sets["val"], sets["test"]
    names = train.label_set
    x_tr, x_va, x_te = embed(train.texts), embed(val.texts), embed(test.texts)
    x_ova, x_ote = embed(sets["oos_val"].texts), embed(sets["oos_test"].texts)
    log("CLINC150: vectors ready")
    head = fit_linear_head(x_tr, train.labels, label_names=names)
    svm = tfidf_probabilities(
        train, val.texts + sets["oos_val"].texts + test.texts + sets["oos_test"].texts, names
    )
    cuts = np.cumsum([len(val), len(sets["oos_val"]), len(test)])
    svm_va, svm_ova, svm_te, svm_ote = np.split(svm, cuts)
    results: dict[str, Any] = {}
    variants = {
        "frozen MiniLM + logistic regression": (
            head.probabilities(x_va),
            head.probabilities(x_ova),
            head.probabilities(x_te),
            head.probabilities(x_ote),
        ),
    }
    w = _best_weight(variants["frozen MiniLM + logistic regression"][0], svm_va, val.labels, names)
    f = variants["frozen MiniLM + logistic regression"]
    variants[f"ensemble frozen {w:g} + TF-IDF {1 - w:g}"] = (
        w * f[0] + (1 - w) * svm_va,
        w * f[1] + (1 - w) * svm_ova,
        w * f[2] + (1 - w) * svm_te,
        w * f[3] + (1 - w) * svm_ote,
    )
    for name, (pva, pova, pte, pote) in variants.items():
        correct_va = np.asarray(names)[pva.argmax(1)] == np.asarray(val.labels)
        rule = choose_threshold(pva.max(1), correct_va, pova.max(1))
        kept = pte.max(1) >= rule.threshold
        correct_te = np.asarray(names)[pte.argmax(1)] == np.asarray(test.labels)
        results[name] = {
            "in_scope_accuracy_no_abstention": float(np.mean(correct_te)),
            "threshold_from_val": rule.threshold,
            "in_scope_accuracy": float(np.mean(correct_te & kept)),
            "oos_recall": float(np.mean(pote.max(1) < rule.threshold)),
        }
    results.update(_clinc_trained(sets, svm_va, svm_ova, svm_te, svm_ote, log, tuned))
    return results


def _score_candidates(
    x: dict[str, np.ndarray],
    probs: dict[str, np.ndarray],
    train_vectors: np.ndarray,
    train_labels: Sequence[str],
) -> dict[str, Any]:
    """Every abstention score a model could use, keyed by name: a function of the split (va, ova, te, ote)."""
    top = {k: p.max(1) for k, p in probs.items()}
    scope = NeighbourScore.calibrate(train_vectors, top["va"], x["va"])
    near = {k: scope.score(top[k], x[k]) for k in x}
    dist = MahalanobisScore.fit(train_vectors, train_labels, x["va"])
    maha = {k: dist.term(x[k]) for k in x}
    z_top = {k: (top[k] - scope.prob_mean) / scope.prob_std for k in x}
    return {
        "top probability": top,
        "neighbour score": near,
        "neighbour score + Mahalanobis": {k: near[k] + maha[k] for k in x},
        "top probability + Mahalanobis": {k: z_top[k] + maha[k] for k in x},
    }


OFFERED = {
    "default": ("top probability", "neighbour score"),
    "--mahalanobis": ("top probability", "neighbour score", "neighbour score + Mahalanobis"),
}
"""The scores `train_intent_model` chooses between, by default and with `mahalanobis=True` (in this order:
a later one must win outright)."""


def recall_ceiling(
    in_scope: np.ndarray, correct: np.ndarray, oos: np.ndarray, accuracy: float = 0.95
) -> float:
    """Out-of-scope recall at the highest threshold that keeps in-scope accuracy >= `accuracy`, the
    threshold set on these very rows: what a score could reach at best (a diagnostic, never a result)."""
    need = int(np.ceil(accuracy * len(in_scope)))
    kept = np.sort(np.asarray(in_scope)[np.asarray(correct, dtype=bool)])[::-1]
    if need == 0 or len(kept) < need:
        return 0.0
    return float(np.mean(np.asarray(oos) < kept[need - 1]))


def _compare_scores(
    scores: dict[str, Any], correct_va: np.ndarray, correct_te: np.ndarray
) -> tuple[str, dict[str, Any]]:
    """Threshold each score on val + oos_val, measure it on test; the picks are the val rule's among each of
    OFFERED's sets (returned: the default pick)."""
    rows: dict[str, Any] = {}
    gains: dict[str, float] = {}
    for name, f in scores.items():
        rule = choose_threshold(f["va"], correct_va, f["ova"])
        gains[name] = rule.in_scope_accuracy + (rule.oos_recall or 0.0)
        rows[name] = {
            "val_in_scope_accuracy": rule.in_scope_accuracy,
            "val_oos_recall": rule.oos_recall,
            "threshold_from_val": rule.threshold,
            "in_scope_accuracy": float(np.mean(correct_te & (f["te"] >= rule.threshold))),
            "oos_recall": float(np.mean(f["ote"] < rule.threshold)),
            "test_recall_ceiling_at_95": recall_ceiling(f["te"], correct_te, f["ote"]),
        }
    picks = {}
    for option, offered in OFFERED.items():
        best = offered[0]
        for name in offered[1:]:
            if gains[name] > gains[best]:
                best = name
        picks[option] = best
    for name, row in rows.items():
        row["picked_by_val"] = [option for option, pick in picks.items() if pick == name]
    return picks["default"], rows


def _clinc_trained(
    sets: dict[str, LabelledTexts],
    svm_va: np.ndarray,
    svm_ova: np.ndarray,
    svm_te: np.ndarray,
    svm_ote: np.ndarray,
    log: Any,
    tuned: Path | None = None,
) -> dict[str, Any]:
    """Rows added after the first report (and after exploratory runs that printed test numbers): what
    `train_intent_model` does with CLINC150's files (an out-of-scope head row from oos_train; top
    probability or neighbour score, whichever abstains better on val), on
    last-layer and on layer 1–6 vectors, and the layer 1–6 model mixed with TF-IDF at the weight with the
    best val accuracy; given `tuned`, also the tuned method (MiniLM fine-tuned on CLINC150 train with val
    for early stopping, then the same head and scores on its vectors). Under "scores": every candidate
    score of each, thresholded on val, measured on test, so the ones val did not pick are reported too."""
    train = LabelledTexts.from_pairs(sets["train"].pairs() + sets["oos_train"].pairs())
    val = LabelledTexts.from_pairs(sets["val"].pairs() + sets["oos_val"].pairs())
    test, oos_test = sets["test"], sets["oos_test"]
    out: dict[str, Any] = {}
    compared: dict[str, Any] = {}
    note = " (row added after seeing the ones above)"

    def evaluate(title: str, model: IntentModel, enc: Any) -> tuple[Any, Any, Any, list[str]]:
        names = model.labels
        x_tr = enc.encode(sets["train"].texts)
        x = {
            "va": enc.encode(sets["val"].texts),
            "ova": enc.encode(sets["oos_val"].texts),
            "te": enc.encode(test.texts),
            "ote": enc.encode(oos_test.texts),
        }
        texts = {
            "va": sets["val"].texts,
            "ova": sets["oos_val"].texts,
            "te": test.texts,
            "ote": oos_test.texts,
        }
        p = {k: model.probabilities(texts[k], x[k]) for k in x}
        correct = np.asarray(names)[p["te"].argmax(1)] == np.asarray(test.labels)
        kept = model.in_scope_scores(p["te"], x["te"]) >= model.threshold
        out[
            f"{title}kefu train intent: out-of-scope row, abstains on the {model.report['abstain_on']}{note}"
        ] = {
            "in_scope_accuracy_no_abstention": float(np.mean(correct)),
            "threshold_from_val": model.threshold,
            "in_scope_accuracy": float(np.mean(correct & kept)),
            "oos_recall": float(np.mean(model.in_scope_scores(p["ote"], x["ote"]) < model.threshold)),
        }
        correct_va = np.asarray(names)[p["va"].argmax(1)] == np.asarray(sets["val"].labels)
        _, compared[f"{title or 'last-layer vectors, '}kefu train intent"] = _compare_scores(
            _score_candidates(x, p, x_tr, sets["train"].labels), correct_va, correct
        )
        log(f"CLINC150: {title}trained model done")
        return x, p, x_tr, names

    for title, fn in (("", embed), ("layer 1–6 vectors, ", layer_vectors)):
        enc = _Cached(fn)
        x, p, x_tr, names = evaluate(
            title, train_intent_model(train, validation=val, encoder=enc, log=lambda _: None), enc
        )
    # The layer 1–6 model (the last one above) mixed with TF-IDF; the abstention score again chosen on val.
    w = _best_weight(p["va"], svm_va, sets["val"].labels, names)
    svm = {"va": svm_va, "ova": svm_ova, "te": svm_te, "ote": svm_ote}
    mix = {k: w * p[k] + (1 - w) * svm[k] for k in x}
    correct_va = np.asarray(names)[mix["va"].argmax(1)] == np.asarray(sets["val"].labels)
    correct_te = np.asarray(names)[mix["te"].argmax(1)] == np.asarray(test.labels)
    title = f"layer 1–6 vectors, out-of-scope row, ensemble with TF-IDF {1 - w:g}"
    best, rows = _compare_scores(
        _score_candidates(x, mix, x_tr, sets["train"].labels), correct_va, correct_te
    )
    compared[title] = rows
    out[f"{title}, abstains on the {best}{note}"] = {
        "in_scope_accuracy_no_abstention": float(np.mean(correct_te)),
        "threshold_from_val": rows[best]["threshold_from_val"],
        "in_scope_accuracy": rows[best]["in_scope_accuracy"],
        "oos_recall": rows[best]["oos_recall"],
    }
    if tuned is not None:  # the tuned method: fine-tuned once into `tuned`, reused from there
        if (tuned / "intent_model.json").is_file():
            model = IntentModel.load(tuned)
        else:
            model = train_intent_model(train, validation=val, method="tuned", log=log)
            model.save(tuned)
        log(f"CLINC150: tuned encoder (epochs' val accuracy {model.report.get('epochs_val_accuracy')})")
        evaluate("MiniLM fine-tuned on CLINC150 train, ", model, model.encoder)
    out["scores"] = compared
    return out


def bench_sentiment(root: str | Path | None, log: Any) -> dict[str, Any]:
    from kefu.agents.nlu import sentiment_examples as examples
    from kefu.agents.nlu.sentiment import LABELS, SentimentModel
    from kefu.agents.nlu.sentiment_training import evaluate_upset, load_airline_tweets, load_uci, macro_f1

    model = SentimentModel.load()
    _, uci_test = load_uci(root)
    p = model.probabilities(uci_test.texts, embed(uci_test.texts))
    polar = np.where(p[:, 0] >= p[:, 2], "negative", "positive")
    air = load_airline_tweets(root)
    air_pred = np.asarray(LABELS)[model.probabilities(air.texts, embed(air.texts)).argmax(1)]
    held = LabelledTexts.from_pairs(examples.HELDOUT)
    held_pred = [s.label for s in model.analyse_many(held.texts, embed(held.texts))]
    log("sentiment: done")
    return {
        "uci_test_macro_f1": macro_f1(uci_test.labels, list(polar), ["negative", "positive"]),
        "uci_test_rows": len(uci_test),
        "airline_macro_f1": macro_f1(air.labels, list(air_pred), LABELS),
        "airline_rows": len(air),
        "kefu_heldout_macro_f1": macro_f1(held.labels, held_pred, LABELS),
        "kefu_heldout_upset_f1": evaluate_upset(model, held.texts, held.labels),
        "kefu_heldout_rows": len(held),
    }


def bench_shop(log: Any) -> dict[str, Any]:
    """The shop's own intents: TF-IDF SVM (today's brain) vs frozen MiniLM vs both, on its held-out file."""
    from kefu.agents.nlu.intents import load_examples

    train = LabelledTexts.from_mapping(load_examples())
    held = LabelledTexts.from_mapping(load_examples("shop_intents_heldout.yaml"))
    names = train.label_set
    fit, val = stratified_split(train, 0.15, seed=SEED)
    head_fit = fit_linear_head(embed(fit.texts), fit.labels, label_names=names)
    w = _best_weight(
        head_fit.probabilities(embed(val.texts)),
        tfidf_probabilities(fit, val.texts, names),
        val.labels,
        names,
    )
    head = fit_linear_head(embed(train.texts), train.labels, label_names=names)
    frozen = head.probabilities(embed(held.texts))
    svm = tfidf_probabilities(train, held.texts, names)
    log("shop: done")
    return {
        "TF-IDF SVM (words + chars), the brain's classifier": accuracy(svm, held.labels, names),
        "frozen MiniLM + logistic regression": accuracy(frozen, held.labels, names),
        f"ensemble frozen {w:g} + TF-IDF {1 - w:g} (weight from a 15% validation split)": accuracy(
            w * frozen + (1 - w) * svm, held.labels, names
        ),
        "ensemble frozen 0.5 + TF-IDF 0.5 (equal weights; row added after seeing the ones above)": accuracy(
            0.5 * frozen + 0.5 * svm, held.labels, names
        ),
        "held_out_rows": len(held),
    }


def bench_latency(n: int = 200) -> dict[str, Any]:
    """p50/p95 milliseconds for one message: one MiniLM forward, the intent head and the sentiment head."""
    from kefu.agents.nlu.intents import load_examples
    from kefu.agents.nlu.sentiment import SentimentModel

    held = LabelledTexts.from_mapping(load_examples("shop_intents_heldout.yaml"))
    train = LabelledTexts.from_mapping(load_examples())
    head = fit_linear_head(embed(train.texts), train.labels)
    sentiment = SentimentModel.load()
    enc = shared_encoder()
    enc.encode(["warm up"])
    texts = (held.texts * (n // len(held) + 1))[:n]
    load_before = os.getloadavg()[0]
    times = []
    for t in texts:
        start = time.perf_counter()
        v = enc.encode([t])
        head.probabilities(v)
        sentiment.analyse(t, v[0])
        times.append((time.perf_counter() - start) * 1000)
    return {
        "p50_ms": float(np.percentile(times, 50)),
        "p95_ms": float(np.percentile(times, 95)),
        "messages": n,
        "bfloat16": bool(getattr(enc, "bfloat16", False)),
        "load_average": [load_before, os.getloadavg()[0]],
    }


def run_public_benchmark(
    root: str | Path | None = None,
    *,
    finetune_full: Path | None = None,
    finetune_10shot: Path | None = None,
    setfit_10shot: Path | None = None,
    clinc_tuned: Path | None = None,
    log: Any = print,
) -> dict[str, Any]:
    started = time.perf_counter()
    report: dict[str, Any] = {
        "banking77": bench_banking77(root, log, finetune_full, finetune_10shot, setfit_10shot),
        "clinc150": bench_clinc150(root, log, clinc_tuned),
        "sentiment": bench_sentiment(root, log),
        "shop": bench_shop(log),
        "latency": bench_latency(),
    }
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report
