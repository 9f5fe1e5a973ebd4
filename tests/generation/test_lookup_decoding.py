"""Prompt-lookup decoding in the writer: the same greedy reply in fewer forward passes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from kefu.agents import replies
from kefu.agents.generation import ReplyPlan, ReplyWriter, plan_from_turn
from kefu.reply import ToolCallRecord
from kefu.tools.orders.loader import demo_shop_data


def _plans() -> list[ReplyPlan]:
    orders = list(demo_shop_data()["orders"].values())
    out = []
    for status in ("pending", "delivered"):
        order = next(o for o in orders if o["status"] == status)
        call = ToolCallRecord("get_order_details", {"order_id": order["order_id"]}, result=json.dumps(order))
        out.append(plan_from_turn(replies.order_status(order), customer="status please", tool_calls=[call]))
    return out


@contextmanager
def _forward_calls(writer: ReplyWriter) -> Iterator[list[int]]:
    calls: list[int] = []
    handle = writer.model.register_forward_hook(lambda *_: calls.append(1))
    try:
        yield calls
    finally:
        handle.remove()


@contextmanager
def _without_lookup(writer: ReplyWriter) -> Iterator[None]:
    saved = writer.lookup_tokens
    writer.lookup_tokens = 0
    try:
        yield
    finally:
        writer.lookup_tokens = saved


_plain_replies: dict[int, tuple[str, int, int]] = {}


def _plain(writer: ReplyWriter, i: int) -> tuple[str, int, int]:
    """Plan `i`'s greedy reply without lookup: (text, tokens, forward passes), computed once."""
    if i not in _plain_replies:
        with _without_lookup(writer), _forward_calls(writer) as calls:
            [(text, n)] = writer.generate_batch([_plans()[i]])
        _plain_replies[i] = (text, n, len(calls))
    return _plain_replies[i]


def test_lookup_only_for_single_greedy_requests() -> None:
    w = ReplyWriter(None, None)
    assert w.lookup_kwargs(1)["prompt_lookup_num_tokens"] == w.lookup_tokens > 0
    assert w.lookup_kwargs(2) == {}
    w.lookup_tokens = 0
    assert w.lookup_kwargs(1) == {}


@pytest.mark.parametrize("i", [0, 1])
def test_lookup_writes_the_plain_greedy_reply_in_fewer_passes(tuned: ReplyWriter, i: int) -> None:
    plan = _plans()[i]
    with _forward_calls(tuned) as calls:
        [(text, n)] = tuned.generate_batch([plan])
    plain, plain_n, plain_calls = _plain(tuned, i)
    assert text == plain and n == plain_n
    assert plain_calls in (plain_n, plain_n + 1)  # a pass per token (and one for the end token)
    assert len(calls) < plain_n  # guessed tokens were accepted several at a time


def test_a_stream_with_lookup_sends_the_plain_greedy_reply(tuned: ReplyWriter) -> None:
    plan = _plans()[0]
    streamed = tuned.stream(plan)
    pieces: list[Any] = list(streamed)
    assert streamed.result is not None
    plain = _plain(tuned, 0)[0]
    if streamed.result.mode == "generated":
        assert len(pieces) >= 2
        assert " ".join("".join(pieces).split()) == " ".join(plain.split())
