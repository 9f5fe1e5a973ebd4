"""Tuning the knowledge base's encoder on its own FAQ: a LoRA adapter over MiniLM, trained on the sample
questions the business already wrote.

Why: the plain MiniLM ranks an FAQ entry by how close a customer's words are to the entry's questions and
answer in general English. An FAQ that lists several phrasings per entry says more than that: these are the
same question, and the others are not. A few hundred contrastive steps on exactly that (each phrasing should
be nearer its own entry's other phrasings and answer than any other entry's, in-batch negatives) teach the
encoder the business's distinctions. It is opt-in, because it is not a win everywhere: on Bitext dense
recall@1 rises, but on the demo shop's 54-entry FAQ it trades dev recall@1 and off-topic refusals (at the
plain encoder's thresholds) for recall@3; the numbers are in `docs/benchmarks_knowledge.md`. Tune, then
check with your own questions.

The adapter is small (about 1.3 MB), is merged into the weights when loaded (no cost per query), and is named
by content hash, so an index built with it records which encoder made its vectors. Training reads the FAQ
entries from the index itself, so `kefu kb tune` works on whatever was ingested. Seeded; CPU is enough (a few
minutes on two cores).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kefu.encoder import MODEL_ID, EncoderUnavailable, adapter_identity
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
batch are negatives. {steps} steps of {batch}, learning rate {lr} (warm-up, then linear decay), seed {seed};
loss {first:.3f} -> {last:.3f}.

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

    The training is kefu's contrastive tuning (`kefu.agents.nlu.contrastive`, which tunes intents the same
    way), with each FAQ entry as one label: each step draws `batch` entries and two of each one's texts,
    and every other entry's text in the batch is a negative. `progress(step, loss)` is called after each step.
    """
    usable = [list(g) for g in groups if len(g) >= 2]
    if len(usable) < MIN_ENTRIES:
        raise ValueError(
            f"tuning needs at least {MIN_ENTRIES} FAQ entries with a question and another phrasing or an "
            f"answer; this knowledge base has {len(usable)}"
        )
    from kefu.agents.nlu.contrastive import ContrastiveSettings, contrastive_tune

    started = time.perf_counter()
    out = Path(out)
    texts = [text for group in usable for text in group]
    labels = [str(n) for n, group in enumerate(usable) for _ in group]
    losses: list[float] = []

    def step_done(step: int, loss: float) -> None:
        losses.append(loss)
        if progress is not None:
            progress(step, loss)

    settings = ContrastiveSettings(
        batch_size=batch,
        learning_rate=learning_rate,
        max_length=256,
        seed=seed,
        steps=steps,
        lora_rank=rank,
    )
    contrastive_tune(texts, labels, out, settings=settings, log=lambda _: None, progress=step_done)
    _relative_base(out)
    (out / "README.md").write_text(
        CARD.format(
            rank=rank,
            base=MODEL_ID,
            entries=len(usable),
            steps=steps,
            batch=min(batch, len(usable)),
            lr=learning_rate,
            seed=seed,
            first=losses[0],
            last=losses[-1],
        ),
        encoding="utf-8",
    )
    return TuningReport(
        adapter=out,
        identity=adapter_identity(out),
        entries=len(usable),
        steps=steps,
        first_loss=losses[0],
        last_loss=losses[-1],
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
