"""guardrails-ai `Guard`s made the kefu way: metrics off, validators in parallel, callable from any thread.

guardrails-ai sends anonymous telemetry unless told not to, and every `Guard()` re-reads `~/.guardrailsrc`
and turns it back on when that file is missing. `make_guard` therefore configures each guard it creates
with `allow_metrics_collection=False` and switches the global setting off again, so neither the guard
nor validators built after it start the exporter. kefu never calls the hub or remote inference.

Validators of one guard are independent, so they run concurrently: an `AsyncGuard` gathers them and
guardrails runs each synchronous validator in the event loop's thread pool. `run_guard` drives that loop
from synchronous code (one loop per thread) and moves to a worker thread when the caller is itself inside
a running event loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from guardrails import AsyncGuard, OnFailAction, Validator, settings
from guardrails.classes.validation_outcome import ValidationOutcome


def metrics_off() -> None:
    """Switch guardrails' telemetry off for this process (the hub tracer and validator tracing)."""
    settings.rc.enable_metrics = False
    settings.rc.use_remote_inferencing = False
    settings.disable_tracing = True
    try:
        from guardrails.utils.hub_telemetry_utils import HubTelemetry

        HubTelemetry._enabled = False
        if HubTelemetry._instance is not None:
            HubTelemetry._instance._enabled = False
    except ImportError:  # pragma: no cover - layout of older guardrails releases
        pass


def make_guard(name: str, validators: Sequence[Validator]) -> AsyncGuard:
    """An `AsyncGuard` over `validators`, with metrics collection off."""
    guard = AsyncGuard(name=name)
    guard.configure(allow_metrics_collection=False)  # Guard() just turned it back on from the rc defaults
    metrics_off()
    if validators:
        guard.use(*validators)
    return guard


def build_validator(cls: type[Validator], *, fix: bool) -> Validator:
    """Instantiate a kefu validator; 'fix' lets guardrails apply its fix value, anything else is decided by kefu."""
    metrics_off()
    return cls(on_fail=OnFailAction.FIX if fix else OnFailAction.NOOP)


_local = threading.local()
_offload = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kefu-safety")


def _loop() -> asyncio.AbstractEventLoop:
    loop = getattr(_local, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _local.loop = loop
    return loop


async def arun_guard(guard: AsyncGuard, text: str, metadata: dict[str, Any]) -> ValidationOutcome:
    """Validate `text` with all of the guard's validators at once.

    Metrics are switched off again first: a `Guard()` built elsewhere in the process after ours turns
    guardrails' process-wide tracer back on.
    """
    metrics_off()
    return await guard.validate(text, metadata=metadata)


def run_guard(guard: AsyncGuard, text: str, metadata: dict[str, Any]) -> ValidationOutcome:
    """`arun_guard` from synchronous code, in this thread's own event loop (or a worker thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _loop().run_until_complete(arun_guard(guard, text, metadata))
    # called from inside a running loop (an async server calling the sync API): don't block that loop's thread
    return _offload.submit(lambda: _loop().run_until_complete(arun_guard(guard, text, metadata))).result()
