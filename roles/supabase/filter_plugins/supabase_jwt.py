"""Supabase's API keys: HS256 JSON Web Tokens signed with the project's JWT secret.

What docker/utils/generate-keys.sh in supabase/supabase does with openssl, in the standard library only, so that
the keys are made on the controller with no extra dependency:

    {{ supabase_jwt_secret | supabase_jwt('anon', iat) }}              -> "eyJhbGciOi..."
    {{ supabase_anon_key | supabase_jwt_claims(supabase_jwt_secret) }} -> {"role": "anon", ...} or {} if forged
"""

import base64
import hashlib
import hmac
import json
import time

HEADER = {"alg": "HS256", "typ": "JWT"}
# Upstream: exp = iat + 5 * 3600 * 24 * 365 (five 365-day years).
LIFETIME_SECONDS = 5 * 365 * 24 * 3600
ROLES = ("anon", "service_role")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _compact(obj) -> bytes:
    # The same bytes as upstream's printf'd JSON: no spaces, keys in insertion order.
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def supabase_jwt(secret, role, iat=None, lifetime_seconds=LIFETIME_SECONDS):
    """An HS256 JWT {"role": role, "iss": "supabase", "iat": iat, "exp": iat + lifetime} signed with secret."""
    secret = str(secret)
    if len(secret) < 32:
        raise ValueError("the JWT secret must be at least 32 characters long")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    iat = int(time.time()) if iat in (None, "") else int(iat)
    claims = {"role": role, "iss": "supabase", "iat": iat, "exp": iat + int(lifetime_seconds)}
    signing_input = _b64url(_compact(HEADER)) + "." + _b64url(_compact(claims))
    signature = hmac.new(secret.encode("utf-8"), signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + _b64url(signature)


def supabase_jwt_claims(token, secret):
    """The claims of token when it is an HS256 JWT whose signature verifies with secret; else {}."""
    try:
        header_b64, payload_b64, signature_b64 = str(token).split(".")
        header = json.loads(_b64url_decode(header_b64))
        if header.get("alg") != "HS256":
            return {}
        expected = hmac.new(str(secret).encode("utf-8"), f"{header_b64}.{payload_b64}".encode("ascii"),
                            hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _b64url_decode(signature_b64)):
            return {}
        claims = json.loads(_b64url_decode(payload_b64))
        return claims if isinstance(claims, dict) else {}
    except (ValueError, TypeError, UnicodeDecodeError):
        return {}


class FilterModule:
    def filters(self):
        return {"supabase_jwt": supabase_jwt, "supabase_jwt_claims": supabase_jwt_claims}
