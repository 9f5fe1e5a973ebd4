"""A failing or slow tool degrades the reply (apology, offer of a person), never the process."""

from __future__ import annotations

import time
from collections.abc import Callable

import kefu
from kefu import Assistant


@kefu.tool(
    scopes=["public"],
    examples=[
        "what are the store hours",
        "when are you open",
        "opening hours please",
        "are you open on sunday",
        "what time do you close",
    ],
)
def store_hours() -> str:
    """Tell the customer the store's opening hours."""
    raise ConnectionError("the hours service is down")


@kefu.tool(
    name="store_hours",
    scopes=["public"],
    timeout=0.2,
    examples=[
        "what are the store hours",
        "when are you open",
        "opening hours please",
        "are you open on sunday",
        "what time do you close",
    ],
)
def slow_store_hours() -> str:
    """Tell the customer the store's opening hours."""
    time.sleep(2)
    return "9 to 5"


def test_a_tool_that_raises_gives_an_apology_and_a_handoff_offer(make_bot: Callable[..., Assistant]):
    bot = make_bot(tools=[store_hours])
    reply = bot.respond("what are the store hours?", session_id="s1")
    assert "something went wrong" in reply.text.lower() and "person" in reply.text.lower()
    assert reply.tool_calls[0].name == "store_hours" and "TOOL_FAILED" in (reply.tool_calls[0].error or "")
    # the conversation goes on
    assert "Yoga Mat" in bot.respond("do you sell yoga mats?", session_id="s1").text


def test_a_tool_that_times_out_is_abandoned(make_bot: Callable[..., Assistant]):
    bot = make_bot(tools=[slow_store_hours])
    started = time.perf_counter()
    reply = bot.respond("when are you open?", session_id="s1")
    assert time.perf_counter() - started < 1.5
    assert "timed out" in (reply.tool_calls[0].error or "")
    assert "something went wrong" in reply.text.lower()


def test_a_brain_that_crashes_gives_a_polite_failure(make_bot: Callable[..., Assistant]):
    from kefu import ScriptedChatModel

    bot = make_bot(chat_model=ScriptedChatModel([]))  # no steps: every model call raises
    reply = bot.respond("hello", session_id="s1")
    assert "went wrong" in reply.text and "person" in reply.text
