"""When the assistant suggests products, and when it stays quiet."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine

from kefu import Assistant, Config
from kefu.event_log import EventLog

EXCHANGE = [
    "Hi, I need to exchange my hiking boots for a size 11, same otherwise. Only the boots.",
    "daiki.kim7376@example.com",
]


def test_a_resolved_request_gets_one_suggestion_with_its_reason(bot: Assistant):
    for text in EXCHANGE:
        bot.respond(text, session_id="s1")
    done = bot.respond("yes", session_id="s1")
    assert done.writes and done.recommendations
    assert all(r["reason"] for r in done.recommendations)
    assert "You might also like" in done.text
    # ...but only once per session unless asked
    later = bot.respond("what's the status of order #W4824466?", session_id="s1")
    assert later.recommendations == []


def test_asked_for_suggestions_always_answers(bot: Assistant):
    reply = bot.respond("can you recommend something similar to the yoga mat?", session_id="s1")
    assert reply.recommendations and reply.recommendations[0]["kind"] == "similar"
    again = bot.respond("any other suggestions for me?", session_id="s1")
    assert again.recommendations


def test_a_budget_filters_the_suggestions_just_shown_or_asked_for(bot: Assistant):
    """'Something under $100?' right after suggestions used to get 'Sorry, I didn't quite get that', and
    'any recommendations under $50?' ignored the budget. The same kind of suggestions come back within it,
    still ranked by the model; with nothing that cheap, the bot says so instead of suggesting dearer ones."""
    first = bot.respond("can you recommend something?", session_id="s1")
    cheaper = bot.respond("something under $100?", session_id="s1")
    assert first.recommendations and cheaper.recommendations
    [call] = [c for c in cheaper.tool_calls if c.name == "recommend_products"]
    assert call.args["max_price"] == 100.0 and call.args["kind"] == "personal"
    assert "under $100.00" in cheaper.text
    assert all(0 < r["price_from"] <= 100 for r in cheaper.recommendations)
    similar = bot.respond("what goes well with hiking boots?", session_id="s2")
    within = bot.respond("ok but under $80", session_id="s2")
    [call] = [c for c in within.tool_calls if c.name == "recommend_products"]
    assert (
        call.args["kind"] == "similar"
        and call.args["product_id"] == similar.tool_calls[-1].args["product_id"]
    )
    assert within.recommendations and all(r["price_from"] <= 80 for r in within.recommendations)
    none = bot.respond("any ideas for a gift under $20?", session_id="s3")
    assert none.recommendations == [] and "couldn't find anything to suggest under $20.00" in none.text


def test_something_cheaper_goes_under_the_cheapest_suggestion_shown(bot: Assistant):
    """'Something cheaper?' right after suggestions got the greeting."""
    first = bot.respond("can you recommend something?", session_id="s1")
    cheaper = bot.respond("something cheaper?", session_id="s1")
    lowest = min(r["price_from"] for r in first.recommendations)
    [call] = [c for c in cheaper.tool_calls if c.name == "recommend_products"]
    assert call.args["kind"] == "personal" and call.args["max_price"] < lowest
    assert all(r["price_from"] < lowest for r in cheaper.recommendations)
    assert "Hi!" not in cheaper.text


def test_a_budget_inside_a_request_is_not_a_request_for_suggestions(bot: Assistant):
    bot.respond("daiki.kim7376@example.com", session_id="s1")
    reply = bot.respond("I want to exchange my hiking boots for something under $300", session_id="s1")
    assert "recommend_products" not in [c.name for c in reply.tool_calls]


def test_no_upselling_to_an_upset_customer(bot: Assistant):
    bot.respond(
        "this is ridiculous, my boots came in the wrong size. I need to exchange them for a size 11, "
        "same otherwise, only the boots",
        session_id="s1",
    )
    bot.respond("daiki.kim7376@example.com", session_id="s1")
    done = bot.respond("yes", session_id="s1")
    assert done.writes
    assert done.recommendations == [] and "might also like" not in done.text


def test_no_suggestion_after_a_cancellation(bot: Assistant):
    for text in ["cancel #W4184032, I don't need it anymore", "ava.kovacs4827@example.com"]:
        bot.respond(text, session_id="s1")
    done = bot.respond("yes", session_id="s1")
    assert done.writes and done.recommendations == []


def test_shown_suggestions_and_follow_ups_are_logged(bot: Assistant, shop_url: str):
    reply = bot.respond("can you recommend something similar to the yoga mat?", session_id="s1")
    first = reply.recommendations[0]
    bot.respond(f"tell me more about the {first['name']}", session_id="s1")
    events = EventLog(create_engine(shop_url)).read(session_id="s1")
    kinds = [(e["kind"], e["item_id"]) for e in events]
    assert ("recommendation_shown", first["product_id"]) in kinds
    assert ("click", first["product_id"]) in kinds


def test_a_purchase_changes_the_next_personal_suggestion(bot: Assistant, shop_url: str):
    """Real time: purchases appended to the event table (here by a separate writer, as another
    replica would) are in the customer's vector at the next sync, without a refit."""
    recommender = bot.recommender
    assert recommender is not None
    before = [r["product_id"] for r in recommender.personal("daiki_kim_2165", 5)]
    other_process = EventLog(create_engine(shop_url))
    other_process.append(
        [
            {"customer_id": "daiki_kim_2165", "item_id": pid, "kind": "purchase"}
            for pid in before[:2]
            for _ in range(3)
        ]
    )
    assert recommender.sync() == 6
    after = [r["product_id"] for r in recommender.personal("daiki_kim_2165", 5)]
    assert after != before
    assert not set(before[:2]) & set(after)  # discover filters what the customer now has


def test_a_background_refit_swaps_in_a_new_model(bot: Assistant):
    recommender = bot.recommender
    assert recommender is not None
    recommender.personal("daiki_kim_2165", 3)
    thread = recommender.refit_in_background()
    thread.join(30)
    assert not thread.is_alive()
    assert recommender.personal("daiki_kim_2165", 3)


def test_with_redis_every_replica_learns_every_event(shop_url: str, tmp_path: Path, redis_server_url: str):
    """Two assistants (as two replicas) on one shop and one Redis stream: a purchase made through one
    changes the other's next suggestion."""

    def replica(name: str) -> Assistant:
        return Assistant(
            Config(
                data_dir=tmp_path / name,
                shop={"database_url": shop_url},
                recsys={"redis_url": redis_server_url},
            )
        )

    one, two = replica("one"), replica("two")
    before = [r["product_id"] for r in two.recommender.personal("daiki_kim_2165", 5)]
    one.recommender.personal("daiki_kim_2165", 1)  # both replicas are up and subscribed
    one.recommender.publish(
        [
            {"customer_id": "daiki_kim_2165", "item_id": pid, "kind": "purchase"}
            for pid in before[:2]
            for _ in range(3)
        ]
    )
    assert two.recommender.sync() == 6
    after = [r["product_id"] for r in two.recommender.personal("daiki_kim_2165", 5)]
    assert not set(before[:2]) & set(after)
    one.close()
    two.close()
