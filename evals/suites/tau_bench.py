"""tau_bench: τ-bench retail tasks with an LLM-simulated customer, scored like τ-bench (see kefu.evals.tau_bench).

It needs the task files (../shared/datasets/tau_bench_retail) and an OpenAI-compatible endpoint for
the simulated customer; without either it says it is skipped and why. The assistant under test is
the config's `assistant` (the embedded brain by default), or `agent` below.

Options (`options: {tau_bench: {...}}`)::

    user:  {base_url: http://localhost:8000/v1, model: qwen2.5-7b-instruct, api_key_env: OPENAI_API_KEY,
            temperature: 1.0}
    agent: {base_url: ..., model: ..., temperature: 0.0}   # optional: an endpoint brain for kefu
    split: test            # test (115 tasks), dev (20) or train (500)
    tasks: "0-19"          # indices, a list, or "all" (default)
    max_turns: 30
    concurrency: 4         # tasks at once (endpoints serve several conversations in parallel)
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kefu.evals.suite import Case, EvalContext, Figure, Skip, Suite, SuiteReport, Table

TASKS_DIR = "tau_bench_retail"


def endpoint_model(settings: dict[str, Any], *, default_temperature: float) -> Any:
    """A LangChain chat model for an OpenAI-compatible endpoint ({base_url, model, api_key_env, temperature})."""
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as e:
        raise Skip("the simulated customer needs langchain-openai: pip install 'kefu[openai]'") from e
    return ChatOpenAI(
        model=settings["model"],
        base_url=settings["base_url"],
        temperature=float(settings.get("temperature", default_temperature)),
        api_key=os.environ.get(settings.get("api_key_env", "OPENAI_API_KEY"), "not-needed"),  # type: ignore[arg-type]
        timeout=float(settings.get("timeout_s", 120)),
    )


class TauBenchSuite(Suite):
    name = "tau_bench"
    description = "τ-bench retail tasks, LLM-simulated customer, reward = final database + required outputs."

    def run(self, ctx: EvalContext) -> SuiteReport:
        from kefu.evals.pass_k import pass_hat_curve
        from kefu.evals.tau_bench import load_tau_tasks, outcomes, run_tau_tasks

        opts = ctx.options(self.name)
        user = opts.get("user") or {}
        if not (user.get("base_url") and user.get("model")):
            raise Skip(
                "no endpoint for the simulated customer: set options.tau_bench.user.base_url and .model in "
                "the evals config (any OpenAI-compatible server, e.g. vLLM or Ollama)"
            )
        split = opts.get("split", "test")
        tasks = load_tau_tasks(ctx.dataset(TASKS_DIR), split, opts.get("tasks"))
        if not tasks:
            raise Skip(f"no τ-bench {split} task matches tasks={opts.get('tasks')!r}")
        customer_model = endpoint_model(user, default_temperature=1.0)
        make_assistant = self._assistant_factory(ctx, opts.get("agent"))
        report = self.report()
        with ctx.progress(f"τ-bench {split}", len(tasks) * ctx.repeat) as bar:
            results = run_tau_tasks(
                tasks,
                make_assistant,
                lambda task, trial: customer_model,
                repeat=ctx.repeat,
                template=ctx.shop_template(),
                max_turns=int(opts.get("max_turns", 30)),
                concurrency=int(opts.get("concurrency", 1)),
                on_result=lambda _: bar.advance(),
            )
        curve = pass_hat_curve(outcomes(results))
        report.metric(
            "reward", statistics.fmean(r.reward for r in results), headline=True, description="pass^1"
        )
        for k, value in curve.items():
            if k > 1:
                report.metric(f"pass^{k}", value)
        report.metric("state_match", statistics.fmean(r.state_ok for r in results))
        report.metric(
            "violations", sum(len(r.violations) for r in results), better="lower", unit="count", headline=True
        )
        report.metric("errors", sum(r.error is not None for r in results), better="lower", unit="count")
        report.metric("turns_mean", statistics.fmean(len(r.transcript) for r in results), better=None)
        stops: dict[str, int] = {}
        for r in results:
            stops[r.stop_reason] = stops.get(r.stop_reason, 0) + 1
        report.tables.append(
            Table("How conversations ended", ["reason", "runs"], [[k, v] for k, v in stops.items()])
        )
        if len(curve) > 1:
            report.figures.append(
                Figure(
                    "lines",
                    "pass^k",
                    {
                        "x": list(curve),
                        "series": {"pass^k": list(curve.values())},
                        "x_label": "k",
                        "y_max": 1.0,
                    },
                )
            )
        for r in results:
            data = r.as_dict()
            transcript = data.pop("transcript")
            why = []
            if not r.state_ok:
                why.append("final database differs from the gold actions' result")
            if r.missing_outputs:
                why.append(f"never said {r.missing_outputs}")
            if r.error:
                why.append(r.error)
            case_id = r.task.id if ctx.repeat == 1 else f"{r.task.id} (run {r.trial + 1})"
            report.cases.append(Case(case_id, r.passed, "; ".join(why + r.violations), transcript, data))
        report.notes.append(
            f"{len(tasks)} τ-bench retail {split} tasks × {ctx.repeat} run(s); simulated customer: "
            f"{user['model']} at {user['base_url']}; agent: {self._agent_label(ctx, opts.get('agent'))}."
        )
        return report

    @staticmethod
    def _assistant_factory(ctx: EvalContext, agent: dict[str, Any] | None) -> Callable[[str, Path], Any]:
        if not agent:
            return ctx.make_assistant

        def make(shop_url: str, data_dir: Path) -> Any:
            from kefu.assistant import Assistant
            from kefu.config import Config

            brain = {"kind": "openai", "temperature": 0.0, **agent}
            settings = {**ctx.config.assistant, "brain": brain}
            settings.update(data_dir=data_dir, shop={"database_url": shop_url}, sessions={"url": "memory://"})
            return Assistant(Config(**settings))

        return make

    @staticmethod
    def _agent_label(ctx: EvalContext, agent: dict[str, Any] | None) -> str:
        brain = agent or ctx.config.assistant.get("brain") or {}
        if not brain or brain.get("kind", "openai" if agent else "embedded") == "embedded":
            return "kefu's embedded brain"
        return f"{brain.get('model')} at {brain.get('base_url')}"
