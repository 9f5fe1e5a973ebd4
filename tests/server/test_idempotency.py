"""`Idempotency-Key`: a client's retry gets the first response back, without a second turn or write."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import create_engine, text

from kefu.server import create_app

CANCEL = ["cancel #W4184032, I don't need it anymore", "ava.kovacs4827@example.com"]


def _post(client, session: str, body: str, key: str | None, kit, **extra):
    headers = {**kit.APP, **({"Idempotency-Key": key} if key else {}), **extra}
    return client.post(f"/v1/sessions/{session}/messages", json={"text": body}, headers=headers)


def _cancellations(shop_url: str) -> int:
    engine = create_engine(shop_url)
    with engine.connect() as conn:
        n = conn.execute(
            text("SELECT count(*) FROM audit_log WHERE tool = 'cancel_pending_order' AND outcome = 'done'")
        ).scalar()
    engine.dispose()
    return int(n or 0)


def test_a_retried_confirmation_returns_the_first_reply_and_writes_once(client, kit, shop_url):
    for t in CANCEL:
        kit.say(client, "idem-1", t)
    first = _post(client, "idem-1", "yes", "key-0001", kit)
    assert first.status_code == 200 and "Idempotent-Replayed" not in first.headers
    assert "cancelled" in first.json()["reply"]["text"]
    retry = _post(client, "idem-1", "yes", "key-0001", kit)
    assert retry.status_code == 200 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert _cancellations(shop_url) == 1
    history = client.get("/v1/sessions/idem-1/messages", headers=kit.APP).json()["messages"]
    assert [m["text"] for m in history if m["author"] == "customer"] == [*CANCEL, "yes"]
    # a streaming retry gets the same outcome as events
    streamed = _post(client, "idem-1", "yes", "key-0001", kit, Accept="text/event-stream")
    events = kit.sse_events(streamed.text)
    assert [e for e, _ in events][-2:] == ["message", "done"]
    assert "cancelled" in events[-2][1]


def test_a_key_is_for_one_message_and_one_session(client, kit):
    assert _post(client, "idem-2", "hi there", "key-0002", kit).status_code == 200
    other = _post(client, "idem-2", "something else", "key-0002", kit)
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    elsewhere = _post(client, "idem-3", "hi there", "key-0002", kit)  # another session: its own turn
    assert elsewhere.status_code == 200 and "Idempotent-Replayed" not in elsewhere.headers
    assert _post(client, "idem-2", "hi", "bad key with spaces", kit).status_code == 400


def test_a_retry_sent_while_the_first_runs_waits_for_it(make_bot, kit):
    bot = kit.SlowBot(make_bot(), delay=0.5)
    app = create_app(bot, settings=kit.settings())

    async def main() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://kefu") as c:
            first = asyncio.create_task(
                c.post(
                    "/v1/sessions/idem-4/messages",
                    json={"text": "where is my order #W7678072?"},
                    headers={**kit.APP, "Idempotency-Key": "key-0004"},
                )
            )
            # the retry arrives once the first is running (its key taken, its turn queued); a fixed
            # 0.1 s sleep let the retry overtake it on a loaded CI machine
            while app.state.kefu.conversations.queued("idem-4") == 0 and not first.done():
                await asyncio.sleep(0.005)
            second = await c.post(
                "/v1/sessions/idem-4/messages",
                json={"text": "where is my order #W7678072?"},
                headers={**kit.APP, "Idempotency-Key": "key-0004"},
            )
            return [await first, second]

    first, second = asyncio.run(main())
    assert first.status_code == second.status_code == 200
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert second.json() == first.json()
    assert len(bot.seen) == 1  # one turn
