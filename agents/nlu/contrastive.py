"""SetFit-style contrastive tuning of the packaged MiniLM for few-shot intents.

With ten examples per intent there is no validation data to early-stop a classifier fine-tune, and a
softmax head over 77 classes learns from 770 rows mostly noise. SetFit (Tunstall et al. 2022) tunes the
sentence encoder itself on *pairs*: two phrasings of one intent should embed close together, phrasings of
different intents apart; a logistic regression then reads the tuned vectors. Here the pairs are trained
with in-batch negatives (each batch holds one (anchor, positive) pair from each of `batch_size` distinct
intents, and every other positive in the batch is a negative), which uses a batch fully on a CPU: one
step scores `batch_size`² pairs for 2 × `batch_size` encoder passes. Settings follow SetFit's published
defaults where they apply (learning rate 2e-5, one pass, warm-up 10%); none was tuned on test data.

The result is a plain transformers checkpoint (`save_pretrained`), read by `tuned_encoder` with kefu's own
MiniLM encoder (mean pooling, L2 normalisation); with `lora_rank` it is a LoRA adapter instead (about 1 MB,
what `kefu kb tune` ships beside a knowledge base), read by `MiniLMEncoder(adapter=...)`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kefu.encoder import MiniLMEncoder

__all__ = ["ContrastiveSettings", "contrastive_tune", "tuned_encoder"]


@dataclass(frozen=True)
class ContrastiveSettings:
    """Hyper-parameters of one contrastive run (SetFit's defaults where they apply)."""

    pairs_per_example: int = 5
    """Passes over the examples: each pass draws one positive partner per example."""
    batch_size: int = 32
    learning_rate: float = 2e-5
    warmup: float = 0.1
    weight_decay: float = 0.01
    scale: float = 20.0
    """Cosine similarities are multiplied by this before the softmax over the batch."""
    max_length: int = 64
    seed: int = 0
    steps: int | None = None
    """Training steps; None: `pairs_per_example` passes over the examples."""
    lora_rank: int = 0
    """0: tune every weight and save a checkpoint; above 0: train a LoRA adapter of this rank on the
    attention and feed-forward projections and save only the adapter."""


def _mean_pool(model: Any, tokenizer: Any, texts: Sequence[str], max_length: int) -> Any:
    import torch

    batch = tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    batch = batch.to(next(model.parameters()).device)
    hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9), dim=1)


def contrastive_tune(
    texts: Sequence[str],
    labels: Sequence[str],
    out: str | Path,
    *,
    settings: ContrastiveSettings | None = None,
    base: str | Path | None = None,
    log: Callable[[str], Any] = print,
    progress: Callable[[int, float], Any] | None = None,
) -> Path:
    """Tune MiniLM (the packaged one, or `base`) on same-label pairs; save the checkpoint (or, with
    `settings.lora_rank`, the adapter) under `out`. `progress(step, loss)` is called after each step."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from kefu.encoder import model_path

    s = settings or ContrastiveSettings()
    random.seed(s.seed)
    torch.manual_seed(s.seed)
    by_label: dict[str, list[str]] = {}
    for t, lab in zip(texts, labels, strict=True):
        by_label.setdefault(lab, []).append(t)
    usable = sorted(lab for lab, ts in by_label.items() if len(ts) >= 2)
    batch = min(s.batch_size, len(usable))
    if batch < 2:
        raise ValueError("contrastive tuning needs two examples each of at least two labels")
    path = str(base or model_path())
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True)
    if s.lora_rank:
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(
            r=s.lora_rank,
            lora_alpha=2 * s.lora_rank,
            lora_dropout=0.0,
            target_modules=["query", "key", "value", "dense"],
        )
        model = get_peft_model(model, lora)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device).train()
    steps = s.steps or max(1, s.pairs_per_example * len(texts) // batch)
    warm = max(1.0, s.warmup * steps)
    trained = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trained, lr=s.learning_rate, weight_decay=s.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda i: min(1.0, (i + 1) / warm) * max(0.0, (steps - i) / steps)
    )
    target = torch.arange(batch, device=device)
    started = time.perf_counter()
    for step in range(steps):
        pairs = [random.sample(by_label[lab], 2) for lab in random.sample(usable, batch)]
        a = _mean_pool(model, tokenizer, [p[0] for p in pairs], s.max_length)
        b = _mean_pool(model, tokenizer, [p[1] for p in pairs], s.max_length)
        logits = a @ b.T * s.scale
        loss = (
            torch.nn.functional.cross_entropy(logits, target)
            + torch.nn.functional.cross_entropy(logits.T, target)
        ) / 2
        loss.backward()
        opt.step()
        sched.step()
        opt.zero_grad()
        if progress is not None:
            progress(step + 1, float(loss.item()))
        if step % 10 == 0 or step == steps - 1:
            log(f"step {step + 1}/{steps} loss {loss.item():.3f} {time.perf_counter() - started:.0f}s")
    Path(out).mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    if not s.lora_rank:  # an adapter is read with the packaged tokenizer
        tokenizer.save_pretrained(str(out))
    return Path(out)


def tuned_encoder(path: str | Path, *, max_length: int = 64) -> MiniLMEncoder:
    """The encoder reading a `contrastive_tune` checkpoint: kefu's MiniLM encoder on that folder, in float32
    (the precision the checkpoint was tuned and benchmarked in), truncating at the tuning's `max_length`."""
    return MiniLMEncoder(path, precision="float32", max_tokens=max_length)
