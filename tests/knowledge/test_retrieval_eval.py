"""The retrieval evaluation's data and metrics (no model: the full run is `python -m kefu.evals.retrieval`)."""

from __future__ import annotations

from collections import Counter

import pytest

from kefu.evals.retrieval.datasets import BITEXT_FILE, bitext_protocol, default_datasets_dir, demo_questions
from kefu.evals.retrieval.metrics import first_relevant, not_found_metrics, ranking_metrics
from kefu.tools.knowledge import DEMO_KB_FILES
from kefu.tools.knowledge.documents import read_file


def test_ranking_metrics():
    m = ranking_metrics([1, 2, None, 4])
    assert m.recall == {1: 0.25, 3: 0.5, 5: 0.75}
    assert m.mrr == pytest.approx((1 + 0.5 + 0.25) / 4)
    assert first_relevant(["a", "b", "c"], frozenset({"c", "z"})) == 3
    assert first_relevant(["a"], frozenset({"z"})) is None


def test_not_found_metrics():
    m = not_found_metrics([0.5, 0.1], [0.05, 0.3], threshold=0.2)
    assert (m.answered, m.refused, m.accuracy) == (0.5, 0.5, 0.5)
    m = not_found_metrics([0.5, 0.4, 0.3, 0.1], [0.05], threshold=0.2)  # balanced: each side counts the same
    assert (m.accuracy, m.balanced) == (0.8, 0.875)


def test_demo_questions_are_labelled_with_existing_passages():
    questions = demo_questions()
    in_scope = [q for q in questions if q.relevant]
    assert len(in_scope) >= 100
    assert Counter(q.split for q in in_scope)["heldout"] >= 40
    assert any(not q.relevant for q in questions)  # out-of-scope questions for the threshold
    near = [q for q in questions if q.near]  # about the shop, not answered by its documents
    assert not any(q.relevant for q in near)
    assert Counter(q.split for q in near) == Counter({"dev": 14, "heldout": 10})
    known = {f"{f.name}#{p.anchor}" for f in DEMO_KB_FILES for p in read_file(f).passages}
    assert {r for q in questions for r in q.relevant} <= known
    assert len({q.text.casefold() for q in questions}) == len(questions)


@pytest.mark.dataset
def test_bitext_protocol_splits_each_intent_in_half():
    datasets = default_datasets_dir()
    csv_path = datasets / "bitext_customer_support" / BITEXT_FILE if datasets else None
    if csv_path is None or not csv_path.is_file():
        pytest.skip("needs ../shared/datasets/bitext_customer_support (not present on this machine)")
    test = bitext_protocol(csv_path, seed=13)
    assert len(test.faq) == 27
    indexed = sum(1 + len(entry["questions"]) for entry in test.faq)
    assert 4400 <= indexed + len(test.queries) <= 4514  # duplicate instructions are indexed once
    assert bitext_protocol(csv_path, seed=13).queries == test.queries  # seeded

    # The dev protocol (for tuning) only draws on the indexed half, never on the test queries' rows.
    def norm(text):
        return " ".join(text.split()).casefold()

    indexed_half = {norm(q) for entry in test.faq for q in (entry["question"], *entry["questions"])}
    dev = bitext_protocol(csv_path, seed=13, dev=True)
    assert dev.queries and all(norm(q.text) in indexed_half for q in dev.queries)
