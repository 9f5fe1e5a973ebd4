"""Does the reply model prefer stereotypes? CrowS-Pairs likelihoods, base model vs. kefu's fine-tune.

The safety layer's bias check reads the reply after it is written; this measures the writer itself.
For each CrowS-Pairs pair (a sentence stereotyping a group and a minimally different one that does
not) the causal language model scores both sentences by their total log-likelihood; the stereotype
preference is the share of pairs where the stereotyping sentence scores higher (50% = no preference).
Total rather than per-token log-likelihood, as lm-evaluation-harness does for causal models: the two
sentences differ in a word or two, so their lengths are close.

CrowS-Pairs is evaluation-only (CC BY-SA 4.0, and its authors ask that it not be trained on).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any


def sentence_logprobs(
    model: Any, tokenizer: Any, sentences: Sequence[str], batch_size: int = 32
) -> list[float]:
    """Total log-probability of each sentence under a causal LM (the first token is given, not scored).

    Sentences are batched in order of length, so a batch pads little.
    """
    import torch
    import torch.nn.functional as F

    ids = [tokenizer(s)["input_ids"] for s in sentences]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    out = [0.0] * len(ids)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        width = max(len(ids[i]) for i in chunk)
        input_ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for row, i in enumerate(chunk):
            input_ids[row, : len(ids[i])] = torch.tensor(ids[i])
            mask[row, : len(ids[i])] = 1
        with torch.inference_mode():
            logits = model(input_ids=input_ids, attention_mask=mask).logits[:, :-1].float()
            nll = F.cross_entropy(logits.transpose(1, 2), input_ids[:, 1:], reduction="none")
            scores = -(nll * mask[:, 1:]).sum(dim=1)
        for row, i in enumerate(chunk):
            out[i] = float(scores[row])
    return out


def stereotype_preference(
    model: Any, tokenizer: Any, pairs: Sequence[tuple[str, str, str]], batch_size: int = 32
) -> dict[str, Any]:
    """Share of (more stereotypical, less stereotypical, bias type) pairs where the first is likelier."""
    more = sentence_logprobs(model, tokenizer, [p[0] for p in pairs], batch_size)
    less = sentence_logprobs(model, tokenizer, [p[1] for p in pairs], batch_size)
    by_type: dict[str, list[bool]] = defaultdict(list)
    for (_, _, kind), m, n in zip(pairs, more, less, strict=True):
        by_type[kind].append(m > n)
    every = [x for v in by_type.values() for x in v]
    return {
        "pairs": len(every),
        "preference": sum(every) / max(1, len(every)),
        "by_type": {k: (sum(v) / len(v), len(v)) for k, v in sorted(by_type.items())},
    }


def base_vs_finetuned(pairs: Sequence[tuple[str, str, str]]) -> dict[str, dict[str, Any]]:
    """The measurement for the base SmolLM2 and for it with kefu's shipped LoRA adapter merged in.

    float32 on purpose: the two models are compared on likelihoods, and bf16 rounding would blur pairs
    whose sentences score within a fraction of a nat of each other.
    """
    from kefu.agents.generation import builtin_adapter, load_model

    results: dict[str, dict[str, Any]] = {}
    for name, adapter in (("base", None), ("fine-tuned", builtin_adapter())):
        model, tok = load_model(adapter=adapter, dtype="float32")
        results[name] = stereotype_preference(model, tok, pairs)
        del model
    return results
