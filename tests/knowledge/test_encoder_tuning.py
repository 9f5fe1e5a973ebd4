"""A knowledge base's encoder: tuned on its own FAQ (`kefu kb tune`), recorded by the index, never mixed.

An index remembers which encoder embedded it. Searching it with another one is refused (the scores would
mean nothing); ingesting with another one first embeds the stored records again; opening it without naming
an encoder uses the recorded one, so a tuned knowledge base is searched with its adapter everywhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from kefu.encoder import MODEL_ID, MiniLMEncoder, encoder_identity
from kefu.tools.knowledge import HashingEncoder, KnowledgeBase
from kefu.tools.knowledge.documents import parse_bytes
from kefu.tools.knowledge.ingest import build_records, reembed_all, text_to_embed
from kefu.tools.knowledge.search import EncoderMismatch
from kefu.tools.knowledge.tuning import MIN_ENTRIES, faq_groups, tune_encoder

from .conftest import FAQ, POLICY_MD


class ReversedHashing(HashingEncoder):
    """Another encoder: the same features in a different order, so its vectors differ from HashingEncoder's."""

    identity = "reversed-hashing"

    def encode(self, texts, *, batch_size=None):  # type: ignore[no-untyped-def]
        return super().encode(texts)[:, ::-1].copy()


class FailingAfter(ReversedHashing):
    """Fails on its second batch, like a process stopped midway through re-embedding."""

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, texts, *, batch_size=None):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("stopped")
        return super().encode(texts)


def _shop_faq() -> list[dict]:
    """Six FAQ entries, each with two phrasings: enough for in-batch negatives."""
    entries = list(FAQ["entries"])
    entries += [
        {
            "id": "track-parcel",
            "question": "Where is my parcel?",
            "answer": "Your tracking number is in the shipping email.",
            "questions": ["track my delivery"],
        },
        {
            "id": "change-address",
            "question": "Can I change my address?",
            "answer": "Pending orders can be sent to a new address.",
            "questions": ["ship to another address"],
        },
        {
            "id": "pay-paypal",
            "question": "Do you take PayPal?",
            "answer": "PayPal and credit cards are accepted.",
            "questions": ["payment methods"],
        },
    ]
    return entries


def test_the_index_records_its_encoder_and_refuses_another(tmp_path: Path) -> None:
    (tmp_path / "policy.md").write_text(POLICY_MD, encoding="utf-8")
    with KnowledgeBase(tmp_path / "index", encoder=HashingEncoder()) as kb:
        assert kb._store.encoder_id() is None  # empty: any encoder may fill it
        kb.ingest([tmp_path / "policy.md"])
        assert kb._store.encoder_id() == "HashingEncoder"
    with KnowledgeBase(tmp_path / "index", encoder=ReversedHashing()) as other:
        with pytest.raises(EncoderMismatch, match="embedded by HashingEncoder"):
            other.search("express delivery")
        assert other.search("express parcels arrive", mode="bm25", threshold=0.0), "BM25 needs no encoder"


def test_ingesting_with_another_encoder_embeds_the_stored_records_again(tmp_path: Path) -> None:
    (tmp_path / "policy.md").write_text(POLICY_MD, encoding="utf-8")
    with KnowledgeBase(tmp_path / "index", encoder=HashingEncoder()) as kb:
        first = kb.ingest([tmp_path / "policy.md"])
        before = kb.search("when do express parcels arrive?", k=1)[0]
    with KnowledgeBase(tmp_path / "index", encoder=ReversedHashing()) as tuned:
        report = tuned.ingest([tmp_path / "policy.md"])
        assert report.reembedded == first.embedded and report.embedded == 0
        assert report.unchanged == ["policy.md"]
        after = tuned.search("when do express parcels arrive?", k=1)[0]
    assert after.passage.id == before.passage.id
    with KnowledgeBase(tmp_path / "index", encoder=HashingEncoder()) as old, pytest.raises(EncoderMismatch):
        old.search("express delivery")


def test_a_stopped_reembedding_is_done_again(tmp_path: Path) -> None:
    (tmp_path / "policy.md").write_text(POLICY_MD, encoding="utf-8")
    with KnowledgeBase(tmp_path / "index", encoder=HashingEncoder()) as kb:
        kb.ingest([tmp_path / "policy.md"])
        store = kb._store
        with pytest.raises(RuntimeError, match="stopped"):
            reembed_all(store, FailingAfter(), batch=1)
        assert store.encoder_id() == "HashingEncoder", "the old encoder stays recorded until the last batch"
        assert reembed_all(store, ReversedHashing()) == store.count()
        assert store.encoder_id() == "reversed-hashing"


def test_indexes_from_before_encoders_were_recorded_read_as_plain_minilm(tmp_path: Path) -> None:
    (tmp_path / "policy.md").write_text(POLICY_MD, encoding="utf-8")
    with KnowledgeBase(tmp_path / "index", encoder=HashingEncoder()) as kb:
        kb.ingest([tmp_path / "policy.md"])
        kb._store._collections()[1].delete(ids=["__encoder__"])
        assert kb._store.encoder_id() == MODEL_ID


def test_stored_records_are_embedded_from_the_same_text_as_at_ingest() -> None:
    passages = parse_bytes(json.dumps(FAQ).encode(), ".json").passages
    passages += parse_bytes(POLICY_MD.encode(), ".md").passages
    for record in build_records("faq.json", passages):
        assert text_to_embed(record.document, record.metadata) == record.embed_text


