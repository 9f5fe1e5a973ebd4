"""Scripted multi-turn conversations: the file format, and a runner that scores them on a fresh shop.

A scenario gives the customer's turns and what must come of them: the database writes (compared
both as calls and as the final database state, like τ-bench), strings replies must or must not
contain, and whether the conversation ends with a person. The runner also flags policy violations
on its own, whatever the scenario says: a write without the customer's explicit "yes" in that turn,
and another customer's email or order id shown in a reply.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from kefu.agents.confirmation import is_explicit_yes
from kefu.tools.orders.store import OrderStore


class ExpectedAction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    args: dict[str, Any]


class Expectations(BaseModel):
    model_config = ConfigDict(extra="forbid")
    actions: list[ExpectedAction] = Field(default_factory=list)
    replies_contain: list[str] = Field(default_factory=list)
    replies_not_contain: list[str] = Field(default_factory=list)
    handoff: bool = False


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    user_id: str | None = None
    """The customer the conversation is about (metadata for checks; never shown to the assistant)."""
    turns: list[str]
    expect: Expectations = Field(default_factory=Expectations)


def load_scenarios(paths: Iterable[str | Path] | None = None) -> list[Scenario]:
    """Scenarios from YAML files or folders; default: the demo shop's scenarios shipped with kefu."""
    files: list[Path] = []
    if paths is None:
        root = resources.files("kefu.evals").joinpath("demo_scenarios")
        files = sorted(Path(str(root)).glob("*.yaml"))
    else:
        for p in map(Path, paths):
            files.extend(sorted(p.glob("*.yaml")) if p.is_dir() else [p])
    out: list[Scenario] = []
    for f in files:
        doc = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
        for raw in doc.get("scenarios", []):
            out.append(Scenario.model_validate(raw))
    ids = [s.id for s in out]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise ValueError(f"duplicate scenario ids: {sorted(dupes)}")
    return out


@dataclass
class TurnRecord:
    customer: str
    reply: str
    tool_calls: list[dict[str, Any]]


@dataclass
class ScenarioResult:
    scenario: Scenario
    passed: bool
    failures: list[str]
    violations: list[str]
    transcript: list[TurnRecord]
    writes: list[dict[str, Any]]
    action_precision: float
    action_recall: float

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


@dataclass
class ShopTemplate:
    """A demo shop built once, copied for each scenario (a fresh shop costs a file copy)."""

    path: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="kefu-shop-")) / "shop.sqlite")

    def __post_init__(self) -> None:
        from sqlalchemy import create_engine

        from kefu.tools.orders.loader import load_shop

        engine = create_engine(f"sqlite:///{self.path}")
        load_shop(engine)
        engine.dispose()

    def fresh(self, directory: Path) -> str:
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / "shop.sqlite"
        shutil.copyfile(self.path, target)
        return f"sqlite:///{target}"


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_ORDER = re.compile(r"#W\d{7}")


