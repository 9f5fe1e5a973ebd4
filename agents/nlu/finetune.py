"""Fine-tune the packaged MiniLM as an intent classifier (the slow, more accurate method).

Why not a plain `AutoModelForSequenceClassification` head on the checkpoint: the packaged model is
sentence-transformers' all-MiniLM-L6-v2, trained to be read through *mean pooling* of its token states;
its `[CLS]` pooler was never trained for that, so a BERT classification head on it starts from noise (a
plain full fine-tune measured 84.6% on BANKING77, below the frozen vectors' 92.9%). Here the model is
the same `AutoModel` body, read the way it was trained (mean pooling, L2 normalisation), under a linear
layer that starts as the logistic regression fitted on the frozen vectors ("linear probe, then fine-tune":
the head is already good, so the body moves little and early epochs do not wreck its features).

Seeded; a linear warm-up then linear decay of the learning rate; early stopping on validation accuracy
(the best epoch's weights are kept); a progress bar per epoch; CUDA when present, else CPU. Messages are
short, so `max_length` 64 loses nothing and trains several times faster than 256.
"""

from __future__ import annotations

import copy
import json
import math
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["FineTuneSettings", "FineTunedClassifier", "TunedEncoder", "fine_tune"]


@dataclass(frozen=True)
class FineTuneSettings:
    """Hyper-parameters of one fine-tuning run (the defaults are the ones measured in docs/nlu.md)."""

    learning_rate: float = 1e-4
    """Peak learning rate of the encoder body."""
    head_learning_rate: float = 1e-3
    """Peak learning rate of the linear head (starts from the frozen-vector logistic regression)."""
    epochs: int = 6
    batch_size: int = 32
    max_length: int = 64
    """Tokens kept per message; customer messages are short."""
    warmup: float = 0.1
    """Fraction of the steps spent warming the learning rate up from zero."""
    weight_decay: float = 0.01
    patience: int = 2
    """Stop after this many epochs without a better validation accuracy."""
    train_embeddings: bool = False
    """Update the word-embedding table too (half the parameters; on a CPU, freezing it nearly halves a
    step's time, and short-message intent data is too small to move 30k word vectors usefully)."""
    seed: int = 0
    device: str | None = None
    """'cuda', 'cpu', or None for CUDA when available."""
    progress: bool = True


@dataclass
class TrainingLog:
    """What happened during training: validation accuracy per epoch and the epoch kept."""

    val_accuracy: list[float] = field(default_factory=list)
    best_epoch: int = 0
    seconds: float = 0.0


def _seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():  # pragma: no cover - no GPU in CI
        torch.cuda.manual_seed_all(seed)


