"""Plain-language descriptions of shop objects, shared by confirmations and replies."""

from __future__ import annotations

from typing import Any


def money(x: float) -> str:
    return f"${x:,.2f}"


def options_text(options: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in options.items())


def item_text(item: dict[str, Any]) -> str:
    """'Mechanical Keyboard (switch type clicky, backlight RGB) – $184.09'."""
    opts = options_text(item.get("options", {}))
    name = item.get("name", "item")
    return f"{name} ({opts}) – {money(item['price'])}" if opts else f"{name} – {money(item['price'])}"


def payment_method_text(pm: dict[str, Any]) -> str:
    source = pm.get("source", "")
    if source == "credit_card":
        return f"{str(pm.get('brand', 'credit')).title()} card ending in {pm.get('last_four', '????')}"
    if source == "gift_card":
        balance = pm.get("balance")
        return f"gift card (balance {money(balance)})" if balance is not None else "gift card"
    if source == "paypal":
        return "PayPal account"
    return str(pm.get("id", "payment method"))


def address_text(a: dict[str, str]) -> str:
    line = ", ".join(p for p in (a.get("address1"), a.get("address2")) if p)
    return (
        f"{line}, {a.get('city', '')}, {a.get('state', '')} {a.get('zip', '')}, {a.get('country', '')}".strip(
            ", "
        )
    )


def refund_timing(pm_id: str) -> str:
    return "immediately" if pm_id.startswith("gift_card") else "within 5 to 7 business days"
