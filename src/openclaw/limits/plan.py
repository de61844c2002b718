"""Turning ``services:`` and ``limits:`` into buckets, and naming every limit.

Each limit has an id, used in the 429's ``X-OpenClaw-Limit`` header, the audit record's
``limit`` field, the ``openclaw_rate_limit_blocked_total{limit_id}`` metric and ``gateway
status``: ``service:<name>:requests|tokens|concurrency``, ``model:<alias>:requests|tokens``,
``global:requests|tokens``, ``provider:<name>:requests`` and
``budget:<service>:usd_per_day|tokens_per_day``.

A request bucket holds ``burst`` requests (default: one minute's worth) and refills at
``requests_per_minute / 60`` per second; a token bucket holds ``tokens_per_minute``.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from openclaw.config import Config
from openclaw.config.schema import ModelsFile, QueueSettings, RateLimit, ServiceConfig
from openclaw.errors import ConfigError
from openclaw.pipeline.exchange import Exchange
from openclaw.state.base import Bucket
from openclaw.tokens import count_prompt, count_text, text_of

BUDGET_KEEP_SECONDS = 3 * 86400.0
GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True, slots=True)
class BucketSet:
    requests: Bucket | None
    tokens: Bucket | None
    queue: QueueSettings


def bucket_set(
    scope: str,
    rl: RateLimit | None,
    default_queue: QueueSettings,
    where: str,
    names: dict[str, str],
) -> BucketSet | None:
    if rl is None or (rl.requests_per_minute is None and rl.tokens_per_minute is None):
        return None
    req = tok = None
    if rl.requests_per_minute is not None:
        rpm = rl.requests_per_minute
        req = Bucket(f"{scope}:requests", rpm / 60.0, float(rl.burst or rpm))
        names[req.key] = f"{rpm} requests per minute ({where}.requests_per_minute)"
    if rl.tokens_per_minute is not None:
        tpm = rl.tokens_per_minute
        tok = Bucket(f"{scope}:tokens", tpm / 60.0, float(tpm))
        names[tok.key] = f"{tpm} tokens per minute ({where}.tokens_per_minute)"
    return BucketSet(req, tok, rl.queue or default_queue)


def provider_bucket(name: str, rpm: int) -> Bucket:
    return Bucket(f"provider:{name}:requests", rpm / 60.0, float(rpm))


def model_matches(alias: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(alias, p) for p in patterns)


def validate(config: Config) -> None:
    """Names in ``services:`` and ``limits:`` that must be model aliases, checked at load."""
    aliases = set(config.models.models)

    def need(alias: str, where: str) -> None:
        if alias not in aliases:
            known = ", ".join(sorted(aliases)) or "none"
            raise ConfigError(
                f"policies.yaml: {where}: '{alias}' is not a model alias in models.yaml "
                f"(known: {known})"
            )

    pol = config.policies
    for alias in pol.limits.models:
        need(alias, f"limits.models.{alias}")
    for svc in pol.services:
        for key in ("allow_models", "deny_models"):
            for pat in getattr(svc, key):
                if not GLOB_CHARS & set(pat):
                    need(pat, f"services[{svc.name}].{key}")
        if svc.budget is not None:
            if svc.budget.usd_per_day is None and svc.budget.tokens_per_day is None:
                raise ConfigError(
                    f"policies.yaml: services[{svc.name}].budget: set usd_per_day or "
                    "tokens_per_day (or remove the budget)"
                )
            to = svc.budget.downgrade_to
            if to is not None:
                need(to, f"services[{svc.name}].budget.on_exceed")
                denied = svc.deny_models and model_matches(to, svc.deny_models)
                if denied or (svc.allow_models and not model_matches(to, svc.allow_models)):
                    raise ConfigError(
                        f"policies.yaml: services[{svc.name}].budget.on_exceed: the service may "
                        f"not use '{to}' (its allow_models / deny_models), so a spent budget "
                        "could never be served there; allow it or downgrade elsewhere"
                    )


def counting_model(ex: Exchange, models: ModelsFile | None) -> str | None:
    """The provider model whose tokenizer counts the request: the alias's first deployment."""
    spec = models.models.get(ex.alias or "") if models is not None else None
    return spec.deployments[0].model if spec is not None and spec.deployments else None


def estimate_request_tokens(
    ex: Exchange, default_completion: int, models: ModelsFile | None = None
) -> tuple[int, int]:
    """(prompt estimate, total estimate) before the call: prompt plus the completion cap."""
    messages = ex.body.get("messages") or []
    prompt = count_prompt(
        messages if isinstance(messages, list) else [], counting_model(ex, models)
    )
    out = ex.body.get("max_completion_tokens") or ex.body.get("max_tokens")
    completion = out if isinstance(out, int) and out > 0 else default_completion
    n = ex.body.get("n")
    if isinstance(n, int) and n > 1:
        completion *= n
    return prompt, prompt + completion


def used_tokens(ex: Exchange, prompt_estimate: int) -> int:
    """Tokens the request really cost: the upstream's usage, else an estimate of what it sent.

    Nothing was spent when no upstream served the request (a cache hit, a deduplicated
    follower, a failure before any answer).
    """
    if ex.provider is None:
        return 0
    if ex.prompt_tokens is not None or ex.completion_tokens is not None:
        return (ex.prompt_tokens or 0) + (ex.completion_tokens or 0)
    if ex.stream:
        return prompt_estimate + (ex.chars_sent + 3) // 4
    choices = (ex.response or {}).get("choices") or [{}]
    first = choices[0] if isinstance(choices[0], dict) else {}
    msg = first.get("message") or {}
    return prompt_estimate + count_text(text_of(msg.get("content")), ex.provider_model)


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def budget_key(service: str) -> str:
    return f"{service}:{today()}"


def seconds_to_midnight() -> int:
    now = datetime.now(UTC)
    nxt = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((nxt - now).total_seconds()) + 1)


def service_summary(svc: ServiceConfig) -> dict[str, object]:
    out: dict[str, object] = {}
    if svc.allow_models:
        out["allow_models"] = svc.allow_models
    if svc.deny_models:
        out["deny_models"] = svc.deny_models
    if svc.rate_limit is not None:
        out["rate_limit"] = svc.rate_limit.model_dump(exclude_none=True)
    if svc.budget is not None:
        out["budget"] = svc.budget.model_dump(exclude_none=True)
    if svc.max_concurrent is not None:
        out["max_concurrent"] = svc.max_concurrent
    return out
