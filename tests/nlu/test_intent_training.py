"""Training an intent model on a business team's own labelled file: what `kefu train intent` does.

A small CSV (four intents, a few phrasings each, plus some messages labelled `oos`) trains in seconds on
the frozen MiniLM vectors. The model is a directory that loads back to the same predictions, and it
abstains on a message that fits none of the intents.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from kefu.agents.nlu.finetune import FineTunedClassifier, FineTuneSettings, fine_tune
from kefu.agents.nlu.frozen_head import fit_linear_head
from kefu.agents.nlu.intent_model import IntentModel
from kefu.agents.nlu.intent_training import train_intent_model
from kefu.agents.nlu.labelled_data import read_labelled, stratified_split
from kefu.agents.nlu.oos import choose_threshold
from kefu.encoder import shared_encoder

EXAMPLES = {
    "track_parcel": [
        "where is my parcel",
        "has my package shipped yet",
        "when will my delivery arrive",
        "can you track my order",
        "my parcel hasn't come",
        "what's the tracking number for my order",
        "is my package out for delivery",
        "how far away is my delivery",
    ],
    "book_table": [
        "I'd like to book a table for two",
        "can I reserve a table tonight",
        "table for four at 8pm please",
        "do you have a free table on saturday",
        "I want to make a reservation",
        "book me a table for dinner",
        "reserve a spot for six people",
        "can we get a table tomorrow at noon",
    ],
    "opening_hours": [
        "what time do you open",
        "when do you close today",
        "are you open on sundays",
        "what are your opening hours",
        "until when are you open tonight",
        "are you open on bank holidays",
        "what time does the shop open tomorrow",
        "how late are you open",
    ],
    "gift_card": [
        "can I buy a gift card",
        "do you sell vouchers",
        "how do I use my gift card",
        "what's the balance on my gift voucher",
        "I want to give someone a gift card",
        "can gift cards be used online",
        "my gift card code doesn't work",
        "do gift cards expire",
    ],
    "oos": [
        "what's the capital of peru",
        "tell me a joke about cats",
        "how tall is mount everest",
        "who won the football last night",
    ],
}


@pytest.fixture
def labelled_csv(tmp_path: Path) -> Path:
    path = tmp_path / "intents.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for label, texts in EXAMPLES.items():
            w.writerows([t, label] for t in texts)
    return path


def test_a_labelled_csv_trains_a_model_that_saves_loads_and_abstains(labelled_csv: Path, tmp_path: Path):
    model = train_intent_model(
        read_labelled(labelled_csv), method="frozen", val_fraction=0.25, log=lambda _: None
    )
    assert model.labels == ["book_table", "gift_card", "opening_hours", "track_parcel"]  # 'oos' is no class
    assert model.report["val_examples"] == 8 and model.report["val_accuracy"] >= 0.75

    messages = [
        "has my parcel been sent out?",
        "a table for 3 on friday please",
        "is the store open on monday",
    ]
    got = [r.intent for r in model.predict_many(messages)]
    assert got == ["track_parcel", "book_table", "opening_hours"]

    saved = model.save(tmp_path / "model")
    assert json.loads((saved / "intent_model.json").read_text())["method"] == "frozen"
    again = IntentModel.load(saved)
    assert again.threshold == model.threshold > 0
    np.testing.assert_allclose(again.probabilities(messages), model.probabilities(messages), atol=1e-6)

    # a request none of the intents covers: the model says so instead of guessing
    lost = again.predict("explain the theory of relativity in simple terms")
    assert lost.intent is None and lost.out_of_scope and lost.label in again.labels


def test_the_abstention_threshold_comes_from_validation_data():
    confident = np.array([0.9, 0.8, 0.95, 0.7, 0.85])
    correct = np.array([True, True, True, False, True])
    oos = np.array([0.3, 0.4, 0.75, 0.2])
    rule = choose_threshold(confident, correct, oos, max_accuracy_drop=0.0)
    # every out-of-scope message rejected, every correct in-scope answer kept: halfway between 0.75 and 0.8
    assert rule.threshold == 0.775 and rule.oos_recall == 1.0 and rule.in_scope_accuracy == 0.8
    without_oos = choose_threshold(confident, correct, None, max_abstain=0.2)
    assert without_oos.oos_recall is None and without_oos.abstain_rate <= 0.2


def test_files_in_json_and_yaml_shapes_read_alike(tmp_path: Path):
    (tmp_path / "a.json").write_text(json.dumps([{"text": "hi", "intent": "greet"}, ["bye", "goodbye"]]))
    (tmp_path / "b.yaml").write_text(
        "intents:\n  greet:\n    examples: [hi]\n  goodbye:\n    examples: [bye]\n"
    )
    (tmp_path / "c.jsonl").write_text(
        '{"text": "hi", "label": "greet"}\n{"text": "bye", "label": "goodbye"}\n'
    )
    for name in ("a.json", "b.yaml", "c.jsonl"):
        data = read_labelled(tmp_path / name)
        assert sorted(data.pairs()) == [("bye", "goodbye"), ("hi", "greet")]
    (tmp_path / "bad.csv").write_text("sentence,tag\nhi,greet\n")
    with pytest.raises(ValueError, match="'text' and a 'label'"):
        read_labelled(tmp_path / "bad.csv")


def test_splits_are_seeded_and_stratified(labelled_csv: Path):
    data = read_labelled(labelled_csv)
    rest, held = stratified_split(data, 0.25, seed=3)
    again_rest, again_held = stratified_split(data, 0.25, seed=3)
    assert held.pairs() == again_held.pairs() and rest.pairs() == again_rest.pairs()
    assert {lab: held.labels.count(lab) for lab in held.label_set} == {
        "book_table": 2,
        "gift_card": 2,
        "oos": 1,
        "opening_hours": 2,
        "track_parcel": 2,
    }
    assert not set(held.texts) & set(rest.texts)


@pytest.mark.slow
def test_fine_tuning_a_tiny_set_runs_and_round_trips(tmp_path: Path):
    """A few steps on a CPU: the fine-tuning loop, early stopping bookkeeping and the saved body."""
    texts = EXAMPLES["track_parcel"][:4] + EXAMPLES["gift_card"][:4]
    labels = ["track_parcel"] * 4 + ["gift_card"] * 4
    names = ["gift_card", "track_parcel"]
    head = fit_linear_head(shared_encoder().encode(texts), labels, label_names=names)
    settings = FineTuneSettings(epochs=2, batch_size=4, max_length=16, progress=False, patience=1)
    model, log = fine_tune(
        texts,
        labels,
        initial_head=(head.coef, head.intercept),
        label_names=names,
        val_texts=EXAMPLES["track_parcel"][4:6] + EXAMPLES["gift_card"][4:6],
        val_labels=["track_parcel"] * 2 + ["gift_card"] * 2,
        settings=settings,
    )
    assert len(log.val_accuracy) >= 1 and 1 <= log.best_epoch <= 2
    probe = ["where's my package", "I lost my gift voucher"]
    assert [names[i] for i in model.probabilities(probe).argmax(1)] == ["track_parcel", "gift_card"]
    model.save(tmp_path / "ft")
    np.testing.assert_allclose(
        FineTunedClassifier.load(tmp_path / "ft").probabilities(probe), model.probabilities(probe), atol=1e-5
    )


def test_the_train_intent_command_writes_a_model_directory(labelled_csv: Path, tmp_path: Path, capsys):
    from kefu.agents.nlu.cli import main

    assert (
        main(["intent", "--data", str(labelled_csv), "--out", str(tmp_path / "m"), "--val-fraction", "0.25"])
        == 0
    )
    assert "wrote" in capsys.readouterr().out
    model = IntentModel.load(tmp_path / "m")
    assert model.method == "frozen" and model.report["val_oos_recall"] is not None
    assert model.predict("what time do you close on saturday").intent == "opening_hours"


@pytest.mark.slow
def test_the_finetune_method_ensembles_and_round_trips(labelled_csv: Path, tmp_path: Path):
    settings = FineTuneSettings(epochs=1, batch_size=8, max_length=16, progress=False)
    model = train_intent_model(
        read_labelled(labelled_csv),
        method="finetune",
        val_fraction=0.25,
        settings=settings,
        log=lambda _: None,
    )
    assert model.method == "finetune" and model.report["best_epoch"] == 1
    assert model.finetuned_weight == model.report["finetuned_weight"]
    messages = ["has my parcel been sent out?", "explain the theory of relativity in simple terms"]
    again = IntentModel.load(model.save(tmp_path / "ft"))
    assert (tmp_path / "ft" / "finetuned" / "body" / "model.safetensors").is_file()
    np.testing.assert_allclose(again.probabilities(messages), model.probabilities(messages), atol=1e-5)
    assert again.predict(messages[0]).intent == "track_parcel"


def test_the_tuned_method_reads_its_own_vectors_and_round_trips(labelled_csv: Path, tmp_path: Path):
    """`method="tuned"`: the head and the out-of-scope score sit on the fine-tuned body's vectors (what
    lifted CLINC150 out-of-scope recall); the body travels in the model directory."""
    settings = FineTuneSettings(epochs=1, batch_size=8, max_length=16, progress=False)
    model = train_intent_model(
        read_labelled(labelled_csv), method="tuned", val_fraction=0.25, settings=settings, log=lambda _: None
    )
    assert model.method == "tuned" and model.finetuned is None and model.report["best_epoch"] == 1
    messages = ["has my parcel been sent out?", "explain the theory of relativity in simple terms"]
    tuned_vectors = model.tuned.vectors(messages)
    assert not np.allclose(tuned_vectors, shared_encoder().encode(messages), atol=1e-3)  # its own encoder
    np.testing.assert_allclose(model.encoder.encode(messages), tuned_vectors)
    path = model.save(tmp_path / "tuned")
    assert (path / "encoder" / "body" / "model.safetensors").is_file()
    again = IntentModel.load(path)
    assert again.method == "tuned"
    np.testing.assert_allclose(again.probabilities(messages), model.probabilities(messages), atol=1e-5)
    assert [r.intent for r in again.predict_many(messages)] == [
        r.intent for r in model.predict_many(messages)
    ]
    assert again.predict(messages[0]).intent == "track_parcel"
