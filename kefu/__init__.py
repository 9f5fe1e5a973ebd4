"""kefu (客服): an open-source framework for AI customer-service assistants.

The public API is what `__all__` lists; everything else may change without notice. Names load
lazily, so `import kefu` stays fast and a CLI `--version` does not import LangChain.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from kefu._version import __version__

if TYPE_CHECKING:
    from kefu.agents.brains.embedded import EmbeddedBrain
    from kefu.agents.brains.scripted import ScriptedChatModel
    from kefu.assistant import Assistant
    from kefu.config import Config
    from kefu.errors import ConfigError, InvalidMessage, KefuError
    from kefu.reply import Reply, ToolCallRecord
    from kefu.tools.context import ToolContext
    from kefu.tools.plugins import ToolDefinitionError, tool

__all__ = [
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

_LAZY = {
    "Assistant": "kefu.assistant",
    "Config": "kefu.config",
    "ConfigError": "kefu.errors",
    "InvalidMessage": "kefu.errors",
    "KefuError": "kefu.errors",
    "Reply": "kefu.reply",
    "ToolCallRecord": "kefu.reply",
    "ScriptedChatModel": "kefu.agents.brains.scripted",
    "EmbeddedBrain": "kefu.agents.brains.embedded",
    "ToolContext": "kefu.tools.context",
    "ToolDefinitionError": "kefu.tools.plugins",
    "tool": "kefu.tools.plugins",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kefu' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
