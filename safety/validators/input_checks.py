"""Checks on each customer message: obfuscation, jailbreak and prompt injection, harmful requests,
self-harm, abuse toward the agent and threats.

Every check reads all readings of the message (the cleaned text plus decoded or de-leeted variants, see
`kefu.safety.obfuscation`) and keeps the worst. The jailbreak and harmful checks combine exact rules with
a small MLP head over MiniLM vectors; abuse combines directed-insult rules with the hashed
toxicity model, so profanity in a complaint ("this is bullshit, where is my order") is not abuse.
"""

from __future__ import annotations

import re
from typing import Any

from guardrails import Validator, register_validator
from guardrails.validators import ValidationResult

from kefu.safety import rules
from kefu.safety.validators.base import context, result

_CATEGORIES = (
    (
        "weapons",
        r"\b(?:bombs?|explosives?|guns?|firearms?|weapons?|ammo|ammunition|silencers?|grenades?|detonat\w*|napalm|pistols?|rifles?)\b",
    ),
    ("drugs", r"\b(?:meth\w*|cocaine|heroin|fentanyl|mdma|lsd|drugs?|narcotics?|opioids?|overdose|crack)\b"),
    (
        "self_harm",
        r"\b(?:suicide|kill\s+(?:myself|yourself|themselves)|self[- ]harm|hurt\s+myself|cutting)\b",
    ),
    (
        "fraud",
        r"\b(?:fraud\w*|scam\w*|phishing|stolen\s+(?:credit\s+)?cards?|launder\w*|counterfeit|fake\s+(?:receipts?|ids?|reviews?)|chargebacks?|identity\s+theft|gift\s+card\s+codes?|refund\s+for\s+an?\s+item\s+i\s+never)\b",
    ),
    ("cybercrime", r"\b(?:hack\w*|malware|ransomware|exploit\w*|keylogger|ddos|botnet|passwords?\s+of)\b"),
    ("violence", r"\b(?:kill|murder|assault|poison|kidnap\w*|torture|attack)\b"),
    ("hate", r"\b(?:racist|inferior|ethnic\s+cleansing|slur\w*|xenophob\w*)\b"),
)
_CATEGORY_RES = tuple((name, re.compile(p, re.I)) for name, p in _CATEGORIES)


def harm_category(text: str) -> str:
    for name, pattern in _CATEGORY_RES:
        if pattern.search(text):
            return name
    return "other"


def _worst_rule(
    family: tuple[rules.Rule, ...], readings: tuple[str, ...]
) -> tuple[float, rules.RuleHit | None, int]:
    best: tuple[float, rules.RuleHit | None, int] = (0.0, None, 0)
    for i, text in enumerate(readings):
        hit = rules.best_hit(family, text)
        if hit and hit.score > best[0]:
            best = (hit.score, hit, i)
    return best


def _where(index: int, readings: int = 1 << 30) -> str:
    if index == 0:
        return ""
    if index >= readings:
        return " (in one paragraph of the message, read on its own)"
    return " (in a hidden reading of the message)"


@register_validator(name="kefu/obfuscation", data_type="string")
class ObfuscationCheck(Validator):
    """Reports hidden text: invisible characters, look-alike letters, base64 payloads, leetspeak."""

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        ctx = context(metadata)
        findings: tuple[str, ...] = ctx.extra.get("findings", ())
        weights = {
            "base64": 1.0,
            "homoglyphs": 0.9,
            "invisible": 0.8,
            "spaced_letters": 0.6,
            "leetspeak": 0.5,
        }
        score = max((weights.get(f, 0.5) for f in findings), default=0.0)
        verdict = ctx.verdict("obfuscation", score, bool(findings), ", ".join(findings))
        return result(verdict)


@register_validator(name="kefu/jailbreak", data_type="string")
class JailbreakCheck(Validator):
    """Attempts to override the assistant's instructions, extract its prompt or switch its persona."""

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        ctx = context(metadata)
        rule_score, hit, where = _worst_rule(rules.JAILBREAK, ctx.readings)
        head = ctx.models.heads["jailbreak"]
        scores = ctx.head_scores("jailbreak")
        model_score = float(scores.max())
        threshold = ctx.threshold("jailbreak", head.threshold)
        tripped = rule_score >= rules.TRIP or model_score >= threshold
        if hit and rule_score >= rules.TRIP:
            detail = f"rule {hit.rule}: {hit.text[:60]!r}{_where(where)}"
        else:
            detail = f"classifier {model_score:.2f} (threshold {threshold:.2f})"
            detail += _where(int(scores.argmax()), len(ctx.readings))
            if hit:
                detail += f"; hint {hit.rule}"
        return result(ctx.verdict("jailbreak", max(rule_score, model_score), tripped, detail))


