"""Keeping a recommender current while it serves.

Two speeds of learning:

- every event is folded in at once (``Recommender.partial_fit``: the customer's row and vector
  change, item factors stay), so what a customer just bought is filtered out and shapes their
  next suggestions within milliseconds;
- now and then the whole model is refit from the full event history (new items, new item
  factors, fresh popularity) in a background thread, and swapped in with one assignment. Events
  that arrive during the refit are replayed onto the new model before the swap, so none is lost.

``EventConsumer`` is the loop that pulls events from an ``EventSource`` (the in-process log now,
Redis Streams at scale, the SQL event table later) into a ``LiveRecommender``, acknowledging each
batch only after it has been applied.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from kefu.recsys.catalog import CatalogItem
from kefu.recsys.config import RecommenderConfig
from kefu.recsys.event_sources import AppendOnlyEventLog, EventSource
from kefu.recsys.events import Event
from kefu.recsys.recommender import Recommender
from kefu.recsys.suggestions import Explanation, ListKind, RecommendationLists, Suggestion

log = logging.getLogger(__name__)


class LiveRecommender:
    """A ``Recommender`` that takes events as they happen and refits in the background."""

    def __init__(
        self,
        config: RecommenderConfig | None = None,
        *,
        history: AppendOnlyEventLog | Iterable[Event | Mapping[str, Any]] = (),
        model: Recommender | None = None,
        catalog: Iterable[CatalogItem] | None = None,
    ) -> None:
        """``history`` is everything a full refit learns from (it grows with ``ingest``);
        ``model`` an already fitted model to serve until the first refit."""
        self._config = config or (model.config if model is not None else RecommenderConfig())
        self.log = history if isinstance(history, AppendOnlyEventLog) else AppendOnlyEventLog(history)
        self._model = model
        self._catalog = list(catalog) if catalog is not None else None
        self._swap_lock = threading.Lock()
        self._refit_thread: threading.Thread | None = None
        self.generation = 0 if model is None else 1
        """How many models have been swapped in (1 after the first fit)."""
        self.last_refit_error: BaseException | None = None

    @property
    def model(self) -> Recommender:
        """The model serving right now (a new object after each refit)."""
        model = self._model
        if model is None:
            raise RuntimeError("no model yet: call fit() or pass model=")
        return model

    # -------------------------------------------------------------- learning

    def ingest(self, events: Iterable[Event | Mapping[str, Any]]) -> int:
        """Record events in the history and fold them into the serving model; returns the number
        of customers whose vectors changed."""
        batch = list(events)
        with self._swap_lock:
            self.log.append(batch)
            model = self._model
            return model.partial_fit(batch) if model is not None else 0

    def fit(self) -> Recommender:
        """Refit from the whole history now, in this thread, and swap the result in."""
        self._refit()
        return self.model

    def refit_in_background(self) -> threading.Thread:
        """Start a full refit in a daemon thread (or return the one already running)."""
        with self._swap_lock:
            running = self._refit_thread
            if running is not None and running.is_alive():
                return running
            thread = threading.Thread(target=self._refit_logged, name="kefu-recsys-refit", daemon=True)
            self._refit_thread = thread
            thread.start()
            return thread

    def wait_for_refit(self, timeout_s: float | None = None) -> bool:
        """Wait for a background refit; True if none is running any more."""
        thread = self._refit_thread
        if thread is not None:
            thread.join(timeout_s)
            return not thread.is_alive()
        return True

    def _refit_logged(self) -> None:
        try:
            self._refit()
            self.last_refit_error = None
        except BaseException as exc:  # the serving model stays; the error is kept for health checks
            log.exception("background refit failed; keeping the current model")
            self.last_refit_error = exc

    def _refit(self) -> None:
        offset = len(self.log)
        history = self.log.snapshot(offset)
        current = self._model
        catalog = self._catalog
        if catalog is None and current is not None:
            catalog = current._catalog_entries()
        fresh = Recommender(self._config).fit(history, catalog=catalog)
        with self._swap_lock:
            tail = self.log.slice(offset)
            if tail:
                fresh.partial_fit(tail)
            self._model = fresh
            self.generation += 1

    def set_catalog(self, catalog: Iterable[CatalogItem]) -> None:
        entries = list(catalog)
        with self._swap_lock:
            self._catalog = entries
            if self._model is not None:
                self._model.set_catalog(entries)

    # -------------------------------------------------------------- serving (delegates)

    def recommend(
        self, user_id: str, n: int = 10, *, kind: ListKind = "discover", **filters: Any
    ) -> list[Suggestion]:
        return self.model.recommend(user_id, n, kind=kind, **filters)

    def recommend_lists(self, user_id: str, **options: Any) -> RecommendationLists:
        return self.model.recommend_lists(user_id, **options)

    def similar_items(self, item_id: str, n: int = 10, **filters: Any) -> list[Suggestion]:
        return self.model.similar_items(item_id, n, **filters)

    def explain(self, user_id: str, item_id: str, n: int = 3) -> Explanation:
        return self.model.explain(user_id, item_id, n)


class EventConsumer:
    """Pulls events from a source into a ``LiveRecommender`` (at-least-once: ack after apply)."""

    def __init__(
        self, source: EventSource, target: LiveRecommender, *, batch_size: int = 200, block_ms: int = 500
    ) -> None:
        self.source = source
        self.target = target
        self.batch_size = batch_size
        self.block_ms = block_ms
        self.applied = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll_once(self, block_ms: int | None = None) -> int:
        """Read one batch, apply it, acknowledge it; returns the number of events applied."""
        deliveries = self.source.read(self.batch_size, block_ms if block_ms is not None else self.block_ms)
        if not deliveries:
            return 0
        self.target.ingest([d.event for d in deliveries])
        self.source.ack([d.id for d in deliveries])
        self.applied += len(deliveries)
        return len(deliveries)

    def start(self) -> threading.Thread:
        """Run ``poll_once`` in a daemon thread until ``stop``."""
        self._stop.clear()
        thread = threading.Thread(target=self._run, name="kefu-recsys-consumer", daemon=True)
        self._thread = thread
        thread.start()
        return thread

    def stop(self, timeout_s: float | None = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # keep consuming; a poison batch is retried after a pause
                log.exception("event consumer batch failed")
                self._stop.wait(1.0)
