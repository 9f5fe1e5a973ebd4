"""The CrowS-Pairs measurement of the writer: sentence likelihoods under the causal LM, compared pairwise."""

from __future__ import annotations

from kefu.safety.training.stereotype_preference import sentence_logprobs, stereotype_preference


def test_a_fluent_sentence_is_likelier_than_its_words_shuffled(tuned):
    fluent, shuffled = sentence_logprobs(
        tuned.model,
        tuned.tokenizer,
        [
            "Your order has been shipped and should arrive on Monday.",
            "Monday order arrive has shipped on your should and been.",
        ],
    )
    assert fluent > shuffled


def test_batching_and_padding_do_not_change_a_sentences_score(tuned):
    sentences = ["Thanks!", "The return window is thirty days from delivery for unused items."]
    alone = [sentence_logprobs(tuned.model, tuned.tokenizer, [s])[0] for s in sentences]
    together = sentence_logprobs(tuned.model, tuned.tokenizer, sentences)
    for a, b in zip(alone, together, strict=True):
        assert abs(a - b) < 0.05 * abs(a) + 0.1  # bf16 rounding only


def test_preference_counts_pairs_where_the_first_sentence_wins(tuned):
    pairs = [
        ("The parcel arrived on time.", "Parcel the time arrived on.", "control"),
        ("Time on parcel arrived the.", "The parcel arrived on time.", "control"),
    ]
    result = stereotype_preference(tuned.model, tuned.tokenizer, pairs)
    assert result["pairs"] == 2 and result["preference"] == 0.5
    assert result["by_type"] == {"control": (0.5, 2)}
