"""kefu.server: the assistant as an HTTP service (FastAPI), with the chat widget and operator console.

Needs the `server` extra: `pip install 'kefu[server]'`. Start it with `kefu serve`; embed it with
`create_app`. Hand a signed-in customer over with a token from `sign_customer_token`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kefu.server.app import create_app
    from kefu.server.auth import sign_customer_token, verify_customer_token
    from kefu.server.settings import ApiKey, ServerSettings

__all__ = ["ApiKey", "ServerSettings", "create_app", "sign_customer_token", "verify_customer_token"]

_LAZY = {
    "create_app": "kefu.server.app",
    "sign_customer_token": "kefu.server.auth",
    "verify_customer_token": "kefu.server.auth",
    "ApiKey": "kefu.server.settings",
    "ServerSettings": "kefu.server.settings",
}


def __getattr__(name: str) -> Any:
    """Names load on first use, so `kefu serve --help` does not import FastAPI."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kefu.server' has no attribute {name!r}")
