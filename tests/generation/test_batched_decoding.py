"""Micro-batches decode together without padding waste, and write what each request alone would get."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kefu.agents import replies
from kefu.agents.generation import ReplyPlan, ReplyWriter, builtin_adapter, load_model, plan_from_turn
from kefu.agents.generation.decoding import PrefixCache, batched_decode
from kefu.reply import ToolCallRecord
from kefu.tools.orders.loader import demo_shop_data

NEW = 20


@pytest.fixture(scope="module")
def fp32() -> ReplyWriter:
    """float32, so that "the same reply" can be asked token for token (bf16 sums differ by batch shape)."""
    if not (builtin_adapter() / "adapter_config.json").is_file():
        pytest.skip("no shipped adapter: run `kefu train generator`")
    model, tok = load_model(adapter=builtin_adapter(), dtype="float32")
    return ReplyWriter(model, tok, max_new_tokens=NEW)


def _plans() -> list[ReplyPlan]:
    """Plans of very different lengths: a long order summary, a short one, a not-found."""
    data = demo_shop_data()
    orders = sorted(data["orders"].values(), key=lambda o: len(o["items"]))
    out = []
    for order in (orders[-1], orders[0]):
        call = ToolCallRecord("get_order_details", {"order_id": order["order_id"]}, result=json.dumps(order))
        out.append(plan_from_turn(replies.order_status(order), customer="status please", tool_calls=[call]))
    out.append(plan_from_turn(replies.order_not_found("#W0000000"), customer="where is #W0000000"))
    return out


def _alone(writer: ReplyWriter, prompt: list[int], new: int = NEW) -> list[int]:
    """Plain greedy `generate` for one prompt, no cache tricks: the reference."""
    import torch

    ids = torch.tensor([prompt])
    with torch.inference_mode():
        out = writer.model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=new,
            do_sample=False,
            pad_token_id=writer.tokenizer.pad_token_id,
        )
    return [t for t in out[0, len(prompt) :].tolist() if t not in writer._eos_ids()]


def _decode(writer: ReplyWriter, prompts: list[list[int]], prefix: PrefixCache, **kw: Any) -> list[list[int]]:
    import torch

    kw.setdefault("max_new_tokens", NEW)
    with torch.inference_mode():
        return batched_decode(
            writer.model,
            prompts,
            eos_ids=writer._eos_ids(),
            pad_id=writer.tokenizer.pad_token_id,
            prefix=prefix,
            **kw,
        )


def test_a_batch_of_different_lengths_decodes_each_prompt_as_it_would_alone(fp32: ReplyWriter) -> None:
    prompts = [fp32._prompt_ids(p) for p in _plans()]
    assert len({len(p) for p in prompts}) == 3
    prefix = PrefixCache()
    together = _decode(fp32, prompts, prefix)
    assert together == [_alone(fp32, p) for p in prompts]
    # the shared system prompt was computed once and is what the prompts start with
    assert len(prefix.tokens) >= 20 and all(p[: len(prefix.tokens)] == prefix.tokens for p in prompts)


def test_batched_prompt_lookup_writes_the_same_tokens_in_fewer_model_calls(fp32: ReplyWriter) -> None:
    """Each request guesses ahead from its own prompt and keeps what the model agrees with; requests
    accept different numbers of guesses in the same step, and one that ends leaves the batch."""
    prompts = [fp32._prompt_ids(p) for p in _plans()]
    calls = []
    hook = fp32.model.register_forward_pre_hook(lambda *_: calls.append(1))
    try:
        plain = _decode(fp32, prompts, PrefixCache(), max_new_tokens=60)
        plain_calls, calls[:] = len(calls), []
        guessed = _decode(fp32, prompts, PrefixCache(), max_new_tokens=60, lookup_tokens=6)
    finally:
        hook.remove()
    assert guessed == plain == [_alone(fp32, p, 60) for p in prompts]
    assert len(calls) < plain_calls * 0.7


def test_a_later_batch_with_a_shorter_shared_start_reuses_the_cached_prefix_exactly(
    fp32: ReplyWriter,
) -> None:
    prompts = [fp32._prompt_ids(p) for p in _plans()]
    prefix = PrefixCache()
    _decode(fp32, prompts[:1], prefix)  # caches the whole first prompt (less its last token)
    assert len(prefix.tokens) == len(prompts[0]) - 1
    assert _decode(fp32, prompts[1:], prefix) == [_alone(fp32, p) for p in prompts[1:]]


def test_a_finished_sequence_stops_while_the_others_go_on(fp32: ReplyWriter) -> None:
    prompts = [fp32._prompt_ids(p) for p in _plans()]
    out = _decode(fp32, [prompts[2], prompts[0]], PrefixCache(), max_new_tokens=80)
    assert 0 < len(out[0]) < 80 and len(out[1]) == 80  # the not-found reply ends; the summary is cut
    assert not set(out[0]) & fp32._eos_ids()


def test_min_new_tokens_holds_off_the_end_of_sequence(fp32: ReplyWriter) -> None:
    prompt = fp32._prompt_ids(_plans()[2])
    short = _decode(fp32, [prompt], PrefixCache(), max_new_tokens=80)[0]
    forced = _decode(fp32, [prompt], PrefixCache(), max_new_tokens=80, min_new_tokens=len(short) + 5)[0]
    assert len(forced) >= len(short) + 5 and forced[: len(short)] == short


def test_sampled_retries_are_seeded(fp32: ReplyWriter) -> None:
    plans = _plans()[1:]
    first = fp32.generate_batch(plans, sample=True)
    again = fp32.generate_batch(plans, sample=True)
    assert first == again and all(text for text, _ in first)


def test_the_writer_batches_through_batched_decode(fp32: ReplyWriter) -> None:
    plans = _plans()
    texts = [text for text, _ in fp32.generate_batch(plans)]
    alone = [
        fp32.tokenizer.decode(_alone(fp32, fp32._prompt_ids(p)), skip_special_tokens=True).strip()
        for p in plans
    ]
    assert texts == alone


def test_a_batch_checks_guesses_only_when_enough_of_them_should_be_kept() -> None:
    """Every request pays for the widest row: guesses the model keeps turning down are dropped."""
    from kefu.agents.generation.decoding import _worth_checking

    guesses = [[1, 2, 3, 4, 5, 6]] * 16
    kept = _worth_checking(guesses, [0.9] * 16)  # requests that keep most guesses check several,
    assert all(g == [1, 2, 3, 4] for g in kept)  # though not all six: each one more costs everyone
    assert _worth_checking(guesses, [0.1] * 16) == [[]] * 16
    # one request that copies well is not worth making fifteen others wait
    assert _worth_checking(guesses, [0.9] + [0.05] * 15) == [[]] * 16
    assert _worth_checking([[7, 8]], [0.9]) == [[7, 8]]
