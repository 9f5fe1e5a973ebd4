"""`SafetyConfig`: which checks run, what each does when it trips, and the words said to the customer.

It is a pydantic model so it can sit in kefu's config file as a `safety:` section, for example::

    safety:
      jailbreak: {action: escalate}
      abuse: {action: log}
      pii: {action: refuse}
      allowed_pii: ["help@example-shop.com"]
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from kefu.safety.verdicts import OnFail


class CheckConfig(BaseModel):
    """One check's switch, on-fail action and (optional) threshold override."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    action: OnFail = "refuse"
    """'log', 'fix' (redact or neutralise; checks that cannot fix refuse instead), 'refuse' or 'escalate'."""
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    """Score at which the check trips; None uses the threshold chosen at training time."""


def _check(action: OnFail, threshold: float | None = None) -> CheckConfig:
    return CheckConfig(action=action, threshold=threshold)


class SafetyConfig(BaseModel):
    """The safety layer's settings (every field has a working default)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True

    # input: the customer's message
    obfuscation: CheckConfig = Field(default_factory=lambda: _check("log"))
    jailbreak: CheckConfig = Field(default_factory=lambda: _check("refuse"))
    harmful: CheckConfig = Field(default_factory=lambda: _check("refuse"))
    self_harm: CheckConfig = Field(default_factory=lambda: _check("escalate"))
    abuse: CheckConfig = Field(default_factory=lambda: _check("log"))
    """Insults aimed at the agent: answered calmly (InputResult.deescalate), never refused by default."""
    threat: CheckConfig = Field(default_factory=lambda: _check("escalate"))
    scope: CheckConfig = Field(default_factory=lambda: _check("refuse"))
    """Requests to write articles, poems, code, guides and the like: not what a shop assistant does."""

    # tool outputs and documents
    injection: CheckConfig = Field(default_factory=lambda: _check("fix"))

    # the reply
    toxicity: CheckConfig = Field(default_factory=lambda: _check("refuse"))
    bias: CheckConfig = Field(default_factory=lambda: _check("refuse"))
    pii: CheckConfig = Field(default_factory=lambda: _check("fix"))
    leakage: CheckConfig = Field(default_factory=lambda: _check("refuse"))
    grounding: CheckConfig = Field(default_factory=lambda: _check("log"))

    refusal_message: str = (
        "I'm sorry, but I can't help with that. I'm happy to help with your orders, returns, exchanges, "
        "deliveries or anything else about the shop."
    )
    escalation_message: str = (
        "I'm handing this conversation to a member of our team, who will pick it up here shortly. "
        "Is there anything I can note for them in the meantime?"
    )
    self_harm_message: str = (
        "I'm really sorry you're feeling this way, and I'm glad you said something. You don't have to go "
        "through this alone: please reach out to someone you trust or a local crisis line (in the US you can "
        "call or text 988). I'm also asking a person from our team to join this conversation."
    )
    reply_fallback: str = (
        "I'm sorry, I couldn't put that answer together properly. Could you tell me a little more about what "
        "you need, or would you like me to connect you with a person?"
    )
    neutralise: str = Field(default="remove", pattern="^(remove|quote)$")
    """Flagged tool text: 'remove' replaces it with a marker, 'quote' keeps it fenced as untrusted data."""
    allowed_pii: list[str] = Field(default_factory=list)
    """Contact details that may always appear in replies (the shop's own email, phone, address)."""
    order_id_pattern: str = r"#?\bW\d{7}\b"
    """Regular expression of the shop's order ids (τ-bench style by default)."""
    leakage_min_words: int = Field(default=10, ge=4)
    """A run of this many words copied from a protected text counts as leakage."""
    models_dir: Path | None = None
    """Where the trained heads live; None uses those shipped in the package."""
