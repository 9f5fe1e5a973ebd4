"""The shipped demo-shop scenarios, run through the scenario runner on fresh shops.

`make test` runs a fast subset covering every flow; the whole suite (109 conversations, a few
minutes) runs with `-m slow` and must pass at ≥ 90% with zero policy violations.
"""

from __future__ import annotations

import pytest

from kefu.evals.scenarios import ShopTemplate, embedded_assistant, load_scenarios, run_scenario, run_suite

FAST = [
    "cancel_terse_typo",
    "cancel_chatty_all_in_one",
    "cancel_name_zip_piecemeal",
    "cancel_declined_at_confirmation",
    "exchange_boots_size_gift_card",
    "exchange_changes_size_before_confirming",
    "return_chatty_all_in_one",
    "return_name_zip_original_card",
    "modify_items_two_items_one_call",
    "modify_address_corrects_zip",
    "modify_payment_chatty_mastercard",
    "user_address_corrects_apartment",
    "status_tracking_number_no_hash",
    "handoff_damaged_item_wants_manager",
    "refuse_cancel_partners_order",
    "refuse_second_exchange_same_order",
    "mixed_cancel_and_change_payment",
    "mixed_chatty_exchange_and_modify",
    "detour_never_mind_then_status",
    "detour_never_mind_before_confirming",
    "detour_items_by_position",
    "detour_complaint_then_person",
    "detour_new_address_is_read_back_for_confirmation",
    "detour_cancel_names_an_item_of_a_shipped_order",
    "detour_person_asked_while_a_return_waits_for_yes",
    "detour_questions_about_an_order_are_not_changes",
    "detour_suggestions_keep_their_reasons",
]
ALL = {s.id: s for s in load_scenarios()}


def test_the_shipped_scenarios_load_and_cover_every_flow():
    tags = {t for s in ALL.values() for t in s.tags}
    assert len(ALL) >= 60
    for flow in (
        "cancel",
        "return",
        "exchange",
        "modify_items",
        "modify_address",
        "modify_payment",
        "user_address",
        "status",
        "product_info",
        "handoff",
        "other_customer",
        "declined",
    ):
        assert any(flow in t for t in tags), flow


@pytest.mark.parametrize("scenario_id", FAST)
def test_fast_subset(scenario_id: str, shop_template: ShopTemplate):
    result = run_scenario(ALL[scenario_id], embedded_assistant, shop_template)
    assert result.passed, result.explain()


@pytest.mark.slow
def test_whole_suite_success_rate():
    suite = run_suite(list(ALL.values()), embedded_assistant)
    failed = [r.scenario.id for r in suite.results if not r.passed]
    assert suite.violations == 0
    assert suite.success_rate >= 0.9, failed


def test_the_runner_catches_a_wrong_write(shop_template: ShopTemplate):
    """A scenario whose expectation is wrong must fail: the runner compares real outcomes."""
    scenario = ALL["cancel_terse_typo"].model_copy(deep=True)
    scenario.expect.actions[0].args["reason"] = "ordered by mistake"
    result = run_scenario(scenario, embedded_assistant, shop_template)
    assert not result.passed
    assert any("writes" in f for f in result.failures)
