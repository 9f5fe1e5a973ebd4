"""The Redis Streams consumer group against a real redis-server on 127.0.0.1 (skips without one)."""

import pytest

from kefu.recsys import Event, EventConsumer, EventSource, LiveRecommender, RedisStreamEventSource


def test_publish_consume_ack(redis_url, events, config) -> None:  # type: ignore[no-untyped-def]
    source = RedisStreamEventSource.from_url(redis_url, stream="t:events", group="recsys", consumer="c1")
    assert isinstance(source, EventSource)
    live = LiveRecommender(config, history=events)
    live.fit()
    before = {s.item_id for s in live.recommend("u1", 10)}
    target = next(iter(before))

    ids = source.publish([Event("u1", target, timestamp=1.7e9), {"user_id": "u9", "item_id": "garden-1"}])
    assert len(ids) == 2
    consumer = EventConsumer(source, live, batch_size=10, block_ms=100)
    assert consumer.poll_once() == 2
    assert source.pending() == 0  # acknowledged after being applied
    assert target not in {s.item_id for s in live.recommend("u1", 10)}
    assert consumer.poll_once(block_ms=10) == 0
    # A second group sees the whole stream independently (e.g. another replica's model).
    other = RedisStreamEventSource.from_url(redis_url, stream="t:events", group="analytics", consumer="a1")
    assert [d.event.user_id for d in other.read(10)] == ["u1", "u9"]


def test_unacknowledged_events_are_redelivered_after_restart(redis_url) -> None:  # type: ignore[no-untyped-def]
    first = RedisStreamEventSource.from_url(redis_url, stream="t:crash", group="recsys", consumer="c1")
    first.publish([Event("a", "x"), Event("b", "y")])
    delivered = first.read(10)
    assert len(delivered) == 2 and first.pending() == 2
    # The process dies before acknowledging; the same consumer name restarts and re-reads its pending.
    restarted = RedisStreamEventSource.from_url(redis_url, stream="t:crash", group="recsys", consumer="c1")
    again = restarted.read(10)
    assert [d.event for d in again] == [d.event for d in delivered]
    restarted.ack([d.id for d in again])
    assert restarted.pending() == 0 and restarted.read(10, block_ms=10) == []


def test_stale_entries_of_a_dead_consumer_are_claimed(redis_url) -> None:  # type: ignore[no-untyped-def]
    dead = RedisStreamEventSource.from_url(redis_url, stream="t:claim", group="g", consumer="dead")
    dead.publish([Event("a", "x")])
    assert len(dead.read(10)) == 1
    survivor = RedisStreamEventSource.from_url(
        redis_url, stream="t:claim", group="g", consumer="alive", claim_idle_ms=1
    )
    import time

    time.sleep(0.01)
    claimed = survivor.read(10)
    assert [d.event.item_id for d in claimed] == ["x"]


def test_malformed_entries_are_dropped_and_acknowledged(redis_url) -> None:  # type: ignore[no-untyped-def]
    source = RedisStreamEventSource.from_url(redis_url, stream="t:bad", group="g", consumer="c")
    source.client.xadd("t:bad", {"user_id": "a"})  # no item
    source.client.xadd("t:bad", {"user_id": "a", "item_id": "x", "kind": "rating", "value": "4"})
    delivered = source.read(10)
    assert [d.event.item_id for d in delivered] == ["x"] and delivered[0].event.value == 4.0
    assert source.skipped == 1
    source.ack([d.id for d in delivered])
    assert source.pending() == 0


def test_group_creation_is_idempotent(redis_url) -> None:  # type: ignore[no-untyped-def]
    RedisStreamEventSource.from_url(redis_url, stream="t:idem", group="g")
    RedisStreamEventSource.from_url(redis_url, stream="t:idem", group="g")
    redis = pytest.importorskip("redis")
    with pytest.raises(redis.ResponseError):
        # Other errors still surface (a key of the wrong type).
        client = redis.Redis.from_url(redis_url)
        client.set("t:string", "x")
        RedisStreamEventSource(client, stream="t:string", group="g")
