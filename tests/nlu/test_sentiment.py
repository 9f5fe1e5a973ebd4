"""The shipped sentiment model: how a customer's message reads, and the lexicon it falls back to."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kefu.agents.nlu import sentiment_examples as examples
from kefu.agents.nlu.sentiment import (
    LABELS,
    MODELS_DIR,
    SentimentModel,
    is_upset,
    lexicon_sentiment,
    read_sentiment,
)

from ..conftest import datasets_or_skip


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    return SentimentModel.load()


def test_the_shipped_model_reads_complaints_requests_and_thanks(model: SentimentModel):
    said = {
        "this is ridiculous, I've been waiting two weeks for my refund": "negative",
        "the fucking thing broke on day one": "negative",
        "where is my order #W2611340?": "neutral",
        "can I change the delivery address": "neutral",
        "thanks, that's really helpful!": "positive",
    }
    got = {text: s.label for text, s in zip(said, model.analyse_many(list(said)), strict=True)}
    assert got == said
    angry, calm = model.analyse_many(
        ["I am furious, nobody answers my emails", "what colours does it come in"]
    )
    assert angry.score < -0.5 < calm.score and angry.upset and not calm.upset


def test_plain_shop_requests_are_not_read_as_upset(model: SentimentModel):
    """Trained on reviews and a few hand-written lines, the head read one shop request in five as negative:
    "please cancel my order, I ordered the wrong one by mistake" scored -0.69, which withheld suggestions
    for the rest of the session."""
    requests = [
        "please cancel my order, I ordered the wrong one by mistake",
        "what's the gift card balance on my account",
        "change the lamp in my order to the silver one",
        "I'd like to update my shipping address",
    ]
    assert not [s for s in model.analyse_many(requests) if s.upset]


def test_neutral_shop_requests_for_training_leave_out_complaints():
    from kefu.agents.nlu.sentiment_training import shop_requests

    requests = shop_requests()
    assert "cancel the whole order please" in requests  # a cancellation, neutral as written
    assert not [r for r in requests if is_upset(r)]  # the lexicon's angry ones stay out
    assert "this bot is useless, get me a human" not in requests  # hand-offs are not taken at all


def test_the_model_beats_the_lexicon_on_held_out_customer_messages(model: SentimentModel):
    from kefu.agents.nlu.sentiment_training import evaluate_upset

    texts = [t for t, _ in examples.HELDOUT]
    f1 = evaluate_upset(model, texts, [lab for _, lab in examples.HELDOUT])
    assert f1["model"] > f1["lexicon"] + 0.2
    assert f1["model_or_lexicon"] >= f1["model"] - 0.02


def test_the_shipped_files_carry_their_card():
    card = (MODELS_DIR / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in card and "airline" in card.lower()
    loaded = SentimentModel.load()
    assert loaded.card["labels"] == list(LABELS)


def test_without_the_model_the_lexicon_answers(tmp_path: Path):
    with pytest.raises(FileNotFoundError):
        SentimentModel.load(tmp_path)
    assert lexicon_sentiment("this is a scam, I want my money back").upset
    assert lexicon_sentiment("where is my parcel").label == "neutral"
    assert read_sentiment("thanks a lot!").source == "model"  # the shipped one, when present


def test_sentiment_training_data_is_split_without_overlap():
    datasets_or_skip("sentiment_uci_labelled_sentences")
    from kefu.agents.nlu.sentiment_training import load_uci

    train, test = load_uci()
    assert len(test) > 550 and not set(train.texts) & set(test.texts)
    again, _ = load_uci()
    assert again.texts == train.texts
    assert np.mean([lab == "negative" for lab in test.labels]) == pytest.approx(0.5, abs=0.02)
