"""Scripted multi-turn conversations: the file format, and a runner that scores them on a fresh shop.

A scenario gives the customer's turns and what must come of them: the database writes (compared
both as calls and as the final database state, like τ-bench), strings replies must or must not
contain, and whether the conversation ends with a person. The runner also flags policy violations
on its own, whatever the scenario says (`kefu.evals.policy_checks`): a write without the customer's
explicit "yes" in that turn, a write on another customer's data, and another customer's email or
order id shown in a reply. Each scenario can run k times; `SuiteResult.pass_hat_k` is τ-bench's pass^k.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kefu.evals.pass_k import pass_hat_k
from kefu.evals.policy_checks import TurnRecord, policy_violations, turn_record
from kefu.evals.shop_state import ShopTemplate, expected_state, snapshot

__all__ = [
    "ExpectedAction",
    "Expectations",
    "Scenario",
    "ScenarioResult",
    "ShopTemplate",
    "SuiteResult",
    "TurnRecord",
    "action_precision_recall",
    "embedded_assistant",
    "load_scenarios",
    "run_scenario",
    "run_suite",
    "select_scenarios",
]


class ExpectedAction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    args: dict[str, Any]


class Expectations(BaseModel):
    model_config = ConfigDict(extra="forbid")
    actions: list[ExpectedAction] = Field(default_factory=list)
    """The writes the conversation must make, in order, with exact arguments."""
    replies_contain: list[str] = Field(default_factory=list)
    """Strings (case-insensitive) at least one reply must contain."""
    replies_not_contain: list[str] = Field(default_factory=list)
    """Strings (case-insensitive) no reply may contain."""
    handoff: bool = False
    """Whether the conversation must end handed to a person."""


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    user_id: str | None = None
    """The customer the conversation is about (metadata for checks; never shown to the assistant)."""
    turns: list[str] = Field(min_length=1)
    expect: Expectations = Field(default_factory=Expectations)


def load_scenarios(paths: Iterable[str | Path] | None = None) -> list[Scenario]:
    """Scenarios from YAML files or folders; default: the demo shop's scenarios shipped with kefu."""
    files: list[Path] = []
    if paths is None:
        root = resources.files("kefu.evals").joinpath("demo_scenarios")
        files = sorted(Path(str(root)).glob("*.yaml"))
    else:
        for p in map(Path, paths):
            if p.is_dir():
                files.extend(sorted([*p.glob("*.yaml"), *p.glob("*.yml")]))
            elif p.is_file():
                files.append(p)
            else:
                raise FileNotFoundError(f"no scenario file or folder at {p}")
    out: list[Scenario] = []
    for f in files:
        doc = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
        if not isinstance(doc, dict):
            raise ValueError(f"{f}: a scenario file holds a mapping with the key `scenarios`")
        for n, raw in enumerate(doc.get("scenarios", [])):
            try:
                out.append(Scenario.model_validate(raw))
            except ValidationError as e:
                name = raw.get("id", f"#{n + 1}") if isinstance(raw, dict) else f"#{n + 1}"
                raise ValueError(f"{f}: scenario {name}: {e}") from e
    ids = [s.id for s in out]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise ValueError(f"duplicate scenario ids: {sorted(dupes)}")
    return out


