"""Which suites exist: the built-in ones, those installed by entry point, and those registered in code.

A business team ships a suite in its own package and declares it::

    [project.entry-points."kefu.eval_suites"]
    loyalty = "acme_kefu.evals:LoyaltySuite"

The value is a `Suite` subclass (instantiated without arguments) or an instance. In a notebook or a
test, `register_suite(LoyaltySuite())` does the same without packaging.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from kefu.evals.suite import Suite

ENTRY_POINT_GROUP = "kefu.eval_suites"

BUILTIN: dict[str, str] = {
    "nlu": "kefu.evals.suites.nlu:NluSuite",
    "retrieval": "kefu.evals.suites.retrieval:RetrievalSuite",
    "recsys": "kefu.evals.suites.recsys:RecsysSuite",
    "generation": "kefu.evals.suites.generation:GenerationSuite",
    "safety": "kefu.evals.suites.safety:SafetySuite",
    "scenarios": "kefu.evals.suites.scenarios:ScenariosSuite",
    "tau_bench": "kefu.evals.suites.tau_bench:TauBenchSuite",
    "latency": "kefu.evals.suites.latency:LatencySuite",
}
"""Built-in suites, in the order a plain `kefu eval` runs them (plugins follow, by name)."""

_registered: dict[str, Suite] = {}


@dataclass
class SuiteEntry:
    """A suite known by name, loaded only when it runs."""

    name: str
    origin: str
    """"builtin", "entry point <value>" or "registered"."""
    load: Callable[[], Suite]


def register_suite(suite: Suite | type[Suite], name: str | None = None) -> Suite:
    """Make a suite available by name in this process (tests, notebooks); returns the instance."""
    instance = _instance(suite)
    key = name or instance.name
    if not key:
        raise ValueError("a suite needs a name (set the class attribute `name`)")
    _registered[key] = instance
    return instance


def unregister_suite(name: str) -> None:
    _registered.pop(name, None)


def available_suites() -> dict[str, SuiteEntry]:
    """Name → entry: built in first (in run order), then entry points and registered suites by name.

    A registered suite replaces an entry point of the same name; neither may replace a built-in one.
    """
    found: dict[str, SuiteEntry] = {
        name: SuiteEntry(name, "builtin", _loader(target)) for name, target in BUILTIN.items()
    }
    extra: dict[str, SuiteEntry] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in found:
            extra[ep.name] = SuiteEntry(ep.name, f"entry point {ep.value}", _ep_loader(ep))
    for name, suite in _registered.items():
        if name not in found:
            extra[name] = SuiteEntry(name, "registered", lambda s=suite: s)  # type: ignore[misc]
    return found | dict(sorted(extra.items()))


def load_suite(name: str) -> Suite:
    """The suite called `name`; `KeyError` listing the known names when there is none."""
    suites = available_suites()
    if name not in suites:
        raise KeyError(f"no evaluation suite {name!r}; known: {', '.join(suites)}")
    suite = suites[name].load()
    if not getattr(suite, "name", ""):
        suite.name = name  # type: ignore[misc]
    return suite


def _instance(obj: Any) -> Suite:
    suite = obj() if isinstance(obj, type) else obj
    if not callable(getattr(suite, "run", None)):
        raise TypeError(f"{obj!r} is not an evaluation suite (it needs a run(ctx) method)")
    return suite  # type: ignore[no-any-return]


def _loader(target: str) -> Callable[[], Suite]:
    def load() -> Suite:
        module, _, attr = target.partition(":")
        return _instance(getattr(importlib.import_module(module), attr))

    return load


def _ep_loader(ep: Any) -> Callable[[], Suite]:
    def load() -> Suite:
        suite = _instance(ep.load())
        if not getattr(suite, "name", ""):
            suite.name = ep.name  # type: ignore[misc]
        return suite

    return load
