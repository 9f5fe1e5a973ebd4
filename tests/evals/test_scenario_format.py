"""The scenario file format: what loads, what is refused with a message that says where."""

from __future__ import annotations

from pathlib import Path

import pytest

from kefu.evals.scenarios import load_scenarios, select_scenarios

ONE = """
scenarios:
  - id: cancel_by_email
    user_id: ava_kovacs_3448
    description: cancels a pending order
    tags: [cancel, email_auth]
    turns: ["cancel my order", "ava.kovacs4827@example.com", "#W4184032", "dont need it anymore", "yes"]
    expect:
      actions:
        - name: cancel_pending_order
          args: {order_id: "#W4184032", reason: "no longer needed"}
  - id: status_only
    tags: [order_status]
    turns: ["where is my order"]
"""


def test_a_file_loads_with_defaults_filled_in(tmp_path: Path):
    (tmp_path / "mine.yaml").write_text(ONE, encoding="utf-8")
    first, second = load_scenarios([tmp_path])
    assert first.expect.actions[0].args == {"order_id": "#W4184032", "reason": "no longer needed"}
    assert second.expect.actions == [] and second.expect.handoff is False and second.user_id is None


def test_the_shipped_scenarios_load():
    scenarios = load_scenarios()
    assert len(scenarios) >= 90
    assert len({s.id for s in scenarios}) == len(scenarios)


@pytest.mark.parametrize(
    "body, message",
    [
        ("scenarios:\n  - id: x\n    turns: [hi]\n    expct: {}\n", "scenario x"),  # misspelt key
        ("scenarios:\n  - id: y\n    turns: []\n", "scenario y"),  # no turns
        ("scenarios:\n  - id: z\n    turns: [hi]\n    expect: {actions: [{name: cancel}]}\n", "scenario z"),
        ("- just a list\n", "holds a mapping"),
    ],
)
def test_a_bad_scenario_is_refused_naming_file_and_id(tmp_path: Path, body: str, message: str):
    path = tmp_path / "bad.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as err:
        load_scenarios([path])
    assert "bad.yaml" in str(err.value)


def test_duplicate_ids_and_missing_paths_are_refused(tmp_path: Path):
    (tmp_path / "a.yaml").write_text(ONE, encoding="utf-8")
    (tmp_path / "b.yml").write_text(ONE, encoding="utf-8")
    with pytest.raises(ValueError, match="duplicate scenario ids"):
        load_scenarios([tmp_path])
    with pytest.raises(FileNotFoundError):
        load_scenarios([tmp_path / "nowhere"])


def test_select_by_id_or_tag(tmp_path: Path):
    (tmp_path / "a.yaml").write_text(ONE, encoding="utf-8")
    scenarios = load_scenarios([tmp_path])
    assert [s.id for s in select_scenarios(scenarios, tags=["order_status"])] == ["status_only"]
    assert [s.id for s in select_scenarios(scenarios, ids=["cancel_by_email"])] == ["cancel_by_email"]
    assert len(select_scenarios(scenarios)) == 2
    with pytest.raises(ValueError, match="unknown scenario ids"):
        select_scenarios(scenarios, ids=["nope"])
