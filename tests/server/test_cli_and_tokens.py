"""`kefu serve` as a command function, and customer tokens as any JWT library makes them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from kefu.server import ServerSettings, sign_customer_token, verify_customer_token
from kefu.server.errors import ApiError


def test_the_command_module_does_not_import_fastapi():
    code = "import sys, kefu.server.cli; print('fastapi' in sys.modules, 'uvicorn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_serve_mounts_as_a_typer_command():
    from kefu.server.cli import serve

    app = typer.Typer()
    app.command("serve")(serve)

    @app.command("other")
    def other() -> None:  # a second command, as in the kefu CLI, so `serve` is a sub-command
        pass

    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--demo", "--port", "--app-key", "--operator-key", "--server-config"):
        assert option in result.output


def test_a_token_is_a_standard_hs256_jwt():
    secret = "shared-secret-0123456789-abcdefghij"
    token = sign_customer_token(secret, "noah_brown_6181", ttl_s=600, session_id="s1", now=1_000_000)
    header, payload, sig = token.split(".")
    unb64 = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))  # noqa: E731
    assert json.loads(unb64(header)) == {"alg": "HS256", "typ": "JWT"}
    assert json.loads(unb64(payload)) == {
        "sub": "noah_brown_6181",
        "aud": "kefu",
        "iat": 1_000_000,
        "exp": 1_000_600,
        "sid": "s1",
    }
    expected = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert unb64(sig) == expected
    settings = ServerSettings(customer_token_secret=secret)
    claims = verify_customer_token(token, settings, session_id="s1", now=1_000_100)
    assert claims.customer_id == "noah_brown_6181" and claims.session_id == "s1"


def _forge(secret: str, claims: dict, alg: str = "HS256") -> str:
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
    head, body = enc({"alg": alg, "typ": "JWT"}), enc(claims)
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"


@pytest.mark.parametrize(
    ("claims", "alg", "why"),
    [
        ({"sub": "c", "aud": "kefu", "exp": 2_000_000}, "none", "HS256"),
        ({"aud": "kefu", "exp": 2_000_000}, "HS256", "sub"),
        ({"sub": "c", "exp": 2_000_000}, "HS256", "aud"),
        ({"sub": "c", "aud": "other", "exp": 2_000_000}, "HS256", "aud"),
        ({"sub": "c", "aud": "kefu"}, "HS256", "exp"),
        ({"sub": "c", "aud": "kefu", "exp": 999_999}, "HS256", "expired"),
        ({"sub": "c", "aud": "kefu", "iat": 1_000_000, "exp": 9_000_000}, "HS256", "lifetime"),
        ({"sub": "c", "aud": "kefu", "exp": 1_050_000, "nbf": 1_010_000}, "HS256", "not valid yet"),
    ],
)
def test_tokens_are_checked_claim_by_claim(claims, alg, why):
    secret = "shared-secret-0123456789-abcdefghij"
    settings = ServerSettings(customer_token_secret=secret)
    with pytest.raises(ApiError, match=why) as e:
        verify_customer_token(_forge(secret, claims, alg), settings, session_id=None, now=1_000_000)
    assert e.value.status == 401


def test_no_secret_no_tokens():
    with pytest.raises(ApiError) as e:
        verify_customer_token("a.b.c", ServerSettings(), session_id=None)
    assert e.value.status == 400


def test_short_api_keys_are_refused():
    with pytest.raises(ValueError, match="16 characters"):
        ServerSettings(api_keys=[{"key": "short", "role": "app"}])
