"""Checks of an auth collection's OTP, MFA and login alert options, as PocketBase makes them.

Durations and the code length are checked only while the method is enabled
(a disabled method keeps whatever it had); mail templates always need a
subject and a body. MFA needs two methods to choose from: at least two of
password, OTP and OAuth2 enabled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keelbase.core.auth.options import AuthOptions, EmailTemplate
from keelbase.errors import field_error, required_error

MAX_DURATION = 86400


def _bounds(value: int, low: int, high: int | None) -> dict[str, Any] | None:
    if value == 0:
        return required_error()
    if value < low:
        return field_error(
            "validation_min_greater_equal_than_required",
            f"Must be no less than {low}.",
            {"threshold": low},
        )
    if high is not None and value > high:
        return field_error(
            "validation_max_less_equal_than_required",
            f"Must be no greater than {high}.",
            {"threshold": high},
        )
    return None


def _template(template: EmailTemplate) -> dict[str, Any]:
    return {name: required_error() for name in ("body", "subject") if not getattr(template, name)}


def check_factor_options(
    options: AuthOptions, rule_error: Callable[[str], str | None], errors: dict[str, Any]
) -> None:
    """Add to ``errors`` what is wrong with ``otp``, ``mfa`` and ``authAlert``.

    As in PocketBase, the values themselves are checked first; only when they
    are all fine are MFA's method count and then its rule checked (one error).
    ``rule_error`` says why a rule cannot be compiled for this collection, or ``None``.
    """
    found: dict[str, Any] = {}
    otp: dict[str, Any] = {}
    if options.otp.enabled:
        for name, problem in (
            ("duration", _bounds(options.otp.duration, 10, MAX_DURATION)),
            ("length", _bounds(options.otp.length, 4, None)),
        ):
            if problem:
                otp[name] = problem
    if template_errors := _template(options.otp.emailTemplate):
        otp["emailTemplate"] = template_errors
    if otp:
        found["otp"] = otp
    if options.mfa.enabled and (problem := _bounds(options.mfa.duration, 10, MAX_DURATION)):
        found["mfa"] = {"duration": problem}
    if template_errors := _template(options.authAlert.emailTemplate):
        found["authAlert"] = {"emailTemplate": template_errors}
    if found or not options.mfa.enabled:
        errors.update(found)
        return
    methods = [options.passwordAuth.enabled, options.otp.enabled, options.oauth2.enabled]
    if sum(methods) < 2:
        errors["mfa"] = {
            "enabled": field_error(
                "validation_mfa_not_enough_auths",
                "MFA requires at least 2 auth methods to be enabled.",
            )
        }
    elif options.mfa.rule.strip() and (reason := rule_error(options.mfa.rule)):
        errors["mfa"] = {
            "rule": field_error("validation_invalid_rule", f"Invalid rule. Raw error: {reason}.")
        }
