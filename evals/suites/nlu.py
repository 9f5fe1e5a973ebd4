"""nlu: the embedded brain's intent classifier, on the shop's held-out utterances and public data.

- shop: trained on `shop_intents.yaml`, scored on `shop_intents_heldout.yaml` (written separately,
  never trained on): accuracy, macro-F1, per-intent precision/recall, the confusion matrix.
- BANKING77 (77 banking intents, official train/test) and CLINC150 (the banking and credit-card
  domains plus out-of-scope queries, official train/test), when ../shared/datasets is there: the same
  classifier trained from scratch on each, to compare with published numbers.

Options (`options: {nlu: {...}}`): `public` (list, default [banking77, clinc150]; [] for the shop
only), `clinc_domains` (default [banking, credit_cards]; "all" for the 150 intents).
"""

from __future__ import annotations

import csv
import json
import statistics
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from kefu.evals.suite import EvalContext, Figure, Skip, Suite, SuiteReport, Table


def _score(
    examples: Mapping[str, Sequence[str]], test: Sequence[tuple[str, str]], ctx: EvalContext, label: str
) -> tuple[list[str], list[str], float, list[float]]:
    """Fit on `examples`, predict `test`: (gold, predicted, fit seconds, predict ms per message)."""
    from kefu.agents.nlu.intents import IntentClassifier

    started = time.perf_counter()
    model = IntentClassifier().fit(examples)
    fit_s = time.perf_counter() - started
    gold, predicted, times = [], [], []
    with ctx.progress(f"nlu: {label}", len(test)) as bar:
        for text, intent in test:
            t0 = time.perf_counter()
            predicted.append(model.predict(text).intent)
            times.append((time.perf_counter() - t0) * 1000)
            gold.append(intent)
            bar.advance()
    return gold, predicted, fit_s, times


class NluSuite(Suite):
    name = "nlu"
    description = "Intent classification: the shop's held-out utterances, BANKING77 and CLINC150."

    def run(self, ctx: EvalContext) -> SuiteReport:
        from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

        from kefu.agents.nlu.intents import load_examples

        report = self.report()
        opts = ctx.options(self.name)
        train, heldout = load_examples(), load_examples("shop_intents_heldout.yaml")
        test = [(u, intent) for intent, us in heldout.items() for u in us]
        gold, predicted, fit_s, times = _score(train, test, ctx, "shop held-out")
        labels = sorted(set(train) | set(heldout))
        accuracy = sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)
        report.metric("accuracy", accuracy, headline=True, description="shop intents, held-out utterances")
        report.metric("macro_f1", f1_score(gold, predicted, labels=labels, average="macro", zero_division=0))
        report.metric("fit_ms", fit_s * 1000, better="lower", unit="ms")
        report.metric("predict_p50_ms", statistics.median(times), better="lower", unit="ms")
        p, r, f, support = precision_recall_fscore_support(gold, predicted, labels=labels, zero_division=0)
        report.tables.append(
            Table(
                "Shop intents, held-out: per intent",
                ["intent", "precision", "recall", "F1", "utterances"],
                [
                    [lab, round(float(a), 3), round(float(b), 3), round(float(c), 3), int(n)]
                    for lab, a, b, c, n in zip(labels, p, r, f, support, strict=True)
                ],
            )
        )
        matrix = confusion_matrix(gold, predicted, labels=labels)
        report.figures.append(
            Figure(
                "heatmap",
                "Shop intents: confusion matrix (held-out)",
                {"labels": labels, "matrix": matrix.tolist()},
            )
        )
        wrong = [[t, g, p_] for (t, _), g, p_ in zip(test, gold, predicted, strict=True) if g != p_]
        report.tables.append(
            Table("Misclassified held-out utterances", ["utterance", "true", "predicted"], wrong)
        )
        report.notes.append(
            f"Shop: {sum(map(len, train.values()))} training utterances, {len(labels)} intents; "
            f"{len(test)} held-out utterances (never trained on)."
        )

        public = opts.get("public", ["banking77", "clinc150"])
        for name in public:
            try:
                if name == "banking77":
                    self._banking77(ctx, report)
                elif name == "clinc150":
                    self._clinc150(ctx, report, opts.get("clinc_domains", ["banking", "credit_cards"]))
                else:
                    report.notes.append(f"{name}: unknown public data set (known: banking77, clinc150)")
            except Skip as e:
                report.notes.append(f"{name}: skipped — {e}")
        return report

    def _banking77(self, ctx: EvalContext, report: SuiteReport) -> None:
        from sklearn.metrics import f1_score

        root = ctx.dataset("banking77")
        train = _read_csv(root / "train.csv")
        test = [(r[0], r[1]) for r in _rows(root / "test.csv")]
        gold, predicted, fit_s, _ = _score(train, test, ctx, "BANKING77")
        accuracy = sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)
        report.metric("banking77_accuracy", accuracy, description="BANKING77 official test split")
        report.metric("banking77_macro_f1", f1_score(gold, predicted, average="macro", zero_division=0))
        report.notes.append(
            f"BANKING77: trained on {sum(map(len, train.values()))} utterances (77 intents) in {fit_s:.1f} s, "
            f"tested on {len(test)}; accuracy {accuracy:.1%}."
        )

    def _clinc150(self, ctx: EvalContext, report: SuiteReport, domains: Sequence[str] | str) -> None:
        root = ctx.dataset("clinc150")
        data = json.loads((root / "data_full.json").read_text(encoding="utf-8"))
        if domains == "all":
            keep = None
        else:
            by_domain = json.loads((root / "domains.json").read_text(encoding="utf-8"))
            keep = {i for d in domains for i in by_domain[d]}
        examples: dict[str, list[str]] = {}
        for text, intent in data["train"] + data["oos_train"]:
            if keep is None or intent in keep or intent == "oos":
                examples.setdefault(intent, []).append(text)
        test = [(t, i) for t, i in data["test"] + data["oos_test"] if keep is None or i in keep or i == "oos"]
        gold, predicted, fit_s, _ = _score(examples, test, ctx, "CLINC150")
        in_scope = [g == p for g, p in zip(gold, predicted, strict=True) if g != "oos"]
        oos = [p == "oos" for g, p in zip(gold, predicted, strict=True) if g == "oos"]
        report.metric("clinc150_in_scope_accuracy", sum(in_scope) / len(in_scope))
        report.metric(
            "clinc150_oos_recall",
            sum(oos) / len(oos),
            description="out-of-scope queries recognised as such",
        )
        which = "all domains" if keep is None else ", ".join(domains)
        report.notes.append(
            f"CLINC150 ({which}; {len(examples) - 1} intents + oos): trained on "
            f"{sum(map(len, examples.values()))} queries in {fit_s:.1f} s; in-scope accuracy "
            f"{sum(in_scope) / len(in_scope):.1%} on {len(in_scope)}, out-of-scope recall {sum(oos) / len(oos):.1%} "
            f"on {len(oos)}."
        )


def _rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        return [row for row in reader if len(row) >= 2]


def _read_csv(path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for text, intent, *_ in _rows(path):
        out.setdefault(intent, []).append(text)
    return out
