"""The server's own settings: API keys, the customer-token secret, limits, the console store.

They sit beside the assistant's `Config` (which says how to answer) and say who may call the service
and how much. From `KEFU_SERVER_*` environment variables (JSON for lists), a YAML file, or code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Role = Literal["app", "widget", "operator"]
"""`app`: the shop's back end (secret key, every customer endpoint and the OpenAI-compatible one).
`widget`: a publishable key that ships in the shop's pages (customer endpoints only, limited per client).
`operator`: people in the console (queue, take over, reply, hand back, analytics)."""


_DEFAULT_RATES: dict[Role, int] = {"app": 1200, "widget": 60, "operator": 600}


class ApiKey(BaseModel):
    """One key the calling application (or an operator) presents as `X-API-Key` or `Authorization: Bearer`."""

    key: SecretStr
    name: str = "default"
    """Who holds it: shown in logs and, for operators, to the customer's conversation record."""
    role: Role = "app"
    rate_per_minute: int | None = Field(default=None, gt=0)
    """Requests per minute for this key (per client address for widget keys); default by role."""

    @field_validator("key")
    @classmethod
    def _long_enough(cls, v: SecretStr) -> SecretStr:
        if len(v.get_secret_value()) < 16:
            raise ValueError("an API key must be at least 16 characters")
        return v


class ServerSettings(BaseSettings):
    """Everything the HTTP service needs besides the assistant's own `Config`."""

    model_config = SettingsConfigDict(env_prefix="KEFU_SERVER_", env_nested_delimiter="__", extra="forbid")

    api_keys: list[ApiKey] = Field(default_factory=list)
    customer_token_secret: SecretStr | None = None
    """HMAC-SHA256 secret shared with the host application to sign customer tokens (32+ bytes)."""
    customer_token_max_ttl_s: int = Field(default=24 * 3600, gt=0)
    """Tokens whose lifetime (exp - iat) is longer than this are refused."""
    store_url: str | None = None
    """SQLAlchemy URL of the console store (hand-offs, transcript, ratings, idempotency keys); default: the
    shop's database when that is not SQLite (replicas share it), else DATA_DIR/console.sqlite."""
    max_body_bytes: int = Field(default=64 * 1024, gt=0)
    rate_per_minute: dict[Role, int] = Field(default_factory=lambda: dict(_DEFAULT_RATES))
    rate_burst: int = Field(default=20, gt=0)
    """Requests a key may make at once before the per-minute rate applies."""
    max_concurrent_turns: int = Field(default=8, gt=0)
    """Turns computed at the same time (worker threads); further turns wait on the event loop."""
    drain_timeout_s: float = Field(default=30.0, ge=0)
    """On shutdown, how long to wait for turns in flight to finish."""
    cors_origins: list[str] = Field(default_factory=list)
    """Origins of shop pages that embed the widget from another host."""
    demo_page: bool = False
    """Serve `/demo`, a demo shop page carrying the widget (with the first widget key)."""
    public_url: str | None = None
    """Base URL the widget script should call, when it differs from where the script is served."""

    @classmethod
    def load(cls, source: str | Path | dict[str, Any] | None = None) -> ServerSettings:
        if source is None:
            return cls()
        if isinstance(source, dict):
            return cls(**source)
        data = yaml.safe_load(Path(source).read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{source}: the server config file must hold a mapping")
        return cls(**data)

    def keys_of(self, role: Role) -> list[ApiKey]:
        return [k for k in self.api_keys if k.role == role]
