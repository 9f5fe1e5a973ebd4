"""`Idempotency-Key` on `POST /v1/sessions/{id}/messages`: a client's retry gets the first response.

A network error after the server received a message leaves the client not knowing whether the turn ran
(and whether an order was cancelled). Sending the same key again is safe: the key is claimed in the
console store (a primary key, so exactly one request wins across every replica) before the turn runs,
and the response is stored with it once the turn is done. A retry then gets that response back
(`Idempotent-Replayed: true`) without a second turn or a second write; a retry that arrives while the
first is still running waits for it. The same key with another message is refused (422).

Keys are scoped to the API key and the session, and forgotten after `KEEP_S`.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from kefu.server.errors import ApiError
from kefu.server.store import ConsoleStore

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEEP_S = 24 * 3600.0
"""How long a key is remembered."""
STALE_S = 300.0
"""A claim without a response this old belongs to a replica that died mid-turn: a retry runs again."""
WAIT_S = 60.0
"""How long a retry waits for the first request, still running, before it is told to retry later."""
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_PURGE_EVERY = 1000
_claims = itertools.count()

Run = Callable[..., Awaitable[Any]]


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class IdempotentRequest:
    """One request carrying a key: `begin` before the turn, `finish` (or `abandon`) after it."""

    store: ConsoleStore
    scope: str
    key: str
    fingerprint: str

    @classmethod
    def of(
        cls, store: ConsoleStore, key: str, *, key_id: str, session_id: str, text: str
    ) -> IdempotentRequest:
        if not _KEY.match(key):
            raise ApiError(
                400,
                "invalid_idempotency_key",
                "An Idempotency-Key is 1 to 255 printable ASCII characters (a UUID is a good choice).",
                param=HEADER,
            )
        return cls(store, f"{key_id}:{session_id}"[:200], key, fingerprint(text))

    async def begin(self, run: Run) -> dict[str, Any] | None:
        """None: this request runs (the key is now claimed). A dict: the first request's response."""
        if next(_claims) % _PURGE_EVERY == 0:
            await run(self.store.purge_requests, KEEP_S)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        delay = 0.05
        while True:
            state, response = await run(self._claim)
            if state == "new":
                return None
            if state == "done":
                return response
            if state == "mismatch":
                raise ApiError(
                    422,
                    "idempotency_key_reused",
                    "This Idempotency-Key was already used with another message; use a new key.",
                    param=HEADER,
                )
            if loop.time() + delay > deadline:
                raise ApiError(
                    409,
                    "request_in_progress",
                    "A request with this Idempotency-Key is still running; retry in a moment.",
                    headers={"Retry-After": "1"},
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    def _claim(self) -> tuple[str, dict[str, Any] | None]:
        return self.store.claim_request(self.scope, self.key, self.fingerprint, stale_after_s=STALE_S)

    async def finish(self, run: Run, response: dict[str, Any]) -> None:
        await run(self.store.finish_request, self.scope, self.key, 200, response)

    async def abandon(self, run: Run) -> None:
        await run(self.store.forget_request, self.scope, self.key)


_recording: set[asyncio.Task[Any]] = set()


def recorded(
    turn: asyncio.Task[Any], request: IdempotentRequest, run: Run, render: Callable[[Any], dict[str, Any]]
) -> asyncio.Task[Any]:
    """A task that ends with the turn's outcome once its response is stored under the key (or the claim
    dropped when the turn failed). It runs on even if the client goes away, like the turn itself."""

    async def record() -> Any:
        try:
            outcome = await turn
        except BaseException:
            await request.abandon(run)
            raise
        await request.finish(run, render(outcome))
        return outcome

    task = asyncio.create_task(record(), name=f"kefu-idempotency-{request.key[:40]}")
    _recording.add(task)

    def done(t: asyncio.Task[Any]) -> None:
        _recording.discard(t)
        if not t.cancelled():
            t.exception()  # retrieved: a refused turn (409...) already reached the client as a status code

    task.add_done_callback(done)
    return task
