"""Background refit with an atomic swap, and the consumer loop over the in-process log."""

import threading

import pytest

import kefu.recsys.live_recommender as live_module
from kefu.recsys import AppendOnlyEventLog, Event, EventConsumer, LiveRecommender, Recommender


class _GatedRecommender(Recommender):
    """A Recommender whose fit waits until the test lets it finish."""

    started = threading.Event()
    release = threading.Event()

    def fit(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        type(self).started.set()
        assert type(self).release.wait(10)
        return super().fit(*args, **kwargs)


def test_background_refit_swaps_atomically_and_keeps_new_events(events, config, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    live = LiveRecommender(config, history=events)
    first = live.fit()
    assert live.generation == 1

    _GatedRecommender.started.clear()
    _GatedRecommender.release.clear()
    monkeypatch.setattr(live_module, "Recommender", _GatedRecommender)
    thread = live.refit_in_background()
    assert live.refit_in_background() is thread  # one refit at a time
    assert _GatedRecommender.started.wait(10)

    # While the refit runs, the old model serves and takes new events.
    assert live.ingest([Event("u1", "office-1"), Event("late-arrival", "garden-2")]) == 2
    assert live.model is first
    assert "late-arrival" in first.users
    served = live.recommend("u1", 3)
    assert len(served) == 3

    _GatedRecommender.release.set()
    assert live.wait_for_refit(20)
    assert live.last_refit_error is None
    assert live.generation == 2
    fresh = live.model
    assert fresh is not first and isinstance(fresh, _GatedRecommender)
    # Events that arrived during the refit were replayed onto the new model before the swap.
    assert "late-arrival" in fresh.users
    assert "office-1" not in {s.item_id for s in fresh.recommend("u1", 10)}
    assert len(live.log) == len(events) + 2


def test_failed_refit_keeps_serving_model(events, config, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    live = LiveRecommender(config, history=events)
    first = live.fit()

    class Broken(Recommender):
        def fit(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            raise RuntimeError("disk full")

    monkeypatch.setattr(live_module, "Recommender", Broken)
    live.refit_in_background()
    assert live.wait_for_refit(10)
    assert live.model is first and isinstance(live.last_refit_error, RuntimeError)


def test_live_requires_a_model() -> None:
    with pytest.raises(RuntimeError, match="no model yet"):
        LiveRecommender().recommend("u1")


def test_consumer_over_the_in_process_log(events, config) -> None:  # type: ignore[no-untyped-def]
    live = LiveRecommender(config, history=events)
    live.fit()
    inbox = AppendOnlyEventLog()
    cursor = inbox.consumer()
    consumer = EventConsumer(cursor, live, batch_size=10, block_ms=10)
    inbox.append([Event("u1", "office-3"), {"user_id": "u2", "item_id": "office-4"}])
    assert consumer.poll_once() == 2
    assert cursor.committed == 2
    assert "office-3" not in {s.item_id for s in live.recommend("u1", 10)}
    assert consumer.poll_once(block_ms=0) == 0

    consumer.start()
    inbox.append([Event("u5", "garden-7")])
    for _ in range(200):
        if consumer.applied == 3:
            break
        threading.Event().wait(0.01)
    consumer.stop()
    assert consumer.applied == 3 and cursor.committed == 3


def test_log_cursor_redelivers_unacknowledged() -> None:
    log = AppendOnlyEventLog([Event("a", "x"), Event("b", "y")])
    cursor = log.consumer()
    first = cursor.read(1)
    assert [d.event.user_id for d in first] == ["a"]
    cursor.read(5)
    cursor.ack([first[0].id])
    cursor.rewind()
    assert [d.event.user_id for d in cursor.read(5)] == ["b"]
    assert log.snapshot().users.tolist() == ["a", "b"]
