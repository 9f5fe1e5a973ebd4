"""What every kefu validator shares: reading the `CheckContext` and turning a verdict into a guardrails result.

kefu's validators are ordinary guardrails-ai `Validator`s registered with `register_validator` under the
`kefu/` namespace, so they compose in a `Guard` like any hub validator. Unlike hub validators they need
no network, no token and no hub install: their models ship in `safety/models/`.
"""

from __future__ import annotations

from typing import Any

from guardrails.validators import FailResult, PassResult, ValidationResult

from kefu.safety.context import CheckContext
from kefu.safety.verdicts import Verdict

CONTEXT_KEY = "kefu"


def context(metadata: dict[str, Any]) -> CheckContext:
    ctx = metadata.get(CONTEXT_KEY)
    if not isinstance(ctx, CheckContext):
        raise ValueError(
            "kefu validators read a CheckContext from metadata['kefu']: run them through kefu.safety.SafetyLayer"
        )
    return ctx


def result(verdict: Verdict, fix_value: Any = None) -> ValidationResult:
    """PassResult for a clean verdict, FailResult (with the fix, when there is one) for a tripped one."""
    if not verdict.tripped:
        return PassResult()
    kwargs: dict[str, Any] = {"error_message": f"{verdict.check}: {verdict.detail}".strip(": ")}
    if fix_value is not None:
        kwargs["fix_value"] = fix_value
    return FailResult(**kwargs, metadata={"score": verdict.score, "action": verdict.action})
