"""Guards are guardrails-ai Guards of registered validators, run in parallel, with telemetry off."""

from __future__ import annotations

import threading
import time
from typing import Any

from guardrails import Validator, register_validator, settings
from guardrails.validators import FailResult, PassResult

from kefu.safety import SafetyLayer
from kefu.safety.guards import make_guard, run_guard

_threads: list[int] = []


@register_validator(name="kefu-test/slow-a", data_type="string")
class SlowA(Validator):
    def _validate(self, value: Any, metadata: dict[str, Any]):
        _threads.append(threading.get_ident())
        time.sleep(0.4)
        return PassResult()


@register_validator(name="kefu-test/slow-b", data_type="string")
class SlowB(Validator):
    def _validate(self, value: Any, metadata: dict[str, Any]):
        _threads.append(threading.get_ident())
        time.sleep(0.4)
        return FailResult(error_message="b", fix_value=value.upper())


def test_independent_validators_run_in_parallel():
    _threads.clear()
    guard = make_guard("parallel", [SlowA(on_fail="noop"), SlowB(on_fail="fix")])
    started = time.perf_counter()
    outcome = run_guard(guard, "abc", {"x": 1})
    elapsed = time.perf_counter() - started
    assert elapsed < 0.75, f"took {elapsed:.2f}s: validators ran one after the other"
    assert len(set(_threads)) == 2
    assert outcome.validated_output == "ABC"


def test_the_layers_guards_use_kefu_validators_with_metrics_off(layer: SafetyLayer):
    for stage in ("input", "tool", "reply"):
        guard = layer._guard(stage)
        names = {v.rail_alias for v in guard._validators}
        assert names and all(n.startswith("kefu/") for n in names)
        assert guard._allow_metrics_collection is False
    assert settings.rc.enable_metrics is False
    from guardrails.utils.hub_telemetry_utils import HubTelemetry

    assert HubTelemetry()._enabled is False


def test_a_new_guard_does_not_turn_metrics_back_on(layer: SafetyLayer):
    make_guard("another", [])
    assert settings.rc.enable_metrics is False


def test_the_layer_runs_its_checks_concurrently(layer: SafetyLayer):
    from kefu.safety.validators import input_checks

    seen: list[int] = []
    original = input_checks.AbuseCheck._validate

    def spy(self, value, metadata):
        seen.append(threading.get_ident())
        return original(self, value, metadata)

    input_checks.AbuseCheck._validate = spy  # type: ignore[method-assign]
    try:
        layer.check_input("where is my order?")
    finally:
        input_checks.AbuseCheck._validate = original  # type: ignore[method-assign]
    assert seen and seen[0] != threading.get_ident()  # in the guard's worker pool, beside the other checks