class FineTunedClassifier:
    """A MiniLM body with mean pooling and a linear head; `probabilities(texts)` → softmax rows."""

    def __init__(self, body: Any, tokenizer: Any, head: Any, labels: Sequence[str], max_length: int) -> None:
        self.body = body
        self.tokenizer = tokenizer
        self.head = head
        self.labels = list(labels)
        self.max_length = max_length

    @property
    def device(self) -> str:
        return str(next(self.body.parameters()).device)

    def _pooled(self, batch: dict[str, Any]) -> Any:
        """Mean-pooled, unit-length sentence vectors (what the head reads)."""
        import torch

        hidden = self.body(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, p=2, dim=1)

    def _logits(self, batch: dict[str, Any]) -> Any:
        return self.head(self._pooled(batch))

    def _rows(
        self, texts: Sequence[str], width: int, fn: Callable[[Any], Any], batch_size: int
    ) -> np.ndarray:
        """`fn(pooled batch)` for every text, batched shortest-first, rows back in `texts` order."""
        import torch

        out = np.empty((len(texts), width), dtype=np.float32)
        if not texts:
            return out
        self.body.eval()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                out[idx] = fn(self._tokenize([texts[i] for i in idx])).float().cpu().numpy()
        return out

    def _tokenize(self, texts: Sequence[str]) -> dict[str, Any]:
        batch = self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        return {k: v.to(self.device) for k, v in batch.items()}

    def probabilities(self, texts: Sequence[str], batch_size: int = 128) -> np.ndarray:
        """Softmax over the labels for each text (rows in `texts` order)."""
        import torch

        return self._rows(
            texts, len(self.labels), lambda b: torch.softmax(self._logits(b).float(), dim=-1), batch_size
        )

    def vectors(self, texts: Sequence[str], batch_size: int = 128) -> np.ndarray:
        """The tuned body's unit-length sentence vectors: what out-of-scope scores measure closeness on
        (fine-tuning pulls each intent's phrasings together, so an unfamiliar message stands further off
        than it does among the frozen vectors)."""
        return self._rows(texts, self.head.in_features, self._pooled, batch_size)

    # ---- files -----------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> None:
        """Write the body (safetensors + tokenizer) and the head (`head.npz`) under `directory`."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        self.body.save_pretrained(path / "body", safe_serialization=True)
        self.tokenizer.save_pretrained(path / "body")
        weight = self.head.weight.detach().cpu().numpy()
        bias = self.head.bias.detach().cpu().numpy()
        np.savez(path / "head.npz", weight=weight, bias=bias)
        (path / "finetuned.json").write_text(
            json.dumps({"labels": self.labels, "max_length": self.max_length}, indent=1), encoding="utf-8"
        )

    @classmethod
    def load(cls, directory: str | Path, device: str | None = None) -> FineTunedClassifier:
        import torch

        path = Path(directory)
        meta = json.loads((path / "finetuned.json").read_text(encoding="utf-8"))
        body, tokenizer = _load_body(
            path / "body", device or ("cuda" if torch.cuda.is_available() else "cpu")
        )
        arrays = np.load(path / "head.npz")
        head = torch.nn.Linear(arrays["weight"].shape[1], arrays["weight"].shape[0])
        with torch.no_grad():
            head.weight.copy_(torch.from_numpy(arrays["weight"]))
            head.bias.copy_(torch.from_numpy(arrays["bias"]))
        body.eval()
        return cls(
            body,
            tokenizer,
            head.to(next(body.parameters()).device).eval(),
            meta["labels"],
            meta["max_length"],
        )


class TunedEncoder:
    """A fine-tuned body as an `Encoder`: its mean-pooled, unit-length vectors (`method="tuned"`)."""

    def __init__(self, model: FineTunedClassifier) -> None:
        self.model = model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.vectors(list(texts))


def _load_body(path: str | Path, device: str) -> tuple[Any, Any]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        body = AutoModel.from_pretrained(str(path), local_files_only=True, add_pooling_layer=False)
    finally:
        hf_logging.set_verbosity(verbosity)
    return body.to(device), tokenizer


def fine_tune(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    initial_head: tuple[np.ndarray, np.ndarray],
    label_names: Sequence[str],
    val_texts: Sequence[str] = (),
    val_labels: Sequence[str] = (),
    settings: FineTuneSettings | None = None,
    base: str | Path | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
) -> tuple[FineTunedClassifier, TrainingLog]:
    """Fine-tune MiniLM (from `base`, default the packaged weights) on `texts`/`labels`.

    `initial_head` is (coef, intercept) of a logistic regression on the frozen vectors, rows in
    `label_names` order. With validation texts, the epoch with the best validation accuracy is kept and
    training stops after `settings.patience` epochs without improvement; without them every epoch runs.
    """
    import torch
    from tqdm.auto import tqdm

    from kefu.encoder import model_path

    s = settings or FineTuneSettings()
    device = s.device or ("cuda" if torch.cuda.is_available() else "cpu")
    _seed_everything(s.seed)
    body, tokenizer = _load_body(base or model_path(), device)
    coef, intercept = initial_head
    head = torch.nn.Linear(coef.shape[1], coef.shape[0])
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(np.asarray(coef, dtype=np.float32)))
        head.bias.copy_(torch.from_numpy(np.asarray(intercept, dtype=np.float32)))
    model = FineTunedClassifier(body, tokenizer, head.to(device), label_names, s.max_length)
    index = {name: i for i, name in enumerate(label_names)}
    y = torch.tensor([index[lab] for lab in labels], dtype=torch.long)
    encoded = tokenizer(list(texts), truncation=True, max_length=s.max_length)["input_ids"]

    body.embeddings.word_embeddings.weight.requires_grad_(s.train_embeddings)
    trainable = [(n, p) for n, p in body.named_parameters() if p.requires_grad]
    no_decay = ("bias", "LayerNorm.weight", "LayerNorm.bias")
    groups = [
        {
            "params": [p for n, p in trainable if not n.endswith(no_decay)],
            "lr": s.learning_rate,
            "weight_decay": s.weight_decay,
        },
        {
            "params": [p for n, p in trainable if n.endswith(no_decay)],
            "lr": s.learning_rate,
            "weight_decay": 0.0,
        },
        {"params": list(head.parameters()), "lr": s.head_learning_rate, "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups)
    steps_per_epoch = math.ceil(len(encoded) / s.batch_size)
    total = steps_per_epoch * s.epochs
    warm = max(1, int(total * s.warmup))

    def schedule(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return max(0.0, (total - step) / max(1, total - warm))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    generator = torch.Generator().manual_seed(s.seed)
    log = TrainingLog()
    best_state: dict[str, Any] | None = None
    best = -1.0
    stale = 0
    started = time.perf_counter()
    pad = tokenizer.pad_token_id or 0
    for epoch in range(s.epochs):
        body.train()
        head.train()
        perm = torch.randperm(len(encoded), generator=generator).tolist()
        bar = tqdm(
            range(steps_per_epoch), desc=f"epoch {epoch + 1}/{s.epochs}", disable=not s.progress, leave=False
        )
        running = 0.0
        for step in bar:
            idx = perm[step * s.batch_size : (step + 1) * s.batch_size]
            width = max(len(encoded[i]) for i in idx)
            ids = torch.full((len(idx), width), pad, dtype=torch.long)
            attn = torch.zeros((len(idx), width), dtype=torch.long)
            for row, i in enumerate(idx):
                ids[row, : len(encoded[i])] = torch.tensor(encoded[i])
                attn[row, : len(encoded[i])] = 1
            batch = {"input_ids": ids.to(device), "attention_mask": attn.to(device)}
            loss = torch.nn.functional.cross_entropy(model._logits(batch), y[idx].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for _, p in trainable], 1.0)
            optimizer.step()
            scheduler.step()
            value = loss.item()
            running = 0.9 * running + 0.1 * value if step else value
            bar.set_postfix(loss=f"{running:.3f}")
        bar.close()
        if val_texts:
            probs = model.probabilities(val_texts)
            acc = float(
                np.mean([label_names[i] == g for i, g in zip(probs.argmax(1), val_labels, strict=True)])
            )
        else:
            acc = float(epoch)  # no validation data: the last epoch is kept
        log.val_accuracy.append(round(acc, 4) if val_texts else float("nan"))
        if on_epoch is not None:
            on_epoch(epoch + 1, acc)
        if acc > best:
            best, stale, log.best_epoch = acc, 0, epoch + 1
            best_state = {
                "body": copy.deepcopy(body.state_dict()),
                "head": copy.deepcopy(head.state_dict()),
            }
        else:
            stale += 1
            if val_texts and stale >= s.patience:
                break
    if best_state is not None:
        body.load_state_dict(best_state["body"])
        head.load_state_dict(best_state["head"])
    body.eval()
    head.eval()
    log.seconds = round(time.perf_counter() - started, 1)
    return model, log


def settings_dict(s: FineTuneSettings) -> dict[str, Any]:
    """The settings as plain JSON values (for model cards and metadata)."""
    return asdict(s)
