"""The `search_knowledge` tool: answers from the business's own documents, with their sources.

Below the knowledge base's score threshold it answers "not found", so the agent offers a person
instead of guessing. Passages are data for the reply, never instructions to the agent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain.tools import ToolRuntime, tool


class LazyKnowledge:
    """Opens the knowledge base (and loads the encoder) on first use, once; `demo` indexes the demo KB.

    `encoder` is the config's `knowledge.encoder` (None: the one the index records)."""

    def __init__(self, location: str | Path, *, demo: bool = False, encoder: str | None = None) -> None:
        self.location = location
        self.demo = demo
        self.encoder = encoder
        self._kb: Any = None
        self._lock = threading.Lock()

    def get(self) -> Any:
        with self._lock:
            if self._kb is None:
                from kefu.tools.knowledge import KnowledgeBase

                opener = KnowledgeBase.demo if self.demo else KnowledgeBase
                self._kb = opener(self.location, encoder=self.encoder or None)
            return self._kb

    def close(self) -> None:
        if self._kb is not None:
            self._kb.close()


def passage_fields(
    source_id: str, source: str, heading_path: Sequence[str], question: str | None, text: str
) -> dict[str, Any]:
    """A passage as `search_knowledge` hands it to the brain, before its score (the safety evaluation
    checks the demo knowledge base in exactly this form)."""
    return {
        "source_id": source_id,
        "source": source,
        "heading": " > ".join(heading_path),
        "question": question,
        "text": text[:1500],
    }


@tool
def search_knowledge(
    query: str, runtime: ToolRuntime[Any, Any], category: str | None = None, k: int = 3
) -> str:
    """Search the shop's policies and FAQ (shipping, returns, refunds, payment, warranty, account).
    Answer only from the passages found, and cite their source; if nothing is found, say you don't know
    and offer a person. When `confident` is false the passages are only the nearest ones: say you are not
    sure they answer the question, and offer a person.

    Args:
        query: The customer's question, in their words.
        category: Optional FAQ category to search within, such as 'returns' or 'shipping'.
        k: How many passages (1 to 5).
    """
    knowledge: LazyKnowledge | None = runtime.context.extras.get("knowledge")
    if knowledge is None:
        return json.dumps({"found": False, "passages": [], "note": "no knowledge base is configured"})
    k = max(1, min(int(k), 5))
    results = knowledge.get().search(query[:1000], k=k, filters={"category": category} if category else None)
    passages = [
        {
            **passage_fields(r.passage.id, r.source, r.heading_path, r.passage.question, r.text),
            "snippet": r.snippet,
            "score": round(float(r.score), 4),
            "confident": r.confident,
        }
        for r in results
    ]
    confident = bool(results) and results[0].confident
    return json.dumps({"found": bool(passages), "confident": confident, "passages": passages})


# A passage's id, file name, heading path and FAQ question are the document's own labels: short titles
# such as "Retail agent policy > Cancel pending order" or "faq.json#change-default-address" read as
# commands to the injection check's sentence classifier (0.62–0.74), which cut citations out of answers.
# The check's rules still read them, and the passage text is read in full (`SafetyMiddleware.label_keys_for`).
search_knowledge.metadata = {
    **(search_knowledge.metadata or {}),
    "kefu_label_keys": ("source_id", "source", "heading", "question"),
}
