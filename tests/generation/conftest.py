"""The reply writer's model, loaded once per test session (the first run converts the GGUF, ~30 s)."""

from __future__ import annotations

import pytest

from kefu.agents.generation import ReplyWriter, builtin_adapter, load_model


@pytest.fixture(scope="session")
def tuned() -> ReplyWriter:
    """SmolLM2 with the shipped adapter merged, in the machine's fast precision (bfloat16 only where
    it is native), short replies to keep the suite fast."""
    if not (builtin_adapter() / "adapter_config.json").is_file():
        pytest.skip("no shipped adapter: run `kefu train generator`")
    model, tok = load_model(adapter=builtin_adapter(), dtype="auto")
    return ReplyWriter(model, tok, max_new_tokens=60)
