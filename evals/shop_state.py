"""Shops for evaluation: a demo shop built once and copied per conversation, and the state a list of
write actions must lead to (τ-bench's way of scoring: compare final databases, not transcripts)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kefu.tools.orders.store import OrderStore, ShopError

WRITE_TOOLS = frozenset(
    {
        "cancel_pending_order",
        "exchange_delivered_order_items",
        "modify_pending_order_address",
        "modify_pending_order_items",
        "modify_pending_order_payment",
        "modify_user_address",
        "return_delivered_order_items",
    }
)
"""The shop tools that change data; only these matter for the final state."""

_ADDRESS_WRITES = ("modify_pending_order_address", "modify_user_address")


@dataclass
class ShopTemplate:
    """A demo shop built once, copied for each scenario (a fresh shop costs a file copy)."""

    path: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="kefu-shop-")) / "shop.sqlite")

    def __post_init__(self) -> None:
        from sqlalchemy import create_engine

        from kefu.tools.orders.loader import load_shop

        engine = create_engine(f"sqlite:///{self.path}")
        load_shop(engine)
        engine.dispose()

    def fresh(self, directory: Path) -> str:
        """Copy the shop into `directory` and return its SQLAlchemy URL."""
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / "shop.sqlite"
        shutil.copyfile(self.path, target)
        return f"sqlite:///{target}"

    def remove(self) -> None:
        shutil.rmtree(self.path.parent, ignore_errors=True)


def snapshot(url: str) -> dict[str, Any]:
    """The whole shop at `url` in τ-bench's JSON shape (users and orders)."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        return OrderStore(engine).snapshot()
    finally:
        engine.dispose()


def replay(store: OrderStore, actions: Iterable[Mapping[str, Any]]) -> list[str]:
    """Apply the write actions ({name, args}) directly on `store`, as their owners; reads are skipped.

    Returns the errors of actions the shop refused (τ-bench's environment leaves the data unchanged
    then, and so does this).
    """
    errors = []
    for action in actions:
        name = str(action["name"])
        if name not in WRITE_TOOLS:
            continue
        args = dict(action.get("args", action.get("kwargs", {})))
        owner = (store.order_owner(args["order_id"]) if "order_id" in args else args.get("user_id")) or ""
        method = getattr(store, name)
        try:
            if name in _ADDRESS_WRITES:
                key = "order_id" if "order_id" in args else "user_id"
                ident = args.pop(key)
                method(ident, args, customer_id=owner)
            else:
                method(**args, customer_id=owner)
        except (ShopError, TypeError, KeyError) as e:
            errors.append(f"{name}: {e}")
    return errors


def expected_state(
    template: ShopTemplate, workdir: Path, actions: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """Replay `actions` on a fresh copy of the template: the state a conversation must reach."""
    from sqlalchemy import create_engine

    url = template.fresh(workdir / "expected")
    engine = create_engine(url)
    try:
        store = OrderStore(engine)
        replay(store, actions)
        return store.snapshot()
    finally:
        engine.dispose()
