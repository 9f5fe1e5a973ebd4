"""Plugin tools: typed functions with kefu's decorator, found by entry point, used in a conversation."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import kefu
from kefu import Assistant, Config, ToolDefinitionError

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "kefu-plugin-loyalty"


def test_schema_comes_from_hints_and_docstring():
    @kefu.tool(scopes=["orders:read"], timeout=3)
    def gift_message(order_id: str, message: str, font_size: int = 12) -> str:
        """Add a gift message to an order.

        Args:
            order_id: The order id, such as '#W0000000'.
            message: The text to print on the card.
            font_size: Point size of the text.
        """
        return "ok"

    schema = gift_message.args_model.model_json_schema()
    assert schema["required"] == ["order_id", "message"]
    assert schema["properties"]["message"]["description"] == "The text to print on the card."
    assert schema["properties"]["font_size"]["default"] == 12
    assert gift_message.spec.description == "Add a gift message to an order."
    assert not gift_message.spec.needs_confirmation


def test_write_scopes_need_confirmation_by_default():
    @kefu.tool(scopes=["orders:write"])
    def add_gift_wrap(order_id: str) -> str:
        """Gift-wrap an order."""
        return "wrapped"

    assert add_gift_wrap.spec.needs_confirmation


@pytest.mark.parametrize(
    "define",
    [
        lambda: kefu.tool()(lambda x: x),  # not a def with a docstring
        lambda: kefu.tool(scopes=["everything"]),
        lambda: kefu.tool(timeout=0),
    ],
)
def test_bad_decorator_use_fails_at_definition(define: Callable[[], object]):
    with pytest.raises(ToolDefinitionError):
        define()


def test_missing_docstring_hint_or_return_type_fails_at_definition():
    with pytest.raises(ToolDefinitionError, match="docstring"):

        @kefu.tool()
        def a(x: int) -> int:
            return x

    with pytest.raises(ToolDefinitionError, match="type hint"):

        @kefu.tool()
        def b(x) -> int:  # type: ignore[no-untyped-def]
            """Doc."""
            return 1

    with pytest.raises(ToolDefinitionError, match="return type"):

        @kefu.tool()
        def c(x: int):  # type: ignore[no-untyped-def]
            """Doc."""
            return x

    with pytest.raises(ToolDefinitionError, match="args"):

        @kefu.tool()
        def d(*xs: int) -> int:
            """Doc."""
            return 1


def test_unknown_plugin_name_is_a_clear_error(shop_url: str, tmp_path: Path):
    with pytest.raises(LookupError, match="not installed"):
        Assistant(Config(data_dir=tmp_path, shop={"database_url": shop_url}, tools={"plugins": ["nope"]}))


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Install the example plugin package into a private folder put on sys.path (the venv stays clean)."""
    target = tmp_path_factory.mktemp("plugins")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(EXAMPLE),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    sys.path.insert(0, str(target))
    yield target
    sys.path.remove(str(target))


def test_the_example_plugin_is_found_and_used_in_a_conversation(
    installed_example: Path, shop_url: str, tmp_path: Path
):
    from kefu.tools import discover_plugins

    assert "loyalty_points" in discover_plugins()
    bot = Assistant(
        Config(data_dir=tmp_path, shop={"database_url": shop_url}, tools={"plugins": ["loyalty_points"]})
    )
    first = bot.respond("how many loyalty points do I have?", session_id="s1")
    assert "email" in first.text.lower()  # orders:read scope: authenticate first
    reply = bot.respond("noah.brown7922@example.com", session_id="s1")
    assert "loyalty points" in reply.text
    assert reply.tool_calls[-1].name == "loyalty_points"
    bot.close()
