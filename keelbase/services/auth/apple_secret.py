"""Sign in with Apple's client secret: an ES256 JWT signed with your Apple key.

Apple has no static client secret: the app signs a short JWT (issuer your
team id, subject the Services ID, audience Apple) with the ``.p8`` key from
its developer account, valid at most six months (15777000 seconds). This
makes one, as PocketBase's ``POST /api/settings/apple/generate-client-secret``
does, so that the dashboard can fill the provider's ``clientSecret``. The key
is used for this request only: never stored, never logged.
"""

from __future__ import annotations

import re
import time
from typing import Any

from keelbase.errors import MSG_LOAD, BadRequestError, field_error, required_error

MSG_INVALID = "Invalid client secret data."
MSG_FAILED = "Failed to generate client secret. Raw error: \n"
MAX_DURATION = 15_777_000
AUDIENCE = "https://appleid.apple.com"
PRIVATE_KEY = re.compile(r"-----BEGIN PRIVATE KEY----[\s\S]+-----END PRIVATE KEY-----")
TEXT_FIELDS = ("clientId", "teamId", "keyId", "privateKey")


def generate_apple_client_secret(body: dict[str, Any]) -> str:
    """The signed secret; a 400 in PocketBase's words for a bad form or an unusable key."""
    form = _read(body)
    errors = _errors(form)
    if errors:
        raise BadRequestError(MSG_INVALID, errors)
    return _sign(form)


def _read(body: dict[str, Any]) -> dict[str, Any]:
    """The form's typed values: text as text, ``duration`` a whole number (form posts
    send it as digits); any other type is the load error, as PocketBase's binding."""
    form: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            raise BadRequestError(MSG_LOAD)
        form[name] = value or ""
    duration = body.get("duration")
    if isinstance(duration, str) and re.fullmatch(r"-?\d{1,18}", duration.strip()):
        duration = int(duration)
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, int)):
        raise BadRequestError(MSG_LOAD)
    form["duration"] = duration or 0
    return form


def _errors(form: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    if not form["clientId"]:
        errors["clientId"] = required_error()
    for name in ("teamId", "keyId"):
        if not form[name]:
            errors[name] = required_error()
        elif len(form[name]) != 10:
            errors[name] = field_error(
                "validation_length_invalid",
                "The length must be exactly 10.",
                {"max": 10, "min": 10},
            )
    if not form["privateKey"]:
        errors["privateKey"] = required_error()
    elif not PRIVATE_KEY.search(form["privateKey"]):
        errors["privateKey"] = field_error("validation_match_invalid", "Must be in a valid format.")
    duration = form["duration"]
    if not duration:
        errors["duration"] = required_error()
    elif duration < 1:
        errors["duration"] = field_error(
            "validation_min_greater_equal_than_required",
            "Must be no less than 1.",
            {"threshold": 1},
        )
    elif duration > MAX_DURATION:
        errors["duration"] = field_error(
            "validation_max_less_equal_than_required",
            f"Must be no greater than {MAX_DURATION}.",
            {"threshold": MAX_DURATION},
        )
    return errors


def _sign(form: dict[str, Any]) -> str:
    # cryptography and joserfc load on the first use of this rare endpoint
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from joserfc import jwt
    from joserfc.jwk import ECKey

    try:
        key = load_pem_private_key(form["privateKey"].strip().encode(), password=None)
    except (ValueError, TypeError) as error:
        raise BadRequestError(
            MSG_FAILED + "invalid key: Key must be a PEM encoded PKCS1 or PKCS8 key."
        ) from error
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise BadRequestError(MSG_FAILED + "key is not a valid ECDSA private key.")
    if not isinstance(key.curve, ec.SECP256R1):
        raise BadRequestError(MSG_FAILED + "key is invalid.")
    now = int(time.time())
    claims = {
        "iss": form["teamId"],
        "sub": form["clientId"],
        "aud": [AUDIENCE],
        "exp": now + form["duration"],
        "iat": now,
    }
    header = {"alg": "ES256", "kid": form["keyId"], "typ": "JWT"}
    return jwt.encode(header, claims, ECKey.import_key(key), algorithms=["ES256"])
