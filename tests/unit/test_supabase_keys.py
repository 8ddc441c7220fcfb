"""The supabase role's key filter: HS256 API keys as upstream's generate-keys.sh makes them."""

import base64
import hashlib
import hmac
import importlib.util
import json
from pathlib import Path

import pytest

PLUGIN = Path(__file__).resolve().parents[2] / "roles" / "supabase" / "filter_plugins" / "supabase_jwt.py"
_spec = importlib.util.spec_from_file_location("supabase_jwt", PLUGIN)
jwt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(jwt)

SECRET = "a" * 16 + "B" * 16 + "0123456789"
IAT = 1_764_000_000


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify(token, secret):
    """Independent HS256 check (not the plugin's own): the signature over header.payload."""
    header, payload, signature = token.split(".")
    expected = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return hmac.compare_digest(expected, b64url_decode(signature))


@pytest.mark.parametrize("role", ["anon", "service_role"])
def test_key_verifies_against_the_secret_and_carries_supabase_claims(role):
    token = jwt.supabase_jwt(SECRET, role, IAT)
    header, payload, _ = token.split(".")
    assert json.loads(b64url_decode(header)) == {"alg": "HS256", "typ": "JWT"}
    assert json.loads(b64url_decode(payload)) == {
        "role": role, "iss": "supabase", "iat": IAT, "exp": IAT + 5 * 365 * 24 * 3600,
    }
    assert verify(token, SECRET)
    assert "=" not in token  # base64url without padding


def test_same_bytes_as_upstreams_printf_json():
    # generate-keys.sh signs printf'd JSON without spaces, header first.
    token = jwt.supabase_jwt(SECRET, "anon", IAT)
    header, payload, _ = token.split(".")
    assert b64url_decode(header) == b'{"alg":"HS256","typ":"JWT"}'
    assert b64url_decode(payload) == (
        f'{{"role":"anon","iss":"supabase","iat":{IAT},"exp":{IAT + 157680000}}}'.encode()
    )


def test_a_wrong_secret_fails():
    token = jwt.supabase_jwt(SECRET, "service_role", IAT)
    assert not verify(token, SECRET + "x")
    assert jwt.supabase_jwt_claims(token, SECRET + "x") == {}
    assert jwt.supabase_jwt_claims(token, SECRET)["role"] == "service_role"


def test_a_tampered_payload_fails():
    token = jwt.supabase_jwt(SECRET, "anon", IAT)
    header, _, signature = token.split(".")
    forged_payload = base64.urlsafe_b64encode(
        json.dumps({"role": "service_role", "iss": "supabase", "iat": IAT, "exp": IAT + 1}).encode()
    ).rstrip(b"=").decode()
    assert jwt.supabase_jwt_claims(f"{header}.{forged_payload}.{signature}", SECRET) == {}
    assert jwt.supabase_jwt_claims("not-a-jwt", SECRET) == {}


def test_iat_defaults_to_now():
    claims = jwt.supabase_jwt_claims(jwt.supabase_jwt(SECRET, "anon"), SECRET)
    assert claims["exp"] - claims["iat"] == 5 * 365 * 24 * 3600
    assert claims["iat"] > IAT


@pytest.mark.parametrize("secret, role", [("short-secret", "anon"), (SECRET, "authenticated")])
def test_rejects_a_short_secret_or_an_unknown_role(secret, role):
    with pytest.raises(ValueError):
        jwt.supabase_jwt(secret, role, IAT)


def test_ansible_sees_the_filters():
    filters = jwt.FilterModule().filters()
    assert set(filters) == {"supabase_jwt", "supabase_jwt_claims"}
