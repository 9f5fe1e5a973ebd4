"""The public API of kefu.safety is what `__all__` lists; this test pins it so a change is a decision."""

import kefu.safety


def test_public_names_are_pinned():
    assert sorted(kefu.safety.__all__) == sorted(
        [
            "ANONYMOUS",
            "Action",
            "AuditSink",
            "CheckConfig",
            "CustomerFacts",
            "Encoder",
            "GroundingResult",
            "InputResult",
            "ListSink",
            "ReplyResult",
            "SafetyConfig",
            "SafetyLayer",
            "SafetyMiddleware",
            "ToolOutputResult",
            "Verdict",
            "logging_sink",
            "use_encoder",
        ]
    )
    for name in kefu.safety.__all__:
        assert getattr(kefu.safety, name) is not None


def test_models_ship_inside_the_package():
    from kefu.safety.heads import MODELS_DIR, load_models

    for name in ("heads.npz", "heads.json", "toxicity.npz", "toxicity.json", "MODEL_CARD.md"):
        assert (MODELS_DIR / name).is_file(), name
    size = sum(p.stat().st_size for p in MODELS_DIR.iterdir())
    assert size < 4_000_000  # five-fold heads (3 x 384 x 1280 in float16) + the hashed toxicity model
    models = load_models()
    assert set(models.heads) == {"jailbreak", "harmful", "injection"}
    assert load_models() is models  # loaded once per process


def test_the_encoder_is_shared_and_replaceable():
    import numpy as np

    from kefu.safety.encoder import shared_encoder, use_encoder

    default = shared_encoder()
    assert shared_encoder() is default

    class Fake:
        def encode(self, texts):
            return np.zeros((len(texts), 384), dtype=np.float32)

    fake = Fake()
    use_encoder(fake)
    try:
        assert shared_encoder() is fake
    finally:
        use_encoder(default)
