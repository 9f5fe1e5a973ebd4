"""The public API is what `kefu.__all__` lists; this test pins it so a change is a decision."""

import kefu


def test_public_names_are_pinned():
    assert sorted(kefu.__all__) == sorted(
        [
            "Assistant",
            "Config",
            "ConfigError",
            "EmbeddedBrain",
            "InvalidMessage",
            "KefuError",
            "Reply",
            "ScriptedChatModel",
            "ToolCallRecord",
            "ToolContext",
            "ToolDefinitionError",
            "__version__",
            "tool",
        ]
    )


def test_every_public_name_resolves():
    for name in kefu.__all__:
        assert getattr(kefu, name) is not None


def test_unknown_attribute_is_an_attribute_error():
    import pytest

    with pytest.raises(AttributeError):
        kefu.NoSuchThing  # noqa: B018
