"""`SafetyLayer`: the three guards of a customer turn behind three calls.

    layer = SafetyLayer(SafetyConfig(), audit=my_sink)
    checked = layer.check_input(message)                       # before the brain
    text, verdicts = layer.check_tool_output("get_order_details", output)   # each tool result
    reply = layer.check_reply(draft, customer=facts, protected_texts=[prompt, policy])

Each call returns small frozen values (`InputResult`, `ToolOutputResult`, `ReplyResult`) whose `safety`
property is the list of dicts `Reply.safety` collects, and hands every verdict to the audit sink.
Models and the encoder are loaded on first use and shared by every layer in the process.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from kefu.safety.audit import AuditSink, emit, logging_sink
from kefu.safety.config import SafetyConfig
from kefu.safety.context import CheckContext
from kefu.safety.encoder import Encoder
from kefu.safety.guards import build_validator, make_guard, run_guard
from kefu.safety.heads import Models, load_models
from kefu.safety.obfuscation import analyse
from kefu.safety.pii import without_identifiers
from kefu.safety.segments import request_parts, values_under
from kefu.safety.validators import INPUT_VALIDATORS, REPLY_VALIDATORS, TOOL_VALIDATORS
from kefu.safety.validators.base import CONTEXT_KEY
from kefu.safety.validators.tool_checks import compile_phrasings
from kefu.safety.verdicts import (
    ANONYMOUS,
    CustomerFacts,
    GroundingResult,
    InputResult,
    ReplyResult,
    ToolOutputResult,
    Verdict,
    strongest,
)

GroundingHook = Callable[[str], GroundingResult]

_ORDER = ("obfuscation", "jailbreak", "harmful", "scope", "self_harm", "abuse", "threat")


class SafetyLayer:
    """Input, tool-output and reply checks for one assistant (thread-safe; share one per process)."""

    def __init__(
        self,
        config: SafetyConfig | None = None,
        *,
        audit: AuditSink | None = None,
        encoder: Encoder | None = None,
        grounding: GroundingHook | None = None,
    ) -> None:
        self.config = config or SafetyConfig()
        self.audit: AuditSink = audit or logging_sink
        self.encoder = encoder
        """None uses the process-wide MiniLM (`kefu.safety.use_encoder` shares one from elsewhere)."""
        self.grounding = grounding
        """Called with each reply when `check_reply` gets no grounding result of its own."""
        self._models: Models | None = None
        self._guards: dict[str, Any] = {}

    # --- set-up -----------------------------------------------------------------------------------
    @property
    def models(self) -> Models:
        if self._models is None:
            self._models = load_models(self.config.models_dir)
        return self._models

    def _guard(self, stage: str) -> Any:
        guard = self._guards.get(stage)
        if guard is None:
            registry = {"input": INPUT_VALIDATORS, "tool": TOOL_VALIDATORS, "reply": REPLY_VALIDATORS}[stage]
            validators = [
                build_validator(cls, fix=getattr(self.config, check).action == "fix")
                for check, cls in registry.items()
                if getattr(self.config, check).enabled
            ]
            guard = self._guards[stage] = make_guard(f"kefu-safety-{stage}", validators)
        return guard

    def warm_up(self) -> None:
        """Load the models and the encoder now rather than on the first customer's turn."""
        self.check_input("hello, where is my order?")

    def _context(self, readings: tuple[str, ...], **extra: Any) -> CheckContext:
        return CheckContext(
            readings=readings, models=self.models, config=self.config, encoder=self.encoder, extra=extra
        )

    def _run(self, stage: str, text: str, ctx: CheckContext) -> tuple[str, tuple[Verdict, ...]]:
        outcome = run_guard(self._guard(stage), text, {CONTEXT_KEY: ctx})
        if outcome.error:
            raise RuntimeError(f"safety {stage} guard failed: {outcome.error}")
        fixed = outcome.validated_output if isinstance(outcome.validated_output, str) else text
        return fixed, tuple(ctx.verdicts)

    # --- the three stages -------------------------------------------------------------------------
    def check_input(self, text: str) -> InputResult:
        """Check one customer message; when `blocked`, answer with `message` instead of running the turn."""
        analysis = analyse(text)
        if not self.config.enabled or not analysis.text.strip():
            return InputResult(analysis.text, (), "pass")
        ids = self.config.order_id_pattern
        readings = tuple(without_identifiers(r, order_id_pattern=ids) for r in analysis.readings)
        ctx = self._context(readings, findings=analysis.findings)
        ctx.parts = tuple(request_parts(readings[0]))
        _, verdicts = self._run("input", analysis.text, ctx)
        verdicts = tuple(sorted(verdicts, key=lambda v: _ORDER.index(v.check) if v.check in _ORDER else 99))
        return self._input_result(analysis.text, verdicts, bool(ctx.extra.get("deescalate")))

    def _input_result(self, text: str, verdicts: tuple[Verdict, ...], deescalate: bool) -> InputResult:
        action = strongest(verdicts)
        if action == "fix":  # nothing in a customer message is fixed in place
            action = "log"
        message = None
        if action == "escalate":
            self_harm = any(v.check == "self_harm" and v.tripped for v in verdicts)
            message = self.config.self_harm_message if self_harm else self.config.escalation_message
        elif action == "refuse":
            message = self.config.refusal_message
        emit(self.audit, "input", verdicts)
        return InputResult(text, verdicts, action, message, deescalate)

    def check_tool_output(
        self,
        tool_name: str,
        text: str,
        *,
        known: Iterable[str] = (),
        phrasings: Iterable[str] = (),
        data_keys: Iterable[str] = (),
        label_keys: Iterable[str] = (),
    ) -> ToolOutputResult:
        """Neutralise instructions embedded in a tool's output or a document before the brain reads it.

        `known`: strings that are data by construction (the call's own arguments, the values its schema
        enumerates; see `validators.tool_checks.known_values`), passed through unscored. `phrasings`: the
        tool's own sentence forms, as regular expressions whose named groups are data slots; a sentence that
        matches one is scored on its slots only (the wording is the tool's, not a third party's).
        `data_keys`: JSON keys whose string values (at any depth) are the business's structured data, such
        as product names and option values; passed through unscored like `known`. `label_keys`: JSON keys
        whose values are a document's own labels (ids, file names, heading paths, FAQ questions): read by
        the injection rules but not by the sentence classifier, which takes short imperative titles
        ("Retail agent policy > Cancel pending order") for commands.
        """
        if not self.config.enabled or not self.config.injection.enabled or not text or not text.strip():
            return ToolOutputResult(text, ())
        ctx = self._context(
            (text,),
            tool_name=tool_name,
            known=frozenset(
                " ".join(k.split()).casefold() for k in (*known, *values_under(text, tuple(data_keys)))
            ),
            phrasings=compile_phrasings(tuple(phrasings)),
            labels=frozenset(" ".join(v.split()).casefold() for v in values_under(text, tuple(label_keys))),
        )
        fixed, verdicts = self._run("tool", text, ctx)
        action = strongest(verdicts)
        if action in ("refuse", "escalate"):
            fixed = (
                f"[kefu: the output of {tool_name} was withheld: it contained instructions to the assistant]"
            )
        elif action != "fix":
            fixed = text
        emit(self.audit, "tool", verdicts, source=tool_name)
        return ToolOutputResult(fixed, verdicts)

    def check_reply(
        self,
        text: str,
        *,
        customer: CustomerFacts | None = None,
        protected_texts: Sequence[str] = (),
        grounding: GroundingResult | None = None,
    ) -> ReplyResult:
        """Check a reply: redact what is not the customer's, refuse or escalate per the config."""
        if not self.config.enabled or not text.strip():
            return ReplyResult(text, (), "pass", text)
        ctx = self._context(
            (text,),
            customer=customer or ANONYMOUS,
            protected_texts=tuple(protected_texts),
            grounding=grounding if grounding is not None else self.grounding,
        )
        fixed, verdicts = self._run("reply", text, ctx)
        action = strongest(verdicts)
        if action == "refuse":
            fixed = self.config.reply_fallback
        elif action == "escalate":
            fixed = self.config.escalation_message
        elif action != "fix":
            fixed = text
        emit(self.audit, "reply", verdicts)
        return ReplyResult(fixed, verdicts, action, text)

    # --- async forms ------------------------------------------------------------------------------
    async def acheck_input(self, text: str) -> InputResult:
        return await asyncio.to_thread(self.check_input, text)

    async def acheck_tool_output(
        self,
        tool_name: str,
        text: str,
        *,
        known: Iterable[str] = (),
        phrasings: Iterable[str] = (),
        data_keys: Iterable[str] = (),
        label_keys: Iterable[str] = (),
    ) -> ToolOutputResult:
        return await asyncio.to_thread(
            functools.partial(
                self.check_tool_output,
                tool_name,
                text,
                known=known,
                phrasings=phrasings,
                data_keys=data_keys,
                label_keys=label_keys,
            )
        )

    async def acheck_reply(
        self,
        text: str,
        *,
        customer: CustomerFacts | None = None,
        protected_texts: Sequence[str] = (),
        grounding: GroundingResult | None = None,
    ) -> ReplyResult:
        return await asyncio.to_thread(
            self.check_reply, text, customer=customer, protected_texts=protected_texts, grounding=grounding
        )
