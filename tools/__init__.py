"""kefu.tools: what the brain can call: the shop's order tools, plugin tools, and their context."""

from kefu.tools.context import Deps, PendingAction, SessionFacts, ToolContext
from kefu.tools.orders import SHOP_TOOLS, WRITE_TOOLS, NotFound, OrderStore, ShopError, load_shop
from kefu.tools.plugins import KefuTool, ToolDefinitionError, ToolSpec, discover_plugins, load_plugins, tool

__all__ = [
    "SHOP_TOOLS",
    "WRITE_TOOLS",
    "Deps",
    "KefuTool",
    "NotFound",
    "OrderStore",
    "PendingAction",
    "SessionFacts",
    "ShopError",
    "ToolContext",
    "ToolDefinitionError",
    "ToolSpec",
    "discover_plugins",
    "load_plugins",
    "load_shop",
    "tool",
]