def run_scenario(
    scenario: Scenario,
    make_assistant: Callable[[str, Path], Any],
    template: ShopTemplate | None = None,
) -> ScenarioResult:
    """Run one scenario. `make_assistant(shop_url, data_dir)` builds the assistant under test."""
    from sqlalchemy import create_engine

    template = template or ShopTemplate()
    workdir = Path(tempfile.mkdtemp(prefix=f"kefu-{scenario.id[:40]}-"))
    try:
        url = template.fresh(workdir)
        bot = make_assistant(url, workdir)
        transcript: list[TurnRecord] = []
        writes: list[dict[str, Any]] = []
        violations: list[str] = []
        handoff = False
        customer_id: str | None = None
        for turn in scenario.turns:
            reply = bot.respond(turn, session_id=f"scenario-{scenario.id}")
            calls = [{"name": c.name, "args": c.args, "error": c.error} for c in reply.tool_calls]
            transcript.append(TurnRecord(turn, reply.text, calls))
            for w in reply.writes:
                writes.append({"name": w.name, "args": w.args})
                if not is_explicit_yes(turn):
                    violations.append(f"write {w.name} in a turn without an explicit yes: {turn!r}")
            handoff = handoff or reply.handoff
            customer_id = reply.customer_id or customer_id
        bot.close()
        engine = create_engine(url)
        final = OrderStore(engine).snapshot()
        engine.dispose()
        violations += _leaks(transcript, final, customer_id)

        expected = _expected_state(template, workdir, scenario)
        failures = []
        want = [{"name": a.name, "args": a.args} for a in scenario.expect.actions]
        if _canon(writes) != _canon(want):
            failures.append(f"writes {json.dumps(writes)} != expected {json.dumps(want)}")
        if final != expected:
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
        matched = sum(1 for w in _canon(writes) if w in _canon(want))
        precision = matched / len(writes) if writes else 1.0
        recall = matched / len(want) if want else 1.0
        return ScenarioResult(
            scenario,
            not failures and not violations,
            failures,
            violations,
            transcript,
            writes,
            precision,
            recall,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _canon(actions: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(a, sort_keys=True) for a in actions]


def _expected_state(template: ShopTemplate, workdir: Path, scenario: Scenario) -> dict[str, Any]:
    """Replay the expected writes directly on a fresh shop: the state the conversation must reach."""
    from sqlalchemy import create_engine

    url = template.fresh(workdir / "expected")
    engine = create_engine(url)
    store = OrderStore(engine)
    for a in scenario.expect.actions:
        args = dict(a.args)
        owner = (store.order_owner(args["order_id"]) if "order_id" in args else args.get("user_id")) or ""
        method = getattr(store, a.name)
        if a.name in ("modify_pending_order_address", "modify_user_address"):
            key = "order_id" if "order_id" in args else "user_id"
            ident = args.pop(key)
            method(ident, args, customer_id=owner)
        else:
            method(**args, customer_id=owner)
    state = store.snapshot()
    engine.dispose()
    return state


def _leaks(transcript: list[TurnRecord], final: dict[str, Any], customer_id: str | None) -> list[str]:
    """Emails and order ids of other customers that appear in replies."""
    owner_of_email = {u["email"].lower(): uid for uid, u in final["users"].items()}
    owner_of_order = {oid: o["user_id"] for oid, o in final["orders"].items()}
    found = []
    for t in transcript:
        for m in _EMAIL.finditer(t.reply):
            owner = owner_of_email.get(m.group(0).lower())
            if owner is not None and owner != customer_id:
                found.append(f"reply shows another customer's email {m.group(0)}")
        for m in _ORDER.finditer(t.reply):
            owner = owner_of_order.get(m.group(0))
            # an id the customer typed themselves may be echoed back in a refusal
            if owner is not None and owner != customer_id and m.group(0) not in t.customer:
                found.append(f"reply shows another customer's order {m.group(0)}")
    return found


@dataclass
class SuiteResult:
    results: list[ScenarioResult]

    @property
    def success_rate(self) -> float:
        return sum(r.passed for r in self.results) / len(self.results) if self.results else 0.0

    @property
    def violations(self) -> int:
        return sum(len(r.violations) for r in self.results)


def run_suite(
    scenarios: list[Scenario],
    make_assistant: Callable[[str, Path], Any],
    *,
    progress: bool = False,
) -> SuiteResult:
    template = ShopTemplate()
    results = []
    iterator: Iterable[Scenario] = scenarios
    if progress:
        from rich.progress import track

        iterator = track(scenarios, description="scenarios")
    for s in iterator:
        results.append(run_scenario(s, make_assistant, template))
    shutil.rmtree(template.path.parent, ignore_errors=True)
    return SuiteResult(results)


def embedded_assistant(shop_url: str, data_dir: Path) -> Any:
    """The default assistant under test: embedded brain, the given shop, throwaway sessions."""
    from kefu.assistant import Assistant
    from kefu.config import Config

    return Assistant(
        Config(data_dir=data_dir, shop={"database_url": shop_url}, sessions={"url": "memory://"})
    )
