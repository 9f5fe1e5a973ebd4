"""kefu.evals.retrieval: how well the knowledge base finds the passage that answers a customer question.

Run `python -m kefu.evals.retrieval --out docs/benchmarks_knowledge.md`: recall@1/3/5, MRR and query latency for
dense, BM25 and fused search side by side, on labelled questions over the demo shop's knowledge base (with a
held-out part) and on the Bitext customer-support data used as an FAQ; fusion weights and the not-found
threshold are tuned on the dev parts only.
"""

from .datasets import Query, bitext_protocol, demo_questions
from .metrics import RankingMetrics, ranking_metrics
from .runner import Results, run

__all__ = [
    "Query",
    "RankingMetrics",
    "Results",
    "bitext_protocol",
    "demo_questions",
    "ranking_metrics",
    "run",
]
