"""Fixtures for the knowledge-base tests: a small shop KB written into tmp_path, the shared MiniLM encoder, and
a guard that fails any attempt to reach a non-local network address."""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import ipaddress  # noqa: E402
import json  # noqa: E402
import socket  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

POLICY_MD = """\
# Store policy

Welcome to the Acme store policy. It applies to every order.

## Returns

- Delivered orders can be returned within 30 days.
- The refund goes to the original payment method.

## Shipping

### Express delivery

Express parcels arrive in one business day when ordered before noon.

### Standard delivery

Standard parcels arrive in three to five business days.
"""

FAQ = {
    "entries": [
        {
            "id": "gift-card-balance",
            "category": "gift cards",
            "question": "How do I check my gift card balance?",
            "answer": "Ask us with your card number and we will tell you how much credit is left on it.",
            "questions": ["How much money is left on my gift card?", "gift card credit remaining"],
        },
        {
            "id": "cancel-order",
            "category": "orders",
            "question": "How do I cancel an order?",
            "answer": "Pending orders can be cancelled; the money goes back to the card you paid with.",
            "questions": ["I want to cancel my purchase"],
        },
        {
            "id": "warranty",
            "category": "warranty",
            "question": "Do products have a warranty?",
            "answer": "Every appliance has a two year manufacturer warranty covering defects.",
            "questions": ["Is my toaster under warranty?"],
            "metadata": {"priority": 2},
        },
    ]
}

FAQ_CSV = """\
question,answer,category,questions
Can I pay with PayPal?,"Yes, PayPal and credit cards are accepted.",payment,Do you take paypal|Which payment methods work
"""

HELP_HTML = """\
<html><head><title>Help</title><style>body { color: red }</style></head>
<body>
<h1>Account help</h1>
<h2>Password reset</h2>
<p>Use the <b>forgot password</b> link on the sign-in page to receive a reset email.</p>
<script>console.log("not content")</script>
</body></html>
"""


def write_kb(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "policy.md").write_text(POLICY_MD, encoding="utf-8")
    (folder / "faq.json").write_text(json.dumps(FAQ), encoding="utf-8")
    (folder / "payments.csv").write_text(FAQ_CSV, encoding="utf-8")
    (folder / "help.html").write_text(HELP_HTML, encoding="utf-8")
    return folder


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    """A folder named "shop" holding policy.md, faq.json, payments.csv and help.html."""
    return write_kb(tmp_path / "shop")


@pytest.fixture(scope="session")
def minilm():
    """The process-wide MiniLM encoder, loaded once for the session."""
    from kefu.tools.knowledge import shared_encoder

    encoder = shared_encoder()
    encoder.encode(["warm up"])
    return encoder


def _is_local(address: object) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX paths
        return True
    host = str(address[0])
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Everything here must work offline: connecting anywhere but the loopback interface fails the test."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guard(address: object) -> None:
        if not _is_local(address):
            raise AssertionError(f"network access attempted: {address!r}")

    def connect(self: socket.socket, address: object) -> None:
        guard(address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        guard(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield
