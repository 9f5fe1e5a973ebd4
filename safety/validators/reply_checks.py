"""Checks on each reply before the customer sees it: toxicity, stereotypes about groups, personal data
that is not the customer's, leakage of the system prompt or policy text, and the writer's grounding result.

All five are cheap (no encoder): the hashed toxicity model, rules and string matching. PII and leakage
can fix the reply (redact the spans); their fixes are merged by guardrails when both apply.
"""

from __future__ import annotations

from typing import Any

from guardrails import Validator, register_validator
from guardrails.validators import ValidationResult

from kefu.safety import leakage, pii, rules
from kefu.safety.validators.base import context, result
from kefu.safety.verdicts import ANONYMOUS, CustomerFacts, GroundingResult


@register_validator(name="kefu/toxicity", data_type="string")
class ToxicityCheck(Validator):
    """Insults, slurs and profanity in the reply."""

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        ctx = context(metadata)
        model = ctx.models.toxicity
        score = float(ctx.toxicity().max())
        threshold = ctx.threshold("toxicity", model.threshold)
        verdict = ctx.verdict(
            "toxicity", score, score >= threshold, f"toxicity {score:.2f} (threshold {threshold:.2f})"
        )
        return result(verdict)


@register_validator(name="kefu/bias", data_type="string")
class BiasCheck(Validator):
    """Stereotypes or demeaning generalisations about groups of people."""

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        ctx = context(metadata)
        hit = rules.best_hit(rules.STEREOTYPE, ctx.readings[0])
        score = hit.score if hit else 0.0
        tripped = score >= ctx.threshold("bias", rules.TRIP)
        detail = f"rule {hit.rule}: {hit.text[:60]!r}" if hit else ""
        return result(ctx.verdict("bias", score, tripped, detail))


@register_validator(name="kefu/pii", data_type="string")
class PiiCheck(Validator):
    """Emails, phone numbers, addresses, payment details and order ids that are not the customer's."""

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        ctx = context(metadata)
        text = str(value)
        customer: CustomerFacts = ctx.extra.get("customer") or ANONYMOUS
        owner = pii.Ownership(customer, tuple(ctx.config.allowed_pii))
        spans = pii.find(text, order_id_pattern=ctx.config.order_id_pattern)
        foreign = [s for s in spans if not owner.owns(s)]
        kinds = sorted({s.kind for s in foreign})
        detail = f"{len(foreign)} not the customer's: {', '.join(kinds)}" if foreign else ""
        verdict = ctx.verdict("pii", 1.0 if foreign else 0.0, bool(foreign), detail, can_fix=True)
        return result(verdict, fix_value=pii.redact(text, foreign) if foreign else None)


@register_validator(name="kefu/leakage", data_type="string")
class LeakageCheck(Validator):
    """Long verbatim runs of the system prompt or policy text (the caller passes the protected texts)."""

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        ctx = context(metadata)
        text = str(value)
        protected: tuple[str, ...] = tuple(ctx.extra.get("protected_texts") or ())
        min_words = ctx.config.leakage_min_words
        leaks = leakage.find_leaks(text, protected, min_words=min_words)
        longest = max((leak.words for leak in leaks), default=0)
        score = min(1.0, longest / (2 * min_words)) + (0.5 if leaks else 0.0)
        detail = f"{len(leaks)} run(s) copied from protected text, longest {longest} words" if leaks else ""
        verdict = ctx.verdict("leakage", min(score, 1.0), bool(leaks), detail, can_fix=True)
        return result(verdict, fix_value=leakage.remove(text, leaks) if leaks else None)


@register_validator(name="kefu/grounding", data_type="string")
class GroundingCheck(Validator):
    """Records the reply writer's grounding result (facts not in the plan) as a verdict."""

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        ctx = context(metadata)
        grounding = ctx.extra.get("grounding")
        if callable(grounding) and not isinstance(grounding, GroundingResult):
            grounding = grounding(str(value))
        if not isinstance(grounding, GroundingResult):
            return result(ctx.verdict("grounding", 0.0, False, "no grounding result given"))
        detail = "; ".join(grounding.unsupported[:5])
        verdict = ctx.verdict("grounding", 1.0 - grounding.score, not grounding.grounded, detail)
        return result(verdict)


REPLY_VALIDATORS: dict[str, type[Validator]] = {
    "toxicity": ToxicityCheck,
    "bias": BiasCheck,
    "pii": PiiCheck,
    "leakage": LeakageCheck,
    "grounding": GroundingCheck,
}