def test_faq_groups_hold_each_entrys_phrasings_and_answer() -> None:
    passages = parse_bytes(json.dumps({"entries": _shop_faq()}).encode(), ".json").passages
    passages += parse_bytes(POLICY_MD.encode(), ".md").passages  # sections teach nothing here
    groups = faq_groups(passages)
    assert len(groups) == len(_shop_faq())
    cancel = next(g for g in groups if g[0] == "How do I cancel an order?")
    assert cancel[1] == "I want to cancel my purchase"
    assert cancel[2].startswith("How do I cancel an order? Pending orders can be cancelled")
    with pytest.raises(ValueError, match=f"at least {MIN_ENTRIES} FAQ entries"):
        tune_encoder(groups[:2], Path("unused"), steps=1)


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[float]]:
    """An adapter tuned for a few steps on the six-entry FAQ (CPU, a few seconds)."""
    groups = faq_groups(parse_bytes(json.dumps({"entries": _shop_faq()}).encode(), ".json").passages)
    losses: list[float] = []
    out = tmp_path_factory.mktemp("tuned") / "shop-encoder"
    tune_encoder(groups, out, steps=24, seed=3, progress=lambda step, loss: losses.append(loss))
    return out, losses


def test_tuning_saves_a_small_adapter_named_by_its_content(tuned: tuple[Path, list[float]]) -> None:
    out, losses = tuned
    assert len(losses) == 24
    assert np.mean(losses[-6:]) < np.mean(losses[:6]), "the contrastive loss goes down"
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == MODEL_ID, "no absolute path of the training machine"
    assert (out / "adapter_model.safetensors").stat().st_size < 3_000_000
    assert "kefu kb tune" in (out / "README.md").read_text()
    encoder = MiniLMEncoder(adapter=out)
    assert encoder.identity.startswith(f"{MODEL_ID}+shop-encoder@")


def test_a_tuned_encoder_changes_the_vectors_and_is_used_by_later_openers(
    tuned: tuple[Path, list[float]], tmp_path: Path, minilm: MiniLMEncoder
) -> None:
    from kefu.encoder import encoder_for

    out, _ = tuned
    encoder = encoder_for(out)
    assert encoder_for(out) is encoder, "one instance per adapter folder"
    texts = ["where is my parcel?", "can I pay with paypal"]
    plain, adapted = minilm.encode(texts), encoder.encode(texts)
    assert np.allclose(np.linalg.norm(adapted, axis=1), 1.0, atol=1e-4)
    assert not np.allclose(plain, adapted, atol=1e-3)

    (tmp_path / "faq.json").write_text(json.dumps({"entries": _shop_faq()}), encoding="utf-8")
    with KnowledgeBase(tmp_path / "index", encoder=encoder) as kb:
        kb.ingest([tmp_path / "faq.json"])
    with KnowledgeBase(tmp_path / "index") as reopened:
        assert encoder_identity(reopened.encoder) == encoder.identity
        top = reopened.search("where's my package", k=1)
        assert top and top[0].passage.anchor == "track-parcel"


def test_kb_tune_command_tunes_and_reembeds_the_index(tmp_path: Path, minilm: MiniLMEncoder) -> None:
    from kefu.cli import app

    faq = tmp_path / "faq.json"
    faq.write_text(json.dumps({"entries": _shop_faq()}), encoding="utf-8")
    runner = CliRunner()
    home = ["--data-dir", str(tmp_path / "home")]
    assert runner.invoke(app, ["kb", "ingest", str(faq), *home]).exit_code == 0
    result = runner.invoke(app, ["kb", "tune", "--steps", "4", *home])
    assert result.exit_code == 0, result.output
    assert "embedded again" in result.output
    assert (tmp_path / "home" / "knowledge-encoder" / "adapter_model.safetensors").is_file()
    with KnowledgeBase(tmp_path / "home" / "knowledge") as kb:
        assert "knowledge-encoder@" in encoder_identity(kb.encoder)
        assert kb._store.encoder_id() == encoder_identity(kb.encoder)


def test_an_opener_without_an_encoder_follows_a_reembedding_by_another_process(tmp_path: Path) -> None:
    """A running assistant opens its knowledge base without naming an encoder; when `kefu kb tune` embeds
    the index again elsewhere, its next search uses the new encoder instead of failing, and its next ingest
    does not embed the index back to the old one."""
    import subprocess
    import sys

    (tmp_path / "policy.md").write_text(POLICY_MD, encoding="utf-8")
    (tmp_path / "faq.json").write_text(json.dumps(FAQ), encoding="utf-8")
    adapter = tmp_path / "adapter"
    with KnowledgeBase(tmp_path / "index", encoder=HashingEncoder()) as kb:
        kb.ingest([tmp_path / "policy.md"])
    running = KnowledgeBase(tmp_path / "index")  # no encoder named: follows the index
    groups = faq_groups(parse_bytes(json.dumps({"entries": _shop_faq()}).encode(), ".json").passages)
    tune_encoder(groups, adapter, steps=2)
    script = (
        "from kefu.encoder import encoder_for\n"
        "from kefu.tools.knowledge import KnowledgeBase\n"
        f"with KnowledgeBase({str(tmp_path / 'index')!r}, encoder=encoder_for({str(adapter)!r})) as kb:\n"
        "    kb.reembed()\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=300)
    report = running.ingest([tmp_path / "faq.json"])
    assert report.reembedded == 0 and report.added == ["faq.json"]
    assert "adapter@" in encoder_identity(running.encoder)
    hits = running.search("when do express parcels arrive?", k=1)
    assert hits and hits[0].passage.anchor.endswith("Express delivery")
    running.close()
