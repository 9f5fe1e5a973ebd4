"""The shop's order store and its 16 τ-bench-compatible tools."""

from kefu.tools.orders.loader import demo_shop_data, load_shop
from kefu.tools.orders.shop_tools import SHOP_TOOLS, WRITE_TOOLS
from kefu.tools.orders.store import CANCEL_REASONS, NotFound, OrderStore, ShopError

__all__ = [
    "CANCEL_REASONS",
    "SHOP_TOOLS",
    "WRITE_TOOLS",
    "NotFound",
    "OrderStore",
    "ShopError",
    "demo_shop_data",
    "load_shop",
]