@dataclass
class ScenarioResult:
    scenario: Scenario
    passed: bool
    failures: list[str]
    violations: list[str]
    transcript: list[TurnRecord]
    writes: list[dict[str, Any]]
    action_precision: float
    """Share of the writes made that were expected (1.0 when none was made)."""
    action_recall: float
    """Share of the expected writes that were made (1.0 when none was expected)."""
    trial: int = 0
    """Which of the repeated runs this is (0-based)."""
    handoff: bool = False
    customer_id: str | None = None
    seconds: float = 0.0

    def explain(self) -> str:
        lines = [f"scenario {self.scenario.id}: {'PASS' if self.passed else 'FAIL'}"]
        lines += [f"  failure: {f}" for f in self.failures]
        lines += [f"  violation: {v}" for v in self.violations]
        for t in self.transcript:
            lines.append(f"  customer: {t.customer}")
            for c in t.tool_calls:
                lines.append(
                    f"    tool {c['name']} {json.dumps(c['args'])} -> {(c.get('error') or 'ok')[:80]}"
                )
            lines.append(f"  bot: {t.reply}")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON: the scenario, the outcome and the transcript."""
        return {
            "id": self.scenario.id,
            "trial": self.trial,
            "passed": self.passed,
            "failures": self.failures,
            "violations": self.violations,
            "writes": self.writes,
            "expected_writes": [a.model_dump() for a in self.scenario.expect.actions],
            "action_precision": self.action_precision,
            "action_recall": self.action_recall,
            "handoff": self.handoff,
            "customer_id": self.customer_id,
            "seconds": round(self.seconds, 3),
            "tags": self.scenario.tags,
            "description": self.scenario.description,
            "transcript": [t.as_dict() for t in self.transcript],
        }


def select_scenarios(
    scenarios: list[Scenario], *, ids: Iterable[str] = (), tags: Iterable[str] = ()
) -> list[Scenario]:
    """The scenarios with one of `ids` or one of `tags` (all of them when both are empty)."""
    ids, tags = set(ids), set(tags)
    unknown = ids - {s.id for s in scenarios}
    if unknown:
        raise ValueError(f"unknown scenario ids: {sorted(unknown)}")
    if not ids and not tags:
        return list(scenarios)
    return [s for s in scenarios if s.id in ids or tags & set(s.tags)]


def run_scenario(
    scenario: Scenario,
    make_assistant: Callable[[str, Path], Any],
    template: ShopTemplate | None = None,
    *,
    trial: int = 0,
) -> ScenarioResult:
    """Run one scenario. `make_assistant(shop_url, data_dir)` builds the assistant under test."""
    started = time.perf_counter()
    own_template = template is None
    template = template or ShopTemplate()
    workdir = Path(tempfile.mkdtemp(prefix=f"kefu-{scenario.id[:40]}-"))
    try:
        url = template.fresh(workdir)
        bot = make_assistant(url, workdir)
        transcript: list[TurnRecord] = []
        handoff = False
        customer_id: str | None = None
        try:
            for turn in scenario.turns:
                reply = bot.respond(turn, session_id=f"scenario-{scenario.id}-{trial}")
                transcript.append(turn_record(turn, reply))
                handoff = handoff or reply.handoff
                customer_id = reply.customer_id or customer_id
        finally:
            bot.close()
        final = snapshot(url)
        writes = [w for t in transcript for w in t.writes]
        violations = policy_violations(transcript, final, customer_id)

        want = [{"name": a.name, "args": a.args} for a in scenario.expect.actions]
        failures = []
        if _canon(writes) != _canon(want):
            failures.append(f"writes {json.dumps(writes)} != expected {json.dumps(want)}")
        if final != expected_state(template, workdir, want):
            failures.append("final database state differs from the expected actions' result")
        replies = "\n".join(t.reply for t in transcript).lower()
        for s in scenario.expect.replies_contain:
            if s.lower() not in replies:
                failures.append(f"no reply contains {s!r}")
        for s in scenario.expect.replies_not_contain:
            if s.lower() in replies:
                failures.append(f"a reply contains {s!r}")
        if handoff != scenario.expect.handoff:
            failures.append(f"handoff {handoff} != expected {scenario.expect.handoff}")
        precision, recall = action_precision_recall(writes, want)
        return ScenarioResult(
            scenario,
            not failures and not violations,
            failures,
            violations,
            transcript,
            writes,
            precision,
            recall,
            trial=trial,
            handoff=handoff,
            customer_id=customer_id,
            seconds=time.perf_counter() - started,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if own_template:
            template.remove()


def action_precision_recall(made: list[dict[str, Any]], wanted: list[dict[str, Any]]) -> tuple[float, float]:
    """Precision and recall of the writes made against the expected ones (multisets, exact args)."""
    matched = sum((Counter(_canon(made)) & Counter(_canon(wanted))).values())
    precision = matched / len(made) if made else 1.0
    recall = matched / len(wanted) if wanted else 1.0
    return precision, recall


def _canon(actions: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(a, sort_keys=True) for a in actions]


@dataclass
class SuiteResult:
    results: list[ScenarioResult]
    """Every run of every scenario (a scenario appears once per trial)."""

    @property
    def success_rate(self) -> float:
        """Share of runs that passed: pass^1."""
        return sum(r.passed for r in self.results) / len(self.results) if self.results else 0.0

    @property
    def violations(self) -> int:
        return sum(len(r.violations) for r in self.results)

    @property
    def trials(self) -> int:
        """Runs per scenario (the smallest, should they differ)."""
        counts = Counter(r.scenario.id for r in self.results)
        return min(counts.values()) if counts else 0

    def outcomes(self) -> dict[str, list[bool]]:
        """Scenario id → pass/fail of each of its runs."""
        out: dict[str, list[bool]] = {}
        for r in self.results:
            out.setdefault(r.scenario.id, []).append(r.passed)
        return out

    def pass_hat_k(self, k: int) -> float:
        """τ-bench's pass^k over the repeated runs (needs at least k runs per scenario)."""
        return pass_hat_k(self.outcomes(), k)

    def failed(self) -> list[ScenarioResult]:
        return [r for r in self.results if not r.passed]

    def explain_failures(self, limit: int = 5) -> str:
        """The first failed runs with their transcripts, for an assertion message."""
        failed = self.failed()
        text = "\n\n".join(r.explain() for r in failed[:limit])
        more = f"\n\n… and {len(failed) - limit} more failed runs" if len(failed) > limit else ""
        return f"{len(failed)} of {len(self.results)} runs failed\n\n{text}{more}"


def run_suite(
    scenarios: list[Scenario],
    make_assistant: Callable[[str, Path], Any],
    *,
    progress: bool = False,
    repeat: int = 1,
    template: ShopTemplate | None = None,
    on_result: Callable[[ScenarioResult], None] | None = None,
) -> SuiteResult:
    """Run every scenario `repeat` times, each run on a fresh shop; `on_result` sees each result."""
    if repeat < 1:
        raise ValueError("repeat must be at least 1")
    own_template = template is None
    template = template or ShopTemplate()
    runs = [(s, trial) for trial in range(repeat) for s in scenarios]
    iterator: Iterable[tuple[Scenario, int]] = runs
    if progress:
        from rich.progress import track

        iterator = track(runs, description="scenarios")
    results = []
    try:
        for s, trial in iterator:
            result = run_scenario(s, make_assistant, template, trial=trial)
            results.append(result)
            if on_result is not None:
                on_result(result)
    finally:
        if own_template:
            template.remove()
    return SuiteResult(results)


def embedded_assistant(shop_url: str, data_dir: Path) -> Any:
    """The default assistant under test: embedded brain, the given shop, throwaway sessions."""
    from kefu.assistant import Assistant
    from kefu.config import Config

    settings: dict[str, Any] = {
        "data_dir": data_dir,
        "shop": {"database_url": shop_url},
        "sessions": {"url": "memory://"},
    }
    return Assistant(Config(**settings))
