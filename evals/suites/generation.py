"""generation: the reply writer (the fine-tuned local model or an endpoint) once kefu has one.

Today every reply comes from a template in `agents/replies.py` that prints tool results, so there
is nothing to score yet and the suite says so. When `kefu.agents.generation` exists, this suite is
where its grounding rate (every fact-like span of a reply is in the plan) and fluency belong.
"""

from __future__ import annotations

import importlib.util

from kefu.evals.suite import EvalContext, Skip, Suite, SuiteReport

WRITER_MODULE = "kefu.agents.generation"


class GenerationSuite(Suite):
    name = "generation"
    description = "Reply writing: grounding and fluency of the model that writes replies."

    def run(self, ctx: EvalContext) -> SuiteReport:
        if importlib.util.find_spec(WRITER_MODULE) is None:
            raise Skip(
                f"no reply writer to evaluate yet ({WRITER_MODULE} does not exist): replies come from the "
                "templates in agents/replies.py, which print tool results; this suite will score the "
                "fine-tuned writer's grounding and fluency once agents/ ships it"
            )
        raise Skip(
            f"{WRITER_MODULE} exists, but this suite has not been taught to call it yet: "
            "extend kefu/evals/suites/generation.py"
        )
