"""kefu.agents.generation: replies written by a fine-tuned local model from a reply plan, grounding-checked.

`plan_from_turn` turns a turn's outcome into a `ReplyPlan`; `ReplyWriter` writes (or streams) the
reply with SmolLM2-135M-Instruct and the shipped LoRA adapter, checks every fact-like span against the
plan, regenerates once, and falls back to the template.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from kefu.agents.generation.base_model import ensure_converted, find_gguf, load_model, model_cache_dir
from kefu.agents.generation.grounding import GroundingResult, check, coverage, extract_spans, required_facts
from kefu.agents.generation.plan import ReplyPlan, plan_from_turn
from kefu.agents.generation.writer import ReplyWriter, StreamedReply, WrittenReply

BUILTIN_ADAPTER = "kefu-writer"


def builtin_adapter() -> Path:
    """The LoRA adapter shipped in the package."""
    return Path(str(resources.files("kefu.agents.generation").joinpath("adapters", BUILTIN_ADAPTER)))


def writer_from_config(cfg: Any) -> ReplyWriter | None:
    """The writer a `generator` config section asks for; None for `template`."""
    if cfg.kind == "template":
        return None
    if cfg.kind == "openai":
        from kefu.agents.generation.endpoint import EndpointWriter

        if not cfg.model or not cfg.base_url:
            raise ValueError("generator.kind 'openai' needs generator.model and generator.base_url")
        return EndpointWriter(
            cfg.model, cfg.base_url, api_key_env=cfg.api_key_env, max_new_tokens=cfg.max_new_tokens
        )
    adapter = builtin_adapter() if cfg.adapter == "builtin" else cfg.adapter
    model, tok = load_model(cfg.base_model, adapter=adapter, dtype=cfg.precision, device=cfg.device)
    if cfg.device != "cpu":
        model.to(cfg.device)
    return ReplyWriter(model, tok, max_new_tokens=cfg.max_new_tokens)


__all__ = [
    "GroundingResult",
    "ReplyPlan",
    "ReplyWriter",
    "StreamedReply",
    "WrittenReply",
    "builtin_adapter",
    "check",
    "coverage",
    "ensure_converted",
    "extract_spans",
    "find_gguf",
    "load_model",
    "model_cache_dir",
    "plan_from_turn",
    "required_facts",
    "writer_from_config",
]
