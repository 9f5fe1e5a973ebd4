"""The encoder-speed benchmark's inputs and its gate (the timed run itself is a benchmark command, not a test)."""

from kefu.evals.retrieval.encoder_speed import COSINE_GATE, Variant, ingest_texts, markdown


def test_it_embeds_what_ingest_embeds():
    texts = ingest_texts(40)
    assert len(texts) == 40 and all(t.strip() for t in texts)
    assert any(": " in t for t in texts)  # sections carry their heading path, as ingest embeds them


def test_only_variants_close_to_float32_may_be_the_default():
    rows = [
        Variant("torch float32", 100, 2.0, 2.0, 1.0, 1.0),
        Variant("fast but off", 100, 1.0, 1.0, COSINE_GATE - 0.05, 0.96),
    ]
    text = markdown(rows, 40.0, "python -m kefu.evals.retrieval.encoder_speed")
    assert "| torch float32 | 50.0 | 50.0 | 1.00000 | 1.00000 | yes |" in text
    assert "| fast but off | 100.0 | 100.0 |" in text and text.count("| no |") == 1
