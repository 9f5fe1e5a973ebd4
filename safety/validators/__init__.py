"""kefu's guardrails-ai validators, registered under the `kefu/` namespace; they run offline."""

from kefu.safety.validators.input_checks import (
    INPUT_VALIDATORS,
    AbuseCheck,
    HarmfulRequestCheck,
    JailbreakCheck,
    ObfuscationCheck,
    ScopeCheck,
    SelfHarmCheck,
)
from kefu.safety.validators.reply_checks import (
    REPLY_VALIDATORS,
    BiasCheck,
    GroundingCheck,
    LeakageCheck,
    PiiCheck,
    ToxicityCheck,
)
from kefu.safety.validators.tool_checks import TOOL_VALIDATORS, InjectionCheck

__all__ = [
    "INPUT_VALIDATORS",
    "REPLY_VALIDATORS",
    "TOOL_VALIDATORS",
    "AbuseCheck",
    "BiasCheck",
    "GroundingCheck",
    "HarmfulRequestCheck",
    "InjectionCheck",
    "JailbreakCheck",
    "LeakageCheck",
    "ObfuscationCheck",
    "PiiCheck",
    "ScopeCheck",
    "SelfHarmCheck",
    "ToxicityCheck",
]
