"""Who is calling: API keys for applications and operators, signed tokens for customers.

API keys travel as `X-API-Key: KEY` or `Authorization: Bearer KEY` (what the `openai` client sends).
A customer whom the host application already signed in is handed over as a customer token: a JWT
signed with HMAC-SHA256 (`alg: HS256`) with the shared `customer_token_secret`, so any JWT library
can make one. Claims: `sub` (the shop's customer id, required), `exp` (required), `aud` = "kefu"
(required), `iat`, `nbf` and `sid` (bind the token to one session id) optional.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from kefu.server.errors import ApiError
from kefu.server.settings import ApiKey, Role, ServerSettings

TOKEN_AUDIENCE = "kefu"
CUSTOMER_TOKEN_HEADER = "X-Kefu-Customer-Token"


@dataclass(frozen=True)
class Principal:
    """The holder of a valid API key."""

    name: str
    role: Role
    key_id: str
    """A short, non-secret fingerprint of the key (for logs and rate-limit buckets)."""
    rate_per_minute: int | None = None


def fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:12]


class KeyRing:
    """Looks a presented key up in constant time per candidate."""

    def __init__(self, keys: list[ApiKey]) -> None:
        self._by_digest: dict[bytes, ApiKey] = {}
        for k in keys:
            self._by_digest[hashlib.sha256(k.key.get_secret_value().encode()).digest()] = k

    def __bool__(self) -> bool:
        return bool(self._by_digest)

    def find(self, presented: str) -> Principal | None:
        digest = hashlib.sha256(presented.encode()).digest()
        for candidate, k in self._by_digest.items():
            if hmac.compare_digest(candidate, digest):
                return Principal(k.name, k.role, fingerprint(presented), k.rate_per_minute)
        return None


def presented_key(headers: Any) -> str | None:
    key = headers.get("x-api-key")
    if key:
        return str(key).strip()
    auth = headers.get("authorization") or ""
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def authenticate_key(keys: KeyRing, headers: Any, allowed: tuple[Role, ...]) -> Principal:
    key = presented_key(headers)
    if key is None:
        raise ApiError(
            401,
            "missing_api_key",
            "An API key is required: send it as 'X-API-Key: KEY' or 'Authorization: Bearer KEY'.",
        )
    principal = keys.find(key)
    if principal is None:
        raise ApiError(401, "invalid_api_key", "The API key is not valid.")
    if principal.role not in allowed:
        raise ApiError(
            403,
            "forbidden",
            f"A {principal.role} key cannot use this endpoint (it needs a {' or '.join(allowed)} key).",
        )
    return principal


# ---- customer tokens ------------------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_customer_token(
    secret: str | bytes,
    customer_id: str,
    *,
    ttl_s: int = 3600,
    session_id: str | None = None,
    now: float | None = None,
) -> str:
    """A customer token for `customer_id` (what the host application's back end does; any JWT library works too)."""
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {"sub": customer_id, "aud": TOKEN_AUDIENCE, "iat": issued, "exp": issued + ttl_s}
    if session_id is not None:
        claims["sid"] = session_id
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    key = secret.encode() if isinstance(secret, str) else secret
    sig = _b64(hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    return f"{header}.{payload}.{sig}"


@dataclass(frozen=True)
class CustomerClaims:
    customer_id: str
    session_id: str | None
    expires_at: int


def verify_customer_token(
    token: str, settings: ServerSettings, *, session_id: str | None, now: float | None = None
) -> CustomerClaims:
    """The verified claims, or `ApiError` 401/403 saying what is wrong with the token."""
    secret = settings.customer_token_secret
    if secret is None:
        raise ApiError(
            400, "customer_tokens_disabled", "This server accepts no customer tokens (no secret is set)."
        )

    def bad(why: str) -> ApiError:
        return ApiError(401, "invalid_customer_token", f"The customer token is not valid: {why}.")

    parts = token.strip().split(".")
    if len(parts) != 3 or not all(parts):
        raise bad("it must be a JWT of three dot-separated parts")
    try:
        header = json.loads(_unb64(parts[0]))
        claims = json.loads(_unb64(parts[1]))
        sig = _unb64(parts[2])
    except (ValueError, UnicodeDecodeError) as e:
        raise bad("it is not base64url-encoded JSON") from e
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise bad("only alg HS256 is accepted")
    expected = hmac.new(
        secret.get_secret_value().encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256
    ).digest()
    if not hmac.compare_digest(expected, sig):
        raise bad("the signature does not match")
    if not isinstance(claims, dict):
        raise bad("the payload must be a JSON object")
    t = int(now if now is not None else time.time())
    sub, exp, aud = claims.get("sub"), claims.get("exp"), claims.get("aud")
    if not isinstance(sub, str) or not sub or len(sub) > 64:
        raise bad("'sub' (the customer id) is missing")
    if aud != TOKEN_AUDIENCE and not (isinstance(aud, list) and TOKEN_AUDIENCE in aud):
        raise bad(f"'aud' must be {TOKEN_AUDIENCE!r}")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise bad("'exp' is missing")
    if exp <= t:
        raise bad("it has expired")
    iat = claims.get("iat", t)
    if not isinstance(iat, int | float) or exp - iat > settings.customer_token_max_ttl_s:
        raise bad("its lifetime is longer than the server allows")
    nbf = claims.get("nbf")
    if isinstance(nbf, int | float) and nbf > t + 30:
        raise bad("it is not valid yet")
    sid = claims.get("sid")
    if sid is not None and sid != session_id:
        raise ApiError(403, "token_session_mismatch", "The customer token was issued for another session.")
    return CustomerClaims(customer_id=sub, session_id=sid, expires_at=int(exp))
