"""Many sessions at once without blocking the event loop; one session's turns in the order they came."""

from __future__ import annotations

import asyncio
import time

import httpx

from kefu.server import create_app


def _async_client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=60)


def test_the_event_loop_stays_free_while_turns_run(make_bot, kit):
    delay = 1.0
    inner = make_bot()
    inner.warm_up()  # as `kefu serve` does before it reports ready: model loading is not what is timed here
    bot = kit.SlowBot(inner, delay=delay)
    app = create_app(bot, settings=kit.settings(max_concurrent_turns=4))

    async def main() -> tuple[float, int, list[int], float]:
        async with _async_client(app) as c:
            started = time.perf_counter()
            turns = [
                asyncio.create_task(
                    c.post(f"/v1/sessions/cc-{i}/messages", json={"text": "hello"}, headers=kit.APP)
                )
                for i in range(8)
            ]
            await asyncio.sleep(0.1)
            t0 = time.perf_counter()
            health = await c.get("/healthz")
            health_s = time.perf_counter() - t0
            finished = sum(t.done() for t in turns)
            assert health.status_code == 200
            codes = [r.status_code for r in await asyncio.gather(*turns)]
            return health_s, finished, codes, time.perf_counter() - started

    health_s, finished, codes, total = asyncio.run(main())
    assert codes == [200] * 8
    assert finished == 0 and health_s < delay / 2  # answered while eight slow turns were running
    assert total < 8 * delay * 0.75  # side by side (4 at a time: ~2 delays), not one after the other (8)


def test_one_sessions_turns_run_in_arrival_order(make_bot, kit):
    bot = kit.SlowBot(make_bot(), delay=0.05)
    app = create_app(bot, settings=kit.settings())
    texts = [f"message {i}" for i in range(6)]

    async def main() -> list[int]:
        conversations = app.state.kefu.conversations
        async with _async_client(app) as c:
            tasks = []
            for i, t in enumerate(texts):
                tasks.append(
                    asyncio.create_task(
                        c.post("/v1/sessions/order/messages", json={"text": t}, headers=kit.APP)
                    )
                )
                # Sent one after the other without waiting for answers; "arrived" is when the server
                # has queued it (a fixed sleep raced the request's way in on a loaded CI machine).
                while conversations.queued("order") + sum(x.done() for x in tasks) <= i:
                    await asyncio.sleep(0.001)
            return [r.status_code for r in await asyncio.gather(*tasks)]

    assert asyncio.run(main()) == [200] * len(texts)
    assert [t for _, t in bot.seen] == texts
    history = bot.history("order")
    assert [m["content"] for m in history if m["role"] == "user"] == texts
