"""Out-of-scope scores beyond the top probability: the neighbour score, the Mahalanobis term and the
out-of-scope head row.

Small synthetic vectors for the scores themselves; the four-intent file of test_intent_training for
training, with a separate validation file as CLINC150 has. Format 1 and 2 model directories (no neighbour
score, no Mahalanobis term) must keep loading.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kefu.agents.nlu.frozen_head import fit_linear_head
from kefu.agents.nlu.intent_model import IntentModel
from kefu.agents.nlu.intent_training import train_intent_model
from kefu.agents.nlu.labelled_data import LabelledTexts
from kefu.agents.nlu.oos import OOS_CLASS, MahalanobisScore, NeighbourScore, choose_threshold

from .test_intent_training import EXAMPLES


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_a_vector_far_from_every_training_message_scores_lower():
    rng = np.random.default_rng(0)
    centres = _unit(rng.normal(size=(3, 16)))
    train = _unit(np.repeat(centres, 10, axis=0) + 0.1 * rng.normal(size=(30, 16)))
    val = _unit(np.repeat(centres, 4, axis=0) + 0.1 * rng.normal(size=(12, 16)))
    scope = NeighbourScore.calibrate(train, np.full(12, 0.9), val, k=3)
    assert abs(scope.near_mean - scope.similarity(val).mean()) < 1e-6  # z-scored on validation
    near, far = val[:1], _unit(rng.normal(size=(1, 16)))
    # same top probability, so only closeness to the training messages separates the two
    assert scope.score(np.array([0.9]), near)[0] > scope.score(np.array([0.9]), far)[0] + 1.0


def test_the_mahalanobis_term_discounts_directions_in_which_an_intent_varies_anyway():
    rng = np.random.default_rng(0)
    # two intents whose phrasings spread widely along axis 0 and hardly at all along axis 1
    spread = np.array([1.0, 0.05] + [0.05] * 6)
    centres = np.zeros((2, 8))
    centres[0, 2], centres[1, 3] = 3.0, -3.0
    labels = ["a"] * 200 + ["b"] * 200
    train = np.repeat(centres, 200, axis=0) + spread * rng.normal(size=(400, 8))
    val = np.repeat(centres, 20, axis=0) + spread * rng.normal(size=(40, 8))
    score = MahalanobisScore.fit(train, labels, val)
    assert abs(score.term(val).mean()) < 1e-6  # z-scored on validation
    along_the_spread = centres[:1] + np.eye(1, 8, 0)  # the same Euclidean step from intent a's centre
    across_it = centres[:1] + np.eye(1, 8, 1)
    far_off = np.full((1, 8), 10.0)
    terms = score.term(np.concatenate([centres[:1], along_the_spread, across_it, far_off]))
    assert terms[0] > terms[1] > terms[2] > terms[3]
    # a plain (Euclidean or cosine) distance could not order the two steps: the covariance does
    assert terms[1] - terms[2] > 2.0


def test_thresholds_on_z_scores_can_be_negative():
    scores_in = np.array([-0.5, 0.2, 1.0, 0.8])
    correct = np.array([True, True, True, True])
    rule = choose_threshold(scores_in, correct, np.array([-3.0, -2.0]), max_accuracy_drop=0.0)
    assert -2.0 < rule.threshold < -0.5 and rule.oos_recall == 1.0 and rule.in_scope_accuracy == 1.0


def _split(examples: dict[str, list[str]]) -> tuple[LabelledTexts, LabelledTexts]:
    """Training file: the first six phrasings (and two out-of-scope); validation file: the rest."""
    train = {label: texts[:6] if label != "oos" else texts[:2] for label, texts in examples.items()}
    val = {label: texts[6:] if label != "oos" else texts[2:] for label, texts in examples.items()}
    return LabelledTexts.from_mapping(train), LabelledTexts.from_mapping(val)


def test_out_of_scope_training_examples_train_a_row_that_is_never_an_intent(tmp_path: Path):
    train, val = _split(EXAMPLES)
    model = train_intent_model(train, validation=val, log=lambda _: None)
    assert OOS_CLASS in model.head.labels and OOS_CLASS not in model.labels
    assert model.labels == ["book_table", "gift_card", "opening_hours", "track_parcel"]
    assert model.report["abstain_on"] in ("top probability", "neighbour score")
    messages = ["has my parcel been sent out?", "what's the capital of peru", "who won the football"]
    probs = model.probabilities(messages)
    assert probs.shape == (3, 4) and np.all(probs.sum(axis=1) <= 1.0 + 1e-5)
    # the out-of-scope row soaks up probability on a message like its training examples
    assert probs[1].max() < probs[0].max()
    again = IntentModel.load(model.save(tmp_path / "m"))
    assert again.labels == model.labels and again.threshold == model.threshold
    assert [r.intent for r in again.predict_many(messages)] == [
        r.intent for r in model.predict_many(messages)
    ]
    assert again.predict(messages[0]).intent == "track_parcel"


def _in_scope_model() -> tuple[Any, LabelledTexts, np.ndarray, Any, NeighbourScore]:
    """The shared encoder, the in-scope examples, their vectors, a head on them and its neighbour score."""
    from kefu.encoder import shared_encoder

    enc = shared_encoder()
    data = LabelledTexts.from_mapping({k: v for k, v in EXAMPLES.items() if k != "oos"})
    x = enc.encode(data.texts)
    head = fit_linear_head(x, data.labels)
    scope = NeighbourScore.calibrate(x, head.probabilities(x).max(axis=1), x)
    return enc, data, x, head, scope


def test_a_model_with_the_neighbour_score_round_trips_as_format_2(tmp_path: Path):
    enc, _, x, head, scope = _in_scope_model()
    model = IntentModel(head, threshold=-1.0, scope=scope)
    messages = ["can I book a table for two", "explain the theory of relativity in simple terms"]
    saved = model.save(tmp_path / "m")
    meta = json.loads((saved / "intent_model.json").read_text())
    assert meta["format"] == 2 and meta["scope"]["k"] == 5 and (saved / "neighbours.npy").is_file()
    again = IntentModel.load(saved)
    assert again.scope is not None
    v = enc.encode(messages)
    np.testing.assert_allclose(
        again.in_scope_scores(again.probabilities(messages, v), v),
        model.in_scope_scores(model.probabilities(messages, v), v),
        atol=1e-3,  # the training vectors are stored as float16
    )
    # the off-topic message is farther from every training phrasing than the booking request
    s = model.in_scope_scores(model.probabilities(messages, v), v)
    assert s[0] > s[1]


def test_a_model_with_the_mahalanobis_term_round_trips_as_format_3(tmp_path: Path):
    enc, data, x, head, scope = _in_scope_model()
    distance = MahalanobisScore.fit(x, data.labels, x)
    model = IntentModel(head, threshold=-1.0, scope=scope, mahalanobis=distance)
    messages = ["can I book a table for two", "explain the theory of relativity in simple terms"]
    v = enc.encode(messages)
    with_term = model.in_scope_scores(model.probabilities(messages, v), v)
    np.testing.assert_allclose(
        with_term, scope.score(model.probabilities(messages, v).max(axis=1), v) + distance.term(v), rtol=1e-6
    )
    assert with_term[0] > with_term[1]  # the off-topic message is the less in-scope one
    assert distance.term(v)[0] > distance.term(v)[1]  # and so by the Mahalanobis term alone
    saved = model.save(tmp_path / "m")
    meta = json.loads((saved / "intent_model.json").read_text())
    assert meta["format"] == 3 and set(meta["mahalanobis"]) == {"dist_mean", "dist_std"}
    again = IntentModel.load(saved)
    assert again.mahalanobis is not None
    np.testing.assert_allclose(
        again.in_scope_scores(again.probabilities(messages, v), v), with_term, atol=1e-3
    )
    # without the term the same model saves as format 2, which older kefu versions read
    assert (
        json.loads((IntentModel(head, scope=scope).save(tmp_path / "m2") / "intent_model.json").read_text())[
            "format"
        ]
        == 2
    )


def test_training_tries_the_mahalanobis_term_only_when_asked(tmp_path: Path):
    train, val = _split(EXAMPLES)
    plain = train_intent_model(train, validation=val, log=lambda _: None)
    assert plain.mahalanobis is None and "val_neighbour_mahalanobis_rule" not in plain.report
    model = train_intent_model(train, validation=val, mahalanobis=True, log=lambda _: None)
    rule = model.report["val_neighbour_mahalanobis_rule"]
    assert 0.0 <= rule["in_scope_accuracy"] <= 1.0 and 0.0 <= rule["oos_recall"] <= 1.0
    picked = model.report["abstain_on"] == "neighbour score + Mahalanobis"
    assert (model.mahalanobis is not None) == picked
    assert model.mahalanobis is None or model.scope is not None  # the term adds to the neighbour score

    def gain(key: str) -> float:
        return model.report[key]["in_scope_accuracy"] + model.report[key]["oos_recall"]

    # kept only when it beats both simpler scores outright on validation (here all three may tie)
    simpler = max(gain("val_top_probability_rule"), gain("val_neighbour_rule"))
    assert picked == (gain("val_neighbour_mahalanobis_rule") > simpler)
    again = IntentModel.load(model.save(tmp_path / "m"))
    messages = ["has my parcel been sent out?", "what's the capital of peru"]
    assert [r.intent for r in again.predict_many(messages)] == [
        r.intent for r in model.predict_many(messages)
    ]


def test_a_format_1_directory_still_loads(tmp_path: Path):
    head = fit_linear_head(_unit(np.eye(2, 384) + 0.01), ["a", "b"])
    np.savez(tmp_path / "frozen_head.npz", coef=head.coef, intercept=head.intercept)
    (tmp_path / "intent_model.json").write_text(
        json.dumps({"format": 1, "method": "frozen", "labels": ["a", "b"], "threshold": 0.6, "report": {}})
    )
    model = IntentModel.load(tmp_path)
    assert model.scope is None and model.labels == ["a", "b"] and model.threshold == 0.6
    result = model.predict("anything", vector=_unit(np.eye(1, 384))[0])
    assert result.label == "a"


@pytest.mark.slow
def test_contrastive_tuning_a_tiny_set_runs_and_the_tuned_encoder_reads_it(tmp_path: Path):
    from kefu.agents.nlu.contrastive import ContrastiveSettings, contrastive_tune, tuned_encoder

    data = LabelledTexts.from_mapping({k: v[:4] for k, v in EXAMPLES.items() if k != "oos"})
    settings = ContrastiveSettings(pairs_per_example=1, batch_size=4, max_length=16)
    out = contrastive_tune(data.texts, data.labels, tmp_path / "tuned", settings=settings, log=lambda _: None)
    assert (out / "config.json").is_file()
    v = tuned_encoder(out).encode(["where is my parcel", "where's my package", "book a table for two"])
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2]  # two parcel questions stay closer than a parcel and a booking


def test_the_train_intent_command_takes_a_separate_validation_file(tmp_path: Path):
    from kefu.agents.nlu.cli import main

    train, val = _split(EXAMPLES)
    for name, data in (("train.csv", train), ("val.csv", val)):
        rows = "".join(f'"{t}",{lab}\n' for t, lab in data.pairs())
        (tmp_path / name).write_text("text,label\n" + rows, encoding="utf-8")
    args = ["intent", "--data", str(tmp_path / "train.csv"), "--validation", str(tmp_path / "val.csv")]
    assert main([*args, "--out", str(tmp_path / "m")]) == 0
    model = IntentModel.load(tmp_path / "m")
    assert OOS_CLASS in model.head.labels and model.report["val_examples"] == len(val) - 2


def test_the_recall_ceiling_uses_the_highest_threshold_that_keeps_the_accuracy():
    from kefu.agents.nlu.public_bench import recall_ceiling

    scores, correct = np.arange(100.0), np.ones(100, dtype=bool)
    oos = np.array([3.0, 4.5, 50.0])
    assert recall_ceiling(scores, correct, oos) == pytest.approx(2 / 3)  # keeps scores >= 5: 95 of 100
    correct[99] = False  # one fewer right answer: the threshold must drop to keep 95 right
    assert recall_ceiling(scores, correct, oos) == pytest.approx(1 / 3)
    assert recall_ceiling(scores, np.zeros(100, dtype=bool), oos) == 0.0
