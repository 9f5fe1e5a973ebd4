"""The assistant with the local writer: replies rewritten from the turn's plan, and how, in `Reply`."""

from __future__ import annotations

from pathlib import Path

import pytest

from kefu import Assistant, Config
from kefu.config import with_demo_generator


def test_the_sdk_default_is_the_template_and_demo_mode_picks_the_local_writer() -> None:
    assert Config().generator.kind == "template"
    assert with_demo_generator(Config()).generator.kind == "local"
    chosen = Config(generator={"kind": "template"})
    assert with_demo_generator(chosen).generator.kind == "template"


@pytest.mark.slow
def test_an_order_status_turn_is_written_by_the_model_and_grounded(shop_url: str, tmp_path: Path) -> None:
    config = Config(
        data_dir=tmp_path, shop={"database_url": shop_url}, generator={"kind": "local", "max_new_tokens": 120}
    )
    bot = Assistant(config)
    try:
        bot.respond("where is my order #W7678072", session_id="g")
        reply = bot.respond("noah.brown7922@example.com", session_id="g")
    finally:
        bot.close()
    assert reply.generation["mode"] in ("generated", "regenerated", "fallback")
    assert "#W7678072" in reply.text
    if reply.generation["mode"] != "fallback":
        assert reply.generation["intent"] == "order_status"
