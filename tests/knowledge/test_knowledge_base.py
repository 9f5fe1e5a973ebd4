"""KnowledgeBase end to end on small fixtures: ingest, update, delete, search, threshold, citations, reopening,
live updates from another instance or process, bad files."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

import kefu.tools.knowledge as knowledge
from kefu.tools.knowledge import HashingEncoder, KnowledgeBase, SearchSettings


@pytest.fixture
def kb(tmp_path, minilm):
    with KnowledgeBase(tmp_path / "index", encoder=minilm) as kb:
        yield kb


def test_public_api_is_pinned():
    assert sorted(knowledge.__all__) == sorted(
        [
            "DEFAULT_LOCATION",
            "DEMO_KB_DIR",
            "DEMO_KB_FILES",
            "DIMENSION",
            "MAX_CHUNK_WORDS",
            "SEARCH_MODES",
            "SUPPORTED_SUFFIXES",
            "Encoder",
            "FileProblem",
            "HashingEncoder",
            "IngestReport",
            "KnowledgeBase",
            "MiniLMEmbeddingFunction",
            "MiniLMEncoder",
            "Passage",
            "Scores",
            "SearchMode",
            "SearchResult",
            "SearchSettings",
            "SourceEntry",
            "fuse",
            "model_path",
            "shared_encoder",
        ]
    )


def test_ingest_and_search_with_citations(kb, kb_dir):
    report = kb.ingest(kb_dir)
    assert report.ok, report.errors
    assert sorted(report.added) == ["shop/faq.json", "shop/help.html", "shop/payments.csv", "shop/policy.md"]
    assert report.passages == len(kb) == 9

    (hit, *_) = kb.search("how long does express shipping take?", k=3)
    assert hit.source == "shop/policy.md"
    assert hit.heading_path == ("Store policy", "Shipping", "Express delivery")
    assert hit.citation == "shop/policy.md › Store policy › Shipping › Express delivery"
    assert "one business day" in hit.snippet and 0 < hit.score <= 1

    (hit, *_) = kb.search("what's the remaining credit on my giftcard", k=3)
    assert hit.passage.id == "shop/faq.json#gift-card-balance"
    assert hit.passage.question == "How do I check my gift card balance?"
    assert hit.text.startswith("Ask us with your card number")
    assert hit.passage.metadata["category"] == "gift cards"

    (hit, *_) = kb.search("I forgot my password", k=1)
    assert hit.heading_path == ("Account help", "Password reset")


def test_modes_and_scores(kb, kb_dir):
    kb.ingest(kb_dir)
    for mode in ("dense", "bm25", "fused"):
        (hit, *_) = kb.search("does my toaster have a warranty", k=2, mode=mode)
        assert hit.passage.id == "shop/faq.json#warranty", mode
    fused = kb.search("does my toaster have a warranty", k=1)[0]
    assert fused.dense_score is not None and fused.bm25_score is not None and fused.bm25_score > 0
    assert kb.search("does my toaster have a warranty", k=1, mode="dense")[0].bm25_score is None
    with pytest.raises(ValueError, match="unknown search mode"):
        kb.search("x", mode="sparse")  # type: ignore[arg-type]


def test_not_found_below_threshold(kb, kb_dir):
    kb.ingest(kb_dir)
    assert kb.search("what is the capital of australia") == []
    assert kb.search("tell me a joke about penguins", mode="dense") == []
    assert kb.search("   ") == []
    assert kb.search("what is the capital of australia", threshold=0.0)  # the near misses, on request


def test_results_below_the_confident_score_are_marked_unsure(kb, kb_dir, tmp_path, minilm):
    """Between the not-found threshold and the confident score a passage is only the closest one found."""
    kb.ingest(kb_dir)
    (hit,) = kb.search("does my toaster have a warranty", k=1)
    assert hit.confident
    strict = SearchSettings(confident_score={"fused": 0.99, "dense": 0.99, "bm25": 0.99})
    with KnowledgeBase(tmp_path / "strict", settings=strict, encoder=minilm) as other:
        other.ingest(kb_dir)
        (hit,) = other.search("does my toaster have a warranty", k=1)
        assert hit.passage.id == "shop/faq.json#warranty" and not hit.confident


def test_filters(kb, kb_dir):
    kb.ingest(kb_dir)
    hits = kb.search("cancel", k=5, filters={"category": "warranty"}, threshold=0.0)
    assert hits and all(h.passage.metadata["category"] == "warranty" for h in hits)
    hits = kb.search("how do I return an order", k=5, filters={"kind": "faq"}, threshold=0.0)
    assert hits and all(h.passage.kind == "faq" for h in hits)
    hits = kb.search(
        "paypal", k=5, filters={"source": ["shop/payments.csv", "shop/help.html"]}, threshold=0.0
    )
    assert {h.source for h in hits} <= {"shop/payments.csv", "shop/help.html"}
    hits = kb.search("warranty", k=5, filters={"priority": {"$gte": 2}}, threshold=0.0)
    assert [h.passage.id for h in hits] == ["shop/faq.json#warranty"]
    with pytest.raises(ValueError):
        kb.search("x", filters={"category": {"$regex": "w.*"}})


def test_reingest_is_idempotent_and_updates_only_what_changed(kb, kb_dir):
    first = kb.ingest(kb_dir)
    again = kb.ingest(kb_dir)
    assert again.embedded == 0 and sorted(again.unchanged) == sorted(first.added) and not again.changed

    policy = kb_dir / "policy.md"
    policy.write_text(policy.read_text().replace("within 30 days", "within 60 days"), encoding="utf-8")
    update = kb.ingest(kb_dir)
    assert update.updated == ["shop/policy.md"]
    assert update.embedded == 1  # only the changed section is embedded again
    (hit, *_) = kb.search("how many days do I have to return something", k=1)
    assert "60 days" in hit.text
    assert not any("30 days" in p.text for p in kb.passages())


def test_delete_and_removed_files(kb, kb_dir):
    kb.ingest(kb_dir)
    assert kb.delete("shop/help.html") == 1
    assert "shop/help.html" not in kb.sources()
    assert all(h.source != "shop/help.html" for h in kb.search("reset my password", threshold=0.0))

    (kb_dir / "payments.csv").unlink()
    report = kb.ingest(kb_dir)
    assert report.removed == ["shop/payments.csv"]
    assert report.added == ["shop/help.html"]  # deleted from the index, but its file is still in the folder
    assert sorted(kb.sources()) == ["shop/faq.json", "shop/help.html", "shop/policy.md"]
    assert kb.delete("not-there.md") == 0


def test_bad_files_are_reported_and_skipped(kb, kb_dir):
    (kb_dir / "scan.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    (kb_dir / "empty.txt").write_text("  \n")
    (kb_dir / "manual.pdf").write_bytes(b"%PDF-1.4")
    (kb_dir / "latin1.md").write_bytes("Caf\xe9 menu".encode("latin-1"))
    (kb_dir / "broken.json").write_text("{oops")
    (kb_dir / "dead.md").symlink_to(kb_dir / "no-such-target.md")  # unreadable
    report = kb.ingest(kb_dir)
    reasons = {p.path: p.reason for p in report.errors}
    assert set(reasons) == {
        "shop/scan.md",
        "shop/empty.txt",
        "shop/manual.pdf",
        "shop/latin1.md",
        "shop/broken.json",
        "shop/dead.md",
    }
    assert reasons["shop/dead.md"].startswith("unreadable")
    assert "binary" in reasons["shop/scan.md"] and "empty" in reasons["shop/empty.txt"]
    assert "unsupported" in reasons["shop/manual.pdf"] and "UTF-8" in reasons["shop/latin1.md"]
    assert len(report.added) == 4 and not report.ok

    # A file that breaks after it was indexed keeps its last good version.
    (kb_dir / "policy.md").write_text("")
    report = kb.ingest(kb_dir)
    assert "shop/policy.md" in {p.path for p in report.errors}
    assert "shop/policy.md" in kb.sources() and report.removed == []


def test_missing_path_is_an_error(kb, tmp_path):
    report = kb.ingest([tmp_path / "nope.md"])
    assert [p.reason for p in report.errors] == ["no such file or folder"]


def test_reopen_persisted_index(tmp_path, kb_dir, minilm):
    with KnowledgeBase(tmp_path / "index", encoder=minilm) as kb:
        kb.ingest(kb_dir)
        expected = [h.passage.id for h in kb.search("refund to the original payment method", k=3)]
    with KnowledgeBase(tmp_path / "index", encoder=minilm) as reopened:
        assert [
            h.passage.id for h in reopened.search("refund to the original payment method", k=3)
        ] == expected
        assert reopened.ingest(kb_dir).embedded == 0


def test_second_instance_sees_changes_without_restart(tmp_path, kb_dir, minilm):
    with (
        KnowledgeBase(tmp_path / "index", encoder=minilm) as reader,
        KnowledgeBase(tmp_path / "index", encoder=minilm) as writer,
    ):
        assert reader.search("gift card balance") == []  # empty index, snapshot taken
        writer.ingest(kb_dir / "faq.json")
        assert reader.search("gift card balance")[0].passage.id == "faq.json#gift-card-balance"
        writer.delete("faq.json")
        assert reader.search("gift card balance") == []


def test_other_process_changes_are_seen(tmp_path, kb_dir):
    index = tmp_path / "index"
    settings = SearchSettings(min_score={"dense": 0.0, "bm25": 0.0, "fused": 0.0})
    with KnowledgeBase(index, encoder=HashingEncoder(), settings=settings) as reader:
        reader.ingest(kb_dir / "policy.md")
        assert all(h.source == "policy.md" for h in reader.search("toaster warranty manufacturer"))
        script = textwrap.dedent(
            f"""
            from kefu.tools.knowledge import HashingEncoder, KnowledgeBase
            with KnowledgeBase({str(index)!r}, encoder=HashingEncoder()) as kb:
                assert kb.ingest([{str(kb_dir / "faq.json")!r}]).ok
                assert kb.delete("policy.md") > 0
            """
        )
        subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
        for mode in ("fused", "dense", "bm25"):
            hits = reader.search("toaster warranty manufacturer", k=3, mode=mode)
            assert hits and hits[0].passage.id == "faq.json#warranty", mode
            assert all(h.source == "faq.json" for h in hits), mode
        assert sorted(reader.sources()) == ["faq.json"]


def test_interrupted_ingest_stays_consistent_and_rerun_finishes(tmp_path, kb_dir, monkeypatch):
    from kefu.tools.knowledge import store as store_module

    kb = KnowledgeBase(tmp_path / "index", encoder=HashingEncoder())
    kb.ingest(kb_dir / "policy.md")
    before = {p.id: p.text for p in kb.passages()}
    policy = kb_dir / "policy.md"
    policy.write_text(policy.read_text().replace("one business day", "two business days"), encoding="utf-8")

    real_commit = store_module.ChromaStore.commit
    calls = {"n": 0}

    def crash_on_second_commit(self, entry, source):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("power cut")
        return real_commit(self, entry, source)

    monkeypatch.setattr(store_module.ChromaStore, "commit", crash_on_second_commit)
    with pytest.raises(KeyboardInterrupt):
        kb.ingest([kb_dir / "faq.json", policy])  # faq.json commits, policy.md does not
    monkeypatch.undo()

    # Consistent: faq.json fully in, policy.md still in its old version, the new records invisible.
    assert sorted(kb.sources()) == ["faq.json", "policy.md"]
    now = {p.id: p.text for p in kb.passages() if p.source == "policy.md"}
    assert now == before
    assert all("two business days" not in h.text for h in kb.search("express delivery", threshold=0.0))

    rerun = kb.ingest([kb_dir / "faq.json", policy])
    assert rerun.unchanged == ["faq.json"] and rerun.updated == ["policy.md"]
    assert rerun.embedded == 0  # the interrupted run had already stored the new records
    assert any("two business days" in p.text for p in kb.passages())
    assert sum(len(e.record_ids) for e in kb.sources().values()) == kb._store.count()  # no leftovers
    kb.close()


def test_demo_knowledge_base(tmp_path, minilm):
    # The shipped KB goes in once (mechanics checked with the fast hashing encoder)...
    with KnowledgeBase.demo(tmp_path / "demo", encoder=HashingEncoder()) as kb:
        assert set(kb.sources()) == {"wiki.md", "faq.json"}
        assert len(kb) > 50
    with KnowledgeBase.demo(tmp_path / "demo", encoder=HashingEncoder()) as again:  # reopening: nothing to do
        assert again.ingest(knowledge.DEMO_KB_FILES).unchanged == ["wiki.md", "faq.json"]
    # ...and its policy answers policy questions with the real encoder (the FAQ is scored by the evaluation).
    with KnowledgeBase(tmp_path / "policy", encoder=minilm) as kb:
        kb.ingest(knowledge.DEMO_KB_DIR / "wiki.md")
        (hit, *_) = kb.search("which reasons are accepted for cancelling a pending order", k=3)
        assert hit.passage.section_id == "wiki.md#Retail agent policy > Cancel pending order"
        assert hit.citation == "wiki.md › Retail agent policy › Cancel pending order"
        (hit, *_) = kb.search("can I exchange a delivered item for another size", k=3)
        assert hit.passage.section_id == "wiki.md#Retail agent policy > Exchange delivered order"
        assert kb.search("who won the football game last night") == []


def test_faq_json_is_valid_and_large_enough():
    data = json.loads((knowledge.DEMO_KB_DIR / "faq.json").read_text(encoding="utf-8"))
    entries = data["entries"]
    assert len(entries) >= 40
    assert len({e["id"] for e in entries}) == len(entries)
    categories = {e["category"] for e in entries}
    assert {
        "shipping",
        "returns",
        "refunds",
        "payment",
        "warranty",
        "account",
        "exchanges",
        "order changes",
        "gift cards",
    } <= categories
    assert "Copyright (c) 2024 Sierra" in (knowledge.DEMO_KB_DIR / "LICENSE").read_text(encoding="utf-8")
