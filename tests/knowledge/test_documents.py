"""Reading files into passages (no model, no index)."""

from __future__ import annotations

import json

import pytest

from kefu.tools.knowledge.documents import MAX_CHUNK_WORDS, DocumentError, parse_bytes, read_file
from kefu.tools.knowledge.ingest import build_records, passage_id


def test_markdown_keeps_heading_paths(kb_dir):
    parsed = read_file(kb_dir / "policy.md")
    paths = [p.heading_path for p in parsed.passages]
    assert paths == [
        ("Store policy",),
        ("Store policy", "Returns"),
        ("Store policy", "Shipping", "Express delivery"),
        ("Store policy", "Shipping", "Standard delivery"),
    ]
    returns = parsed.passages[1]
    assert returns.anchor == "Store policy > Returns"
    assert "30 days" in returns.text and "original payment method" in returns.text


def test_setext_headings_front_matter_and_code_fences():
    text = "---\ntitle: x\n---\nGuide\n=====\n\nIntro.\n\nPart\n----\n\n```\n# not a heading\n```\n"
    passages = parse_bytes(text.encode(), ".md").passages
    assert [p.heading_path for p in passages] == [("Guide",), ("Guide", "Part")]
    assert "# not a heading" in passages[1].text


def test_long_sections_are_split_into_numbered_chunks():
    body = " ".join(f"Sentence number {i} says something about returns." for i in range(60))
    passages = parse_bytes(f"# Big\n\n{body}\n".encode(), ".md").passages
    assert len(passages) > 1
    assert all(len(p.text.split()) <= MAX_CHUNK_WORDS for p in passages)
    assert [p.chunk for p in passages] == list(range(len(passages)))
    assert passage_id("big.md", passages[0]) == "big.md#Big"
    assert passage_id("big.md", passages[1]) == "big.md#Big@1"


def test_html_headings_and_text_without_scripts(kb_dir):
    (passage,) = read_file(kb_dir / "help.html").passages
    assert passage.heading_path == ("Account help", "Password reset")
    assert "forgot password" in passage.text
    assert "console.log" not in passage.text and "color: red" not in passage.text


def test_plain_text_paragraphs():
    passages = parse_bytes(b"First paragraph.\n\nSecond paragraph.\n", ".txt").passages
    assert len(passages) == 1 and passages[0].heading_path == ()
    assert "Second paragraph." in passages[0].text


def test_json_faq_entries(kb_dir):
    passages = read_file(kb_dir / "faq.json").passages
    assert [p.anchor for p in passages] == ["gift-card-balance", "cancel-order", "warranty"]
    gift = passages[0]
    assert gift.kind == "faq" and gift.heading_path == ("gift cards",)
    assert gift.question == "How do I check my gift card balance?"
    assert gift.sample_questions == ("How much money is left on my gift card?", "gift card credit remaining")
    assert passages[2].metadata == {"category": "warranty", "priority": 2}


def test_csv_faq_with_sample_questions(kb_dir):
    (entry,) = read_file(kb_dir / "payments.csv").passages
    assert entry.anchor == "can-i-pay-with-paypal"
    assert entry.sample_questions == ("Do you take paypal", "Which payment methods work")
    assert entry.metadata == {"category": "payment"}


def test_faq_rows_without_answer_are_skipped_with_a_warning():
    data = json.dumps(
        [{"question": "a?", "answer": "b"}, {"question": "no answer"}, {"q": "a?", "a": "again"}]
    )
    parsed = parse_bytes(data.encode(), ".json")
    assert [p.anchor for p in parsed.passages] == ["a", "a-2"]
    assert any("missing answer" in w for w in parsed.warnings)
    assert any("duplicate id" in w for w in parsed.warnings)


@pytest.mark.parametrize(
    ("data", "suffix", "reason"),
    [
        (b"\x00\x01\x02binary", ".md", "binary"),
        (b"   \n\n", ".txt", "empty"),
        ("caf\u00e9".encode("latin-1"), ".md", "not UTF-8"),
        (b"hello", ".pdf", "unsupported"),
        (b"{not json", ".json", "invalid JSON"),
        (b'{"a": 1}', ".json", "not an FAQ"),
        (b"name,price\nx,1\n", ".csv", "question and answer columns"),
        (b'[{"question": "only"}]', ".json", "no content"),
    ],
)
def test_unusable_files_raise_document_error(data, suffix, reason):
    with pytest.raises(DocumentError, match=reason):
        parse_bytes(data, suffix)


def test_records_index_answers_and_every_question(kb_dir):
    records = build_records("faq.json", read_file(kb_dir / "faq.json").passages)
    gift = [r for r in records if r.metadata["passage"] == "faq.json#gift-card-balance"]
    assert sorted(r.kind for r in gift) == ["answer", "question", "question", "question"]
    answer = next(r for r in gift if r.kind == "answer")
    assert answer.embed_text.startswith("How do I check my gift card balance?")
    assert answer.metadata["category"] == "gift cards" and answer.metadata["source"] == "faq.json"
    # ids depend only on source and content: the same input gives the same ids
    again = build_records("faq.json", read_file(kb_dir / "faq.json").passages)
    assert [r.id for r in records] == [r.id for r in again]
    assert {r.id for r in build_records("other.json", read_file(kb_dir / "faq.json").passages)}.isdisjoint(
        r.id for r in records
    )
