"""The small values the safety layer returns: one `Verdict` per check, and one result per stage."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, NamedTuple

Action = Literal["pass", "log", "fix", "refuse", "escalate"]
"""What happens when a check trips: nothing ('pass'), a log line, a fix (redact or neutralise), a polite
refusal that still offers help, or a hand-over to a person."""
OnFail = Literal["log", "fix", "refuse", "escalate"]
SEVERITY: dict[str, int] = {"pass": 0, "log": 1, "fix": 2, "refuse": 3, "escalate": 4}


@dataclass(frozen=True, slots=True)
class Verdict:
    """One check's finding on one text."""

    check: str
    """Which check: 'jailbreak', 'harmful', 'self_harm', 'abuse', 'threat', 'obfuscation', 'injection',
    'toxicity', 'bias', 'pii', 'leakage' or 'grounding'."""
    score: float
    """How strongly the check fired, from 0 (clean) to 1."""
    tripped: bool
    """Whether the score crossed the check's threshold."""
    action: Action
    """What was done: the check's configured action when tripped, else 'pass'."""
    detail: str = ""
    """A short, human-readable reason (never the personal data itself)."""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["score"] = round(float(self.score), 4)
        return out


def strongest(verdicts: Iterable[Verdict]) -> Action:
    """The most severe action among tripped verdicts ('pass' when none tripped)."""
    actions = [v.action for v in verdicts if v.tripped]
    return max(actions, key=SEVERITY.__getitem__, default="pass")


def _tuple(values: str | Sequence[str] | None) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        return (values,)
    return tuple(v for v in values if v)


@dataclass(frozen=True)
class CustomerFacts:
    """What belongs to the authenticated customer: these may appear in a reply, other people's may not."""

    email: str | None = None
    order_ids: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    """Street lines or whole addresses ('445 Maple Drive, Suite 394, Fort Worth, TX 76165')."""
    phones: tuple[str, ...] = ()
    payment_ids: tuple[str, ...] = ()
    """Payment method ids or card endings ('credit_card_7815826', '4242')."""
    names: tuple[str, ...] = ()
    also_allowed: tuple[str, ...] = ()
    """Anything else the customer gave in this conversation (an email they typed, an order id they quoted)."""

    @classmethod
    def of(
        cls,
        *,
        email: str | None = None,
        order_ids: Sequence[str] | None = None,
        addresses: Sequence[str] | None = None,
        phones: Sequence[str] | None = None,
        payment_ids: Sequence[str] | None = None,
        names: Sequence[str] | None = None,
        also_allowed: Sequence[str] | None = None,
    ) -> CustomerFacts:
        """Build from any sequences (lists from a database row are fine)."""
        return cls(
            email=email or None,
            order_ids=_tuple(order_ids),
            addresses=_tuple(addresses),
            phones=_tuple(phones),
            payment_ids=_tuple(payment_ids),
            names=_tuple(names),
            also_allowed=_tuple(also_allowed),
        )


ANONYMOUS = CustomerFacts()
"""No authenticated customer: every email, phone, address, order id or payment detail in a reply is redacted
unless the caller lists it in `also_allowed` or the config's `allowed_pii`."""


@dataclass(frozen=True)
class GroundingResult:
    """The reply writer's grounding check, recorded by the safety layer: are the reply's facts in the plan?"""

    grounded: bool
    score: float = 1.0
    """Share of fact-like spans found in the plan (1.0 = all)."""
    unsupported: tuple[str, ...] = ()
    """Spans that were not found."""


@dataclass(frozen=True)
class InputResult:
    """The verdict on one customer message."""

    text: str
    """The message to pass on: NFKC, invisible characters removed, look-alike letters folded."""
    verdicts: tuple[Verdict, ...]
    action: Action
    """The most severe action among the tripped checks."""
    message: str | None = None
    """What to answer instead of running the turn, when `action` is 'refuse' or 'escalate'."""
    deescalate: bool = False
    """The customer is abusive toward the agent: answer calmly, acknowledge the frustration, offer a person."""

    @property
    def blocked(self) -> bool:
        """True when the turn must not go to the brain (refuse or escalate)."""
        return self.action in ("refuse", "escalate")

    @property
    def safety(self) -> list[dict[str, Any]]:
        return [v.to_dict() for v in self.verdicts]


class ToolOutputResult(NamedTuple):
    """The sanitised tool output and the verdicts; unpacks as `(text, verdicts)`."""

    text: str
    verdicts: tuple[Verdict, ...]

    @property
    def safety(self) -> list[dict[str, Any]]:
        return [v.to_dict() for v in self.verdicts]


@dataclass(frozen=True)
class ReplyResult:
    """The verdict on one reply."""

    text: str
    """The reply to send: redacted where a check fixed it, or the refusal/escalation text."""
    verdicts: tuple[Verdict, ...]
    action: Action
    original: str = field(default="", repr=False)
    """The reply as written, before any change (for the audit log, not for the customer)."""

    @property
    def changed(self) -> bool:
        return self.text != self.original

    @property
    def safety(self) -> list[dict[str, Any]]:
        return [v.to_dict() for v in self.verdicts]