@register_validator(name="kefu/harmful", data_type="string")
class HarmfulRequestCheck(Validator):
    """Requests for dangerous help: weapons, drugs, fraud, hacking, violence (self-harm has its own check)."""

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        ctx = context(metadata)
        head = ctx.models.heads["harmful"]
        scores = ctx.head_scores("harmful")
        best = int(scores.argmax())
        score = float(scores[best])
        threshold = ctx.threshold("harmful", head.threshold)
        tripped = score >= threshold
        category = harm_category(ctx.scored_texts[best]) if tripped else ""
        detail = f"{category or 'none'}: classifier {score:.2f} (threshold {threshold:.2f})"
        detail += _where(best, len(ctx.readings))
        return result(ctx.verdict("harmful", score, tripped, detail))


@register_validator(name="kefu/self_harm", data_type="string")
class SelfHarmCheck(Validator):
    """A customer saying they may hurt themselves: answered with care and handed to a person."""

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        ctx = context(metadata)
        score, hit, where = _worst_rule(rules.SELF_HARM, ctx.readings)
        tripped = score >= rules.TRIP
        detail = f"rule {hit.rule}{_where(where)}" if hit else ""
        return result(ctx.verdict("self_harm", score, tripped, detail))


@register_validator(name="kefu/abuse", data_type="string")
class AbuseCheck(Validator):
    """Insults and threats aimed at the agent or staff. Profanity alone, in a complaint, is not abuse."""

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        ctx = context(metadata)
        toxicity = float(ctx.toxicity().max())
        tox_threshold = ctx.models.toxicity.threshold
        threat_score, threat, _ = _worst_rule(rules.THREATS, ctx.readings)
        threat_tripped = threat_score >= ctx.threshold("threat", rules.TRIP)
        threat_verdict = ctx.verdict(
            "threat", threat_score, threat_tripped, f"rule {threat.rule}" if threat else ""
        )

        directed, hit, _ = _worst_rule(rules.ABUSE_DIRECTED, ctx.readings)
        # a weak insult ("you're useless") counts only when the wording is also toxic
        strong = directed >= rules.TRIP or (directed > 0 and toxicity >= tox_threshold)
        threshold = ctx.threshold("abuse", rules.TRIP)
        score = max(directed, toxicity) if directed else min(toxicity, 0.5)
        tripped = strong and score >= threshold
        if tripped:
            ctx.extra["deescalate"] = True
            detail = f"directed insult ({hit.rule if hit else '?'}), toxicity {toxicity:.2f}"
        elif toxicity >= tox_threshold:
            detail = f"profanity without a target (toxicity {toxicity:.2f}): a complaint, answer normally"
        else:
            detail = ""
        abuse_verdict = ctx.verdict("abuse", score, tripped, detail)
        return result(threat_verdict if threat_verdict.tripped else abuse_verdict)


@register_validator(name="kefu/scope", data_type="string")
class ScopeCheck(Validator):
    """Requests to generate content a shop assistant does not write (articles, poems, code, guides, lyrics).

    Not a harm judgement: it keeps the assistant to the shop, which also closes the door most "write me
    a ..." attacks come through. Shop topics (orders, returns, payments, ...) are never out of scope.
    """

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        ctx = context(metadata)
        score, hit, where = _worst_rule(rules.SCOPE, ctx.readings)
        tripped = score >= ctx.threshold("scope", rules.TRIP)
        detail = f"{hit.rule}: {hit.text[:60]!r}{_where(where)}" if hit else ""
        return result(ctx.verdict("scope", score, tripped, detail))


INPUT_VALIDATORS: dict[str, type[Validator]] = {
    "obfuscation": ObfuscationCheck,
    "jailbreak": JailbreakCheck,
    "harmful": HarmfulRequestCheck,
    "self_harm": SelfHarmCheck,
    "abuse": AbuseCheck,
    "scope": ScopeCheck,
}
