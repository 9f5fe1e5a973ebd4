"""Ingest-speed variants of the MiniLM encoder: how many chunks per second, and how close to float32.

    python -m kefu.evals.retrieval.encoder_speed --out docs/benchmarks_encoder.md

Embeds the knowledge base's real ingest texts (the demo KB and the Bitext responses as help pages, as
`kefu.evals.retrieval` indexes them; the demo KB alone without the shared datasets) with:

- torch float32, the reference;
- torch under bfloat16 autocast (the default on CPUs with AVX512-BF16/AMX);
- ONNX Runtime float32 and int8 dynamic quantization (matrix-product weights), from a graph exported here (needs the `onnx` package;
  skipped without it).

All variants sort texts by length before batching (little padding) and run on one thread, so chunks per CPU
second says what a core buys whatever else the machine runs. A variant may become the default only if its
vectors stay within 0.999 cosine of float32 (then retrieval is unchanged on the dev questions).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

COSINE_GATE = 0.999


@dataclass(slots=True)
class Variant:
    name: str
    texts: int
    seconds: float
    cpu_seconds: float
    min_cosine: float
    mean_cosine: float

    @property
    def per_second(self) -> float:
        return self.texts / self.seconds

    @property
    def per_cpu_second(self) -> float:
        return self.texts / self.cpu_seconds


def ingest_texts(limit: int) -> list[str]:
    """What ingest hands the encoder: the records' embed texts, demo KB first, then Bitext help pages."""
    from kefu.tools.knowledge import DEMO_KB_FILES
    from kefu.tools.knowledge.documents import parse_bytes
    from kefu.tools.knowledge.ingest import build_records

    from .datasets import BITEXT_FILE, bitext_guides, default_datasets_dir

    files: dict[str, bytes] = {path.name: path.read_bytes() for path in DEMO_KB_FILES}
    datasets = default_datasets_dir()
    if datasets is not None and (datasets / "bitext_customer_support" / BITEXT_FILE).is_file():
        guides = bitext_guides(datasets / "bitext_customer_support" / BITEXT_FILE, limit)
        files.update({name: text.encode() for name, text in guides.items()})
    texts: list[str] = []
    for name, data in files.items():
        parsed = parse_bytes(data, Path(name).suffix)
        texts += [r.embed_text for r in build_records(name, parsed.passages)]
    return texts[:limit]


def _timed(
    encode: Callable[[Sequence[str]], np.ndarray], texts: list[str]
) -> tuple[np.ndarray, float, float]:
    encode(texts[:8])  # warm up
    wall, cpu = time.perf_counter(), time.process_time()
    vectors = encode(texts)
    return vectors, time.perf_counter() - wall, time.process_time() - cpu


def _onnx_encoders(workdir: Path) -> dict[str, Callable[[Sequence[str]], np.ndarray]]:
    try:
        import onnx  # noqa: F401
        import onnxruntime as ort
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:
        return {}
    import torch

    from kefu.encoder import DIMENSION, MiniLMEncoder

    source = MiniLMEncoder(precision="float32")
    source.load()
    tokenizer = source._tokenizer

    class Wrapped(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
        ) -> torch.Tensor:
            out = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state  # type: ignore[no-any-return]

    names = ["input_ids", "attention_mask", "token_type_ids"]
    plain, int8 = workdir / "minilm.onnx", workdir / "minilm.int8.onnx"
    sample = tokenizer(["hello world"], return_tensors="pt")
    torch.onnx.export(
        Wrapped(source._model),
        tuple(sample[n] for n in names),
        str(plain),
        input_names=names,
        output_names=["hidden"],
        dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "hidden"]},
        opset_version=17,
        dynamo=False,
    )
    # weights of the matrix products only, per output channel (quantizing the embedding lookup too costs accuracy)
    quantize_dynamic(
        str(plain), str(int8), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"]
    )

    def make(path: Path) -> Callable[[Sequence[str]], np.ndarray]:
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

        def encode(texts: Sequence[str]) -> np.ndarray:
            order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
            out = np.empty((len(texts), DIMENSION), dtype=np.float32)
            for start in range(0, len(order), 64):
                idx = order[start : start + 64]
                batch = tokenizer(
                    [texts[i] for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=256,
                    return_tensors="np",
                )
                hidden = session.run(None, {n: batch[n].astype(np.int64) for n in names})[0]
                mask = batch["attention_mask"][..., None].astype(np.float32)
                pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
                out[idx] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
            return out

        return encode

    return {
        "ONNX Runtime float32": make(plain),
        "ONNX Runtime int8 (dynamic, MatMul weights per channel)": make(int8),
    }


def run(limit: int) -> tuple[list[Variant], float]:
    import torch

    from kefu.encoder import MiniLMEncoder

    torch.set_num_threads(1)
    texts = ingest_texts(limit)
    words = float(np.mean([len(t.split()) for t in texts]))
    encoders: dict[str, Callable[[Sequence[str]], np.ndarray]] = {
        "torch float32": MiniLMEncoder(precision="float32").encode,
        "torch bfloat16 autocast": MiniLMEncoder(precision="bfloat16").encode,
    }
    with tempfile.TemporaryDirectory(prefix="kefu-onnx-") as tmp:
        encoders.update(_onnx_encoders(Path(tmp)))
        reference: np.ndarray | None = None
        variants = []
        for name, encode in encoders.items():
            vectors, seconds, cpu = _timed(encode, texts)
            if reference is None:
                reference = vectors
            cos = (vectors * reference).sum(axis=1)
            variants.append(Variant(name, len(texts), seconds, cpu, float(cos.min()), float(cos.mean())))
            print(
                f"{name}: {len(texts) / cpu:.1f} chunks per CPU second, min cosine {cos.min():.5f}",
                flush=True,
            )
    return variants, words


def markdown(variants: list[Variant], words: float, command: str) -> str:
    from kefu.encoder import cpu_has_bf16

    lines = [
        "# Encoder speed for ingest",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.machine()}, "
        f"{os.cpu_count()} cores shared with other work (load average {os.getloadavg()[0]:.1f}), one thread "
        f"per variant, native bfloat16: {'yes' if cpu_has_bf16() else 'no'}. Texts: {variants[0].texts} "
        f"ingest chunks (demo KB, then Bitext responses as help pages), {words:.0f} words on average, sorted "
        "by length into batches of 64. Cosine is against torch float32, per text.",
        "",
        "| variant | chunks/s (wall) | chunks per CPU second | min cosine | mean cosine | may be default |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for v in variants:
        ok = "yes" if v.min_cosine >= COSINE_GATE else "no"
        lines.append(
            f"| {v.name} | {v.per_second:.1f} | {v.per_cpu_second:.1f} | {v.min_cosine:.5f} | "
            f"{v.mean_cosine:.5f} | {ok} |"
        )
    lines += [
        "",
        f"A variant may be the default only with every vector within {COSINE_GATE} cosine of float32. Rerun:",
        "",
        "```bash",
        command,
        "```",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="Markdown file to write")
    parser.add_argument("--texts", type=int, default=1500, help="how many ingest chunks to embed")
    args = parser.parse_args(argv)
    variants, words = run(args.texts)
    text = markdown(
        variants, words, "python -m kefu.evals.retrieval.encoder_speed --out docs/benchmarks_encoder.md"
    )
    print(text)
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
