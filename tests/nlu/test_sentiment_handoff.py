"""Sentiment in a real conversation through `kefu.Assistant` on the demo shop.

Every turn's sentiment is on the Reply and in the event log (the console's analytics read it); a customer
who stays upset for two messages is offered a person, once, and a plain "yes" hands the conversation over.
"""

from __future__ import annotations

from sqlalchemy import create_engine

from kefu import Assistant
from kefu.event_log import EventLog


def test_a_customer_who_stays_upset_is_offered_a_person(bot: Assistant, shop_url: str):
    first = bot.respond("where is my order? it still hasn't arrived", session_id="s1")
    assert first.sentiment["label"] in ("neutral", "negative") and "person" not in first.text
    second = bot.respond("this is ridiculous, I've been waiting for two weeks", session_id="s1")
    third = bot.respond("you people are useless", session_id="s1")
    offers = [r for r in (second, third) if "Would you like me to connect you with a person?" in r.text]
    assert len(offers) == 1 and not offers[0].handoff  # offered, not forced
    assert third.sentiment["label"] == "negative" and third.sentiment["score"] < -0.5

    handed = bot.respond("yes", session_id="s1")
    assert handed.handoff and handed.intent == "human_agent"

    events = EventLog(create_engine(shop_url)).read(kinds=("sentiment",), session_id="s1")
    assert [e["payload"]["label"] for e in events][1:3] == ["negative", "negative"]
    assert len(events) == 4 and all(-1 <= e["weight"] <= 1 for e in events)


def test_a_calm_conversation_is_never_offered_a_person(bot: Assistant):
    replies = [
        bot.respond(t, session_id="s2")
        for t in ["hi, where is my order #W2611340", "james.li4495@example.com", "great, thanks!"]
    ]
    assert all("connect you with a person" not in r.text for r in replies)
    assert replies[-1].sentiment["label"] == "positive" and not replies[-1].handoff


def test_two_misunderstood_messages_offer_a_person(bot: Assistant):
    offer = "Would you like me to connect you with a person?"
    replies = [bot.respond(t, session_id="s3") for t in ["hmm the other one", "blue", "red"]]
    assert all(r.text.startswith("Sorry, I didn't quite get that") for r in replies)
    assert [offer in r.text for r in replies] == [False, True, False]  # offered once, not on every turn
