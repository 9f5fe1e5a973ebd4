"""The end-to-end conversation tests that run on SQLite, run again on PostgreSQL, the Chroma server and
Redis: a representative subset, taken from the SQLite suites unchanged (this package's conftest swaps
the stack under their `bot`, `make_bot` and `shop_url` fixtures)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy import create_engine, inspect

from kefu import Assistant
from kefu.migrations import current, head

TESTS = Path(__file__).resolve().parents[1]


def _suite(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"kefu_scale_{name}", TESTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_conversations = _suite("test_conversations")
_knowledge = _suite("test_knowledge_conversations")
_recommendations = _suite("test_recommendations")

store = _conversations.store  # the fixture those tests read the database through

test_order_status_and_tracking = _conversations.test_order_status_and_tracking
test_cancel_with_reason_and_confirmation = _conversations.test_cancel_with_reason_and_confirmation
test_return_to_the_original_payment_method = _conversations.test_return_to_the_original_payment_method
test_exchange_to_another_option_of_the_same_product = (
    _conversations.test_exchange_to_another_option_of_the_same_product
)
test_transfer_to_a_human = _conversations.test_transfer_to_a_human
test_no_write_without_an_explicit_yes = _conversations.test_no_write_without_an_explicit_yes
test_a_yes_is_only_for_the_action_it_answers = _conversations.test_a_yes_is_only_for_the_action_it_answers
test_a_policy_question_is_answered_with_its_source = (
    _knowledge.test_a_policy_question_is_answered_with_its_source
)
test_a_resolved_request_gets_one_suggestion_with_its_reason = (
    _recommendations.test_a_resolved_request_gets_one_suggestion_with_its_reason
)
test_shown_suggestions_and_follow_ups_are_logged = (
    _recommendations.test_shown_suggestions_and_follow_ups_are_logged
)


def test_the_stack_is_the_one_under_test(bot: Assistant, scale: dict[str, Any]) -> None:
    """Guards the swap above: shop, sessions and events in PostgreSQL, knowledge on the server."""
    assert bot.engine.dialect.name == "postgresql"
    assert type(bot._checkpointer).__name__ == "PostgresSaver"
    assert bot.config.knowledge_location.startswith("http://")
    assert bot.recommender is not None and bot.recommender.redis_url == scale["redis"]
    reply = bot.respond("cancel #W4184032, I don't need it anymore", session_id="s1")
    bot.respond("ava.kovacs4827@example.com", session_id="s1")
    assert bot.respond("yes", session_id="s1").writes
    engine = create_engine(scale["postgres"])
    tables = set(inspect(engine).get_table_names())
    assert {"orders", "audit_log", "events", "checkpoints", "kefu_schema_version"} <= tables
    assert current(engine) == {head("shop")}
    with engine.connect() as conn:
        audit = conn.exec_driver_sql("SELECT tool, outcome FROM audit_log").all()
        threads = conn.exec_driver_sql("SELECT count(*) FROM checkpoints WHERE thread_id = 's1'").scalar()
    engine.dispose()
    assert ("cancel_pending_order", "done") in [tuple(r) for r in audit]
    assert threads and reply.session_id == "s1"
