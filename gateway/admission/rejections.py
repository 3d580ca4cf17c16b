"""Admission's refusals: the caller's error, shared by the native core and the reference.

Plain Python (httptools keeps its errors apart the same way): building one is off the fast path.
Messages follow OpenAI's wording and say what to do next.
"""

from __future__ import annotations

import time
from typing import Any

from ..errors import GatewayError
from .budgets import resets_at
from .spec import BudgetSpec, LimitSpec


class Rejection(GatewayError):
    """Admission said no: the caller's error, plus what the call log needs to know about it."""

    __slots__ = ("consumer", "limit_scope")

    def __init__(self, *error: Any, limit_scope: str = ""):
        super().__init__(*error)  # status, type, code, message[, param, retry_after_s]
        # What refused the call: the scope of the limit or budget (spec.SCOPES), "pool" when no
        # upstream key could serve, "" for any other refusal.
        self.limit_scope = limit_scope
        # (key id, tenant, app) of the consumer refused, once its key was known: for the call log.
        self.consumer: tuple[str, str, str] | None = None


def missing_key() -> Rejection:
    return Rejection(
        401,
        "invalid_request_error",
        "missing_api_key",
        "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY' "
        "(or in an 'api-key' or 'x-api-key' header).",
    )


def invalid_key() -> Rejection:
    return Rejection(
        401,
        "invalid_request_error",
        "invalid_api_key",
        "Incorrect API key provided. Check the key, or create one with 'aigw keys create --app NAME'; "
        "revoked keys stop working at once.",
    )


def key_expired(message: str) -> Rejection:
    return Rejection(401, "invalid_request_error", "expired_api_key", message)


def key_used_up(message: str) -> Rejection:
    return Rejection(401, "invalid_request_error", "api_key_used_up", message)


def network_not_allowed(client: str | None) -> Rejection:
    return Rejection(
        403,
        "permission_error",
        "network_not_allowed",
        f"This API key may not be used from {client or 'this address'}.",
    )


def not_subscribed(service: str, tenant: str, app: str, refusal: str | None) -> Rejection:
    return Rejection(
        403,
        "permission_error",
        "subscription_required",
        refusal
        or f"App '{tenant}/{app}' has no subscription to service '{service}'. Subscribe to it first "
        "(POST /admin/subscriptions, or 'aigw subscriptions create').",
        "model",
    )


def unknown_route(method: str, path: str) -> Rejection:
    return Rejection(
        404,
        "invalid_request_error",
        "unknown_url",
        f"Unknown request URL: {method} {path}. Please check the URL for typos.",
    )


def wrong_method(method: str, path: str) -> Rejection:
    return Rejection(
        405,
        "invalid_request_error",
        "method_not_allowed",
        f"Not allowed to {method} on {path}. Please check the method for typos.",
    )


def unknown_model(model: str) -> Rejection:
    return Rejection(
        404,
        "invalid_request_error",
        "model_not_found",
        f"The model '{model}' does not exist or you do not have access to it. "
        "GET /v1/models lists the models this key may call.",
        "model",
    )


PERIOD_NAMES = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}


def rate_limited(limit: LimitSpec, wait_ns: int) -> Rejection:
    wait = wait_ns / 1e9
    per = PERIOD_NAMES.get(limit.period_s, f"{limit.period_s}s")
    return Rejection(
        429,
        limit.kind,
        "rate_limit_exceeded",
        f"Rate limit reached for {limit.name} on {limit.kind} per {per}: limit {limit.amount}. "
        f"Please try again in {wait:.3g}s.",
        None,
        wait,
        limit_scope=limit.scope,
    )


# Every key of a pool is rate-limited: the one pool refusal that ends at a time the provider gave
# (gateway/keypool/causes.py names the others).
POOL_RATE_LIMITED = "upstream_capacity_exhausted"


def pool_exhausted(group: str, wait_ns: int) -> Rejection:
    wait = wait_ns / 1e9
    return Rejection(
        429,
        "rate_limit_error",
        POOL_RATE_LIMITED,
        f"Every upstream key serving model '{group}' is rate-limited by its provider. "
        f"Please try again in {wait:.3g}s.",
        None,
        wait,
        limit_scope="pool",
    )


_BUDGET_KINDS = {"requests": "request", "tokens": "token", "cost": "cost"}
_BUDGET_PERIODS = {"day": "Daily", "month": "Monthly", "lifetime": "Lifetime"}


def budget_amount(kind: str, amount: int) -> str:
    """`1,000,000 tokens`, `100 requests`, `$50.00`, `$0.0025` (cost amounts are micro-USD)."""
    if kind == "cost":
        return f"${amount / 1e6:,.2f}" if amount >= 10_000 else f"${amount / 1e6:.6f}".rstrip("0")
    return f"{amount:,} {kind}"


def budget_exhausted(budget: BudgetSpec, index: int, wall_s: int) -> Rejection:
    """`budget` is used up for period `index` (gateway/admission/budgets.py)."""
    reset = resets_at(budget.period, index)
    amount = budget_amount(budget.kind, budget.amount)
    what = f"{_BUDGET_PERIODS[budget.period]} {_BUDGET_KINDS[budget.kind]} budget of {budget.name} ({amount})"
    if reset is None:
        return Rejection(
            429,
            "insufficient_quota",
            "budget_exceeded",
            f"{what} is used up; it does not reset. Ask the operator to raise it.",
            limit_scope=budget.scope,
        )
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(reset))
    return Rejection(
        429,
        "insufficient_quota",
        "budget_exceeded",
        f"{what} is used up; resets {when}.",
        None,
        float(max(1, reset - wall_s)),
        limit_scope=budget.scope,
    )
