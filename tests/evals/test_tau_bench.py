"""τ-bench tasks: the loader, and the runner with scripted models as both the customer and the agent."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kefu import ScriptedChatModel
from kefu.evals.scenarios import ShopTemplate
from kefu.evals.shop_state import expected_state, snapshot
from kefu.evals.tau_bench import STOP, load_tau_tasks, outcomes, parse_indices, run_tau_task, run_tau_tasks

TASK = {
    "task_index": 7,
    "annotator": "0",
    "user_id": "ava_kovacs_3448",
    "instruction": "You are Ava Kovacs (ava.kovacs4827@example.com). Cancel order #W4184032, you no longer need it. "
    "Ask how much you will get back.",
    "actions": [
        {"name": "find_user_id_by_email", "kwargs": {"email": "ava.kovacs4827@example.com"}},
        {"name": "get_order_details", "kwargs": {"order_id": "#W4184032"}},
        {"name": "cancel_pending_order", "kwargs": {"order_id": "#W4184032", "reason": "no longer needed"}},
    ],
    "outputs": ["cancelled"],
}
CANCEL = {"order_id": "#W4184032", "reason": "no longer needed"}
AGENT = [  # one brain step per model call: tool calls, then the reply of each customer turn
    {"tool": "find_user_id_by_email", "args": {"email": "ava.kovacs4827@example.com"}},
    {"tool": "cancel_pending_order", "args": CANCEL},
    "I can cancel #W4184032 (no longer needed). Shall I go ahead? Please say yes.",
    {"tool": "cancel_pending_order", "args": CANCEL},
    "Done: the order is cancelled, and the refund goes back to your payment method.",
]
CUSTOMER = [
    "Hi, I'm Ava, ava.kovacs4827@example.com. Please cancel order #W4184032, I no longer need it.",
    "yes",
    f"Thanks! {STOP}",
]


@pytest.fixture
def tasks_file(tmp_path: Path) -> Path:
    path = tmp_path / "tasks_test.json"
    path.write_text(json.dumps([TASK, {**TASK, "task_index": 8, "outputs": []}]), encoding="utf-8")
    return path


def test_the_loader_reads_tau_bench_task_files(tasks_file: Path):
    tasks = load_tau_tasks(tasks_file.parent)  # the folder: tasks_test.json inside
    assert [t.id for t in tasks] == ["test-7", "test-8"]
    task = tasks[0]
    assert task.user_id == "ava_kovacs_3448" and task.outputs == ["cancelled"]
    assert task.writes == [{"name": "cancel_pending_order", "args": CANCEL}]  # reads are not state
    assert [t.index for t in load_tau_tasks(tasks_file, indices="8")] == [8]
    assert parse_indices("0-2, 5") == {0, 1, 2, 5} and parse_indices("all") is None
    with pytest.raises(FileNotFoundError):
        load_tau_tasks(tasks_file.parent, split="dev")


def test_a_scripted_customer_and_agent_earn_the_reward(
    tasks_file: Path, shop_template: ShopTemplate, scripted: Callable[[list[Any]], Any]
):
    task = load_tau_tasks(tasks_file)[0]
    result = run_tau_task(task, scripted(AGENT), lambda t, trial: ScriptedChatModel(CUSTOMER), shop_template)
    assert result.error is None, result.error
    assert result.stop_reason == "customer stopped" and len(result.transcript) == 2
    assert result.state_ok and result.missing_outputs == [] and result.violations == []
    assert result.reward == 1.0 and result.passed
    assert result.writes == [{"name": "cancel_pending_order", "args": CANCEL}]
    assert result.as_dict()["transcript"][1]["customer"] == "yes"


def test_the_reward_is_zero_without_the_write_or_the_required_output(
    tasks_file: Path, shop_template: ShopTemplate, scripted: Callable[[list[Any]], Any]
):
    task = load_tau_tasks(tasks_file)[0]
    # The agent only looks the customer up and talks: the database never changes.
    lazy = scripted([{"tool": "find_user_id_by_email", "args": {"email": "ava.kovacs4827@example.com"}},
                     "Noted.", "Noted."])  # fmt: skip
    result = run_tau_task(task, lazy, lambda t, trial: ScriptedChatModel(CUSTOMER), shop_template)
    assert not result.state_ok and result.missing_outputs == ["cancelled"] and result.reward == 0.0


def test_a_failing_customer_model_scores_zero_and_the_run_goes_on(
    tasks_file: Path, shop_template: ShopTemplate, scripted: Callable[[list[Any]], Any]
):
    tasks = load_tau_tasks(tasks_file, indices=[8])
    broken = lambda task, trial: ScriptedChatModel([])  # noqa: E731 - raises at the first message
    results = run_tau_tasks(tasks, scripted(AGENT), broken, repeat=2, template=shop_template)
    assert len(results) == 2 and all(r.stop_reason == "error" and r.reward == 0.0 for r in results)
    assert "no more steps" in (results[0].error or "")
    assert outcomes(results) == {"test-8": [False, False]}


def test_the_real_tau_bench_tasks_load_and_their_gold_actions_replay(
    dataset: Callable[[str], Path], shop_template: ShopTemplate, tmp_path: Path
):
    tasks = load_tau_tasks(dataset("tau_bench_retail"), "test")
    assert len(tasks) == 115
    assert sum(bool(t.outputs) for t in tasks) == 37
    initial = snapshot(shop_template.fresh(tmp_path / "initial"))
    for task in tasks[:3]:  # exchanges and returns: the gold writes change the shop
        assert task.writes
        assert expected_state(shop_template, tmp_path / task.id, task.writes) != initial
