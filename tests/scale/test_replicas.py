"""Two `kefu serve` processes sharing one PostgreSQL, one Chroma server and one Redis, as behind a load
balancer: whichever replica gets the next message, the customer sees one assistant."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import create_engine, text

from kefu.server.load_bench import replicas as replicas_of_kefu
from kefu.server.local_engines import Engine, EngineMissing, create_database, start_redis

NOAH_EMAIL = "noah.brown7922@example.com"


@dataclass
class Replicas:
    a: httpx.Client
    b: httpx.Client
    pids: tuple[int, int]
    database: str
    redis: str

    def say(self, replica: str, session: str, said: str, **headers: str) -> dict[str, Any]:
        client = self.a if replica == "a" else self.b
        r = client.post(f"/v1/sessions/{session}/messages", json={"text": said}, headers=headers)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def sql(self, query: str) -> list[Any]:
        engine = create_engine(self.database)
        try:
            with engine.connect() as conn:
                return list(conn.execute(text(query)).all())
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def replicas(
    pg_server: Engine, pg_template: str, chroma_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Replicas]:
    try:
        redis = start_redis()
    except EngineMissing as e:
        pytest.skip(str(e))
    database = create_database(pg_server.url, "kefu_replicas", template=pg_template)
    workdir = tmp_path_factory.mktemp("replicas")
    config = workdir / "kefu.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "shop": {"database_url": database},
                "knowledge": {"location": chroma_url},
                "recsys": {"redis_url": redis.url},
            }
        )
    )
    key = f"replica-key-{secrets.token_hex(8)}"
    try:
        with (
            replicas_of_kefu(
                workdir, key, ("a", "b"), max_concurrent_turns=4, config=config, stop_timeout=30
            ) as (
                (proc_a, url_a),
                (proc_b, url_b),
            ),
            httpx.Client(base_url=url_a, headers={"X-API-Key": key}, timeout=120) as a,
            httpx.Client(base_url=url_b, headers={"X-API-Key": key}, timeout=120) as b,
        ):
            yield Replicas(a, b, (proc_a.pid, proc_b.pid), database, redis.url)
    finally:
        redis.stop()


def test_a_conversation_continues_on_either_replica(replicas: Replicas):
    replicas.say("a", "r-1", "hi, where is my order #W7678072?")
    out = replicas.say("b", "r-1", NOAH_EMAIL)  # b knows what was asked on a
    assert "#W7678072" in out["reply"]["text"] and "delivered" in out["reply"]["text"]
    assert out["customer_id"] == "noah_brown_6181"
    replicas.say("a", "r-1", "what is the status of order #W7678072?")  # a knows who it is now
    history = replicas.b.get("/v1/sessions/r-1/messages").json()
    said = [m["text"] for m in history["messages"] if m["author"] == "customer"]
    assert said == ["hi, where is my order #W7678072?", NOAH_EMAIL, "what is the status of order #W7678072?"]
    assert (
        history["conversation"]["turns"] == 3 and history["conversation"]["customer_id"] == "noah_brown_6181"
    )


def test_a_confirmation_asked_on_one_is_honoured_on_the_other(replicas: Replicas):
    replicas.say("a", "r-2", "cancel #W4184032, I don't need it anymore")
    asked = replicas.say("a", "r-2", "ava.kovacs4827@example.com")
    assert "Shall I go ahead" in asked["reply"]["text"]
    assert replicas.sql("SELECT status FROM orders WHERE id = '#W4184032'") == [("pending",)]
    done = replicas.say("b", "r-2", "yes")
    assert "cancel_pending_order" in [c["name"] for c in done["reply"]["tool_calls"] if c["error"] is None]
    assert replicas.sql("SELECT status, cancel_reason FROM orders WHERE id = '#W4184032'") == [
        ("cancelled", "no longer needed")
    ]


def test_a_retry_on_the_other_replica_is_not_a_second_write(replicas: Replicas):
    replicas.say("a", "r-3", "can you change where my order #W1242543 is being shipped?")
    replicas.say("a", "r-3", "ava.nguyen2868@example.com")
    replicas.say("a", "r-3", "77 Harbor View Road, Portland, OR 97201")
    first = replicas.a.post(
        "/v1/sessions/r-3/messages", json={"text": "yes"}, headers={"Idempotency-Key": "r3-yes-1"}
    )
    # the client saw a network error and retries through the load balancer, which picks b
    retry = replicas.b.post(
        "/v1/sessions/r-3/messages", json={"text": "yes"}, headers={"Idempotency-Key": "r3-yes-1"}
    )
    assert first.status_code == retry.status_code == 200
    assert retry.headers["Idempotent-Replayed"] == "true" and retry.json() == first.json()
    writes = replicas.sql(
        "SELECT count(*) FROM audit_log WHERE tool = 'modify_pending_order_address' AND outcome = 'done'"
    )
    assert writes == [(1,)]
    said = [m["text"] for m in replicas.a.get("/v1/sessions/r-3/messages").json()["messages"]]
    assert said.count("yes") == 1


def test_a_recommender_update_made_by_one_is_seen_by_the_other(replicas: Replicas):
    import redis

    # b's recommender is up (it reads the stream through a consumer group of its own from now on)
    assert replicas.say("b", "r-4b", "can you recommend something similar to the yoga mat?")["reply"][
        "recommendations"
    ]
    replicas.say(
        "a", "r-4a", "Hi, I need to exchange my hiking boots for a size 11, same otherwise. Only the boots."
    )
    replicas.say("a", "r-4a", "daiki.kim7376@example.com")
    done = replicas.say("a", "r-4a", "yes")  # a purchase made through a: a publishes it
    assert "exchange_delivered_order_items" in [
        c["name"] for c in done["reply"]["tool_calls"] if c["error"] is None
    ]
    client = redis.Redis.from_url(replicas.redis, decode_responses=True)
    last = client.xrevrange("kefu:events", count=1)[0][0]
    assert client.xrange("kefu:events")[-1][1]["kind"] == "purchase"
    replicas.say("b", "r-4b", "thanks, that's all")  # b folds in new events at the end of each turn
    groups = {g["name"]: g for g in client.xinfo_groups("kefu:events")}
    of_b = [g for name, g in groups.items() if f"-{replicas.pids[1]}-" in name]
    assert len(of_b) == 1, groups
    assert of_b[0]["last-delivered-id"] == last and of_b[0]["pending"] == 0  # read, applied, acknowledged


def test_one_sessions_messages_sent_to_both_replicas_at_once_are_both_remembered(replicas: Replicas):
    """The replicas take turns on a session (an advisory lock in PostgreSQL), as one server does: neither
    turn overwrites the other's in the assistant's memory."""
    from concurrent.futures import ThreadPoolExecutor

    from kefu.agents import open_checkpointer

    texts = {"a": "hi, where is my order #W7678072?", "b": "how long does a refund take?"}
    with ThreadPoolExecutor(2) as pool:
        done = [pool.submit(replicas.say, name, "r-5", said) for name, said in texts.items()]
        outcomes = [f.result() for f in done]
    assert all(o["reply"]["text"] for o in outcomes)
    saver = open_checkpointer(replicas.database)
    try:
        state = saver.get_tuple({"configurable": {"thread_id": "r-5"}})
        assert state is not None
        said = [m.content for m in state.checkpoint["channel_values"]["messages"] if m.type == "human"]
    finally:
        saver.conn.close()  # type: ignore[attr-defined]
    assert sorted(said) == sorted(texts.values())
