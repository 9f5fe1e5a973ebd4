"""Tuning the knowledge base's encoder on its own FAQ: a LoRA adapter over MiniLM, trained on the sample
questions the business already wrote.

Why: the plain MiniLM ranks an FAQ entry by how close a customer's words are to the entry's questions and
answer in general English. An FAQ that lists several phrasings per entry says more than that: these are the
same question, and the others are not. A few hundred contrastive steps on exactly that (each phrasing should
be nearer its own entry's other phrasings and answer than any other entry's, in-batch negatives) teach the
encoder the business's distinctions. It is opt-in, because it is not a win everywhere: on the Bitext
protocol's dev split (tuned on the indexed three quarters, scored on the held-back quarter) dense recall@1
went from 0.958 to 0.99, but on the demo shop's 54-entry FAQ recall@3 rose while recall@1 fell and
off-topic questions scored higher (fewer "not found" at the plain encoder's thresholds); the numbers are in
`docs/benchmarks_knowledge.md`. Tune, then check with your own questions.

The adapter is small (about 1.3 MB), is merged into the weights when loaded (no cost per query), and is named
by content hash, so an index built with it records which encoder made its vectors. Training reads the FAQ
entries from the index itself, so `kefu kb tune` works on whatever was ingested. Seeded; CPU is enough (a few
minutes on two cores).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from kefu.encoder import MODEL_ID, EncoderUnavailable, adapter_identity, model_path
from kefu.tools.knowledge.documents import ParsedPassage
from kefu.tools.knowledge.search import Passage

#: Defaults tried on the demo shop's and Bitext's dev questions (never their held-out or test ones).
STEPS = 120
BATCH = 32
LEARNING_RATE = 5e-4
RANK = 8
#: An FAQ needs at least this many entries with two or more texts (question, sample questions, answer) for
#: in-batch negatives to teach anything.
MIN_ENTRIES = 4

CARD = """# Encoder adapter for a knowledge base

LoRA adapter (rank {rank}) over {base}, trained by `kefu kb tune` on {entries} FAQ entries of one knowledge
base: each entry's question, sample questions and answer are positives for each other, other entries in the
batch are negatives. {steps} steps of {batch}, learning rate {lr}, seed {seed}; loss {first:.3f} -> {last:.3f}.

Use it with `knowledge.encoder: <this folder>` in the kefu config; an index records the encoder that embedded
it, and ingesting with a different one embeds the stored records again.
"""


@dataclass(frozen=True, slots=True)
class TuningReport:
    """What `tune_encoder` did."""

    adapter: Path
    identity: str
    """The adapter's encoder identity, as indexes record it."""
    entries: int
    steps: int
    first_loss: float
    last_loss: float
    seconds: float


def faq_groups(passages: Sequence[Passage] | Sequence[ParsedPassage]) -> list[list[str]]:
    """Per FAQ entry, its texts that should embed close together: the question, the sample questions and the
    answer as the index embeds it (question + answer). Entries with a single text teach nothing."""
    groups: list[list[str]] = []
    for passage in passages:
        if passage.kind != "faq":
            continue
        questions = [q for q in (passage.question, *passage.sample_questions) if q]
        answer = f"{passage.question or ''} {passage.text}".strip()
        texts = list(dict.fromkeys([*questions, answer]))
        if len(texts) >= 2 and questions:
            groups.append(texts)
    return groups


def tune_encoder(
    groups: Sequence[Sequence[str]],
    out: str | Path,
    *,
    steps: int = STEPS,
    batch: int = BATCH,
    learning_rate: float = LEARNING_RATE,
    rank: int = RANK,
    seed: int = 0,
    progress: Callable[[int, float], None] | None = None,
) -> TuningReport:
    """Train a LoRA adapter over MiniLM on `groups` (see `faq_groups`) and save it in `out`.

    Each step draws `batch` entries, one phrasing of each as the anchor and another of its texts as the
    positive; the loss is cross-entropy over the anchors' cosine similarities (×20) to every positive in the
    batch. `progress(step, loss)` is called after each step.
    """
    usable = [list(g) for g in groups if len(g) >= 2]
    if len(usable) < MIN_ENTRIES:
        raise ValueError(
            f"tuning needs at least {MIN_ENTRIES} FAQ entries with a question and another phrasing or an "
            f"answer; this knowledge base has {len(usable)}"
        )
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModel, AutoTokenizer

    started = time.perf_counter()
    out = Path(out)
    rng = random.Random(seed)
    torch.manual_seed(seed)
    base = model_path()
    tokenizer = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    model = AutoModel.from_pretrained(str(base), local_files_only=True)
    config = LoraConfig(
        r=rank,
        lora_alpha=2 * rank,
        lora_dropout=0.0,
        target_modules=["query", "key", "value", "dense"],
    )
    model = get_peft_model(model, config)
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=learning_rate)

    def embed(texts: list[str]) -> torch.Tensor:
        tokens = tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="pt")
        hidden = model(**tokens).last_hidden_state
        mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        vectors = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return torch.nn.functional.normalize(vectors, dim=-1)

    first = last = float("nan")
    size = min(batch, len(usable))
    for step in range(steps):
        anchors, positives = [], []
        for texts in rng.sample(usable, size):
            anchor, positive = rng.sample(texts, 2)
            anchors.append(anchor)
            positives.append(positive)
        logits = embed(anchors) @ embed(positives).T * 20.0
        loss = torch.nn.functional.cross_entropy(logits, torch.arange(size))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        last = float(loss.detach())
        if step == 0:
            first = last
        if progress is not None:
            progress(step + 1, last)

    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    _relative_base(out)
    (out / "README.md").write_text(
        CARD.format(
            rank=rank,
            base=MODEL_ID,
            entries=len(usable),
            steps=steps,
            batch=size,
            lr=learning_rate,
            seed=seed,
            first=first,
            last=last,
        ),
        encoding="utf-8",
    )
    return TuningReport(
        adapter=out,
        identity=adapter_identity(out),
        entries=len(usable),
        steps=steps,
        first_loss=first,
        last_loss=last,
        seconds=time.perf_counter() - started,
    )


def _relative_base(out: Path) -> None:
    """The saved config names the base by its absolute path on this machine; name the model instead (the
    encoder always loads the base from the installed wheel)."""
    path = out / "adapter_config.json"
    if not path.is_file():  # pragma: no cover - peft always writes it
        raise EncoderUnavailable(f"peft wrote no adapter_config.json in {out}")
    config = json.loads(path.read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = MODEL_ID
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def report_dict(report: TuningReport) -> dict[str, object]:
    """The report as JSON-ready data (for the CLI and benchmark files)."""
    data = asdict(report)
    data["adapter"] = str(report.adapter)
    return data
