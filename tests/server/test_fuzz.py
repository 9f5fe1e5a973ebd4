"""Fuzzing against the OpenAPI spec (schemathesis + hypothesis): valid and invalid input, never a 500.

Bounded: a few examples per operation and mode (data the spec allows, and data it does not), in a
fixed order (derandomised) so a failure reproduces.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="the fuzz test needs schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402

from kefu.server import create_app  # noqa: E402

EXAMPLES = 6


def test_no_input_makes_a_500(make_bot, kit):
    app = create_app(make_bot(), settings=kit.settings())
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14
    failures: list[str] = []
    calls = 0

    def fuzz(operation, mode, key):
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            nonlocal calls
            calls += 1
            response = case.call(headers={**(case.headers or {}), **key})
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {case.body!r} -> {response.text[:300]}")
            elif response.status_code >= 400:
                assert response.json()["error"]["message"], response.text

        try:
            run()
        except Unsatisfiable:  # nothing invalid to send (an operation without parameters)
            assert mode is GenerationMode.NEGATIVE

    for operation in operations:
        key = kit.ALICE if operation.path.startswith("/v1/console") else kit.APP
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz(operation, mode, key)
    assert calls >= len(operations) * 2
    assert not failures, "\n".join(failures)
