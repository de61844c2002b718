"""What makes two requests "the same", and which requests may be answered from the cache.

The key is the SHA-256 of the routed model alias plus the request body in canonical form
(keys sorted), minus the fields that do not change the answer: ``model`` (replaced by the
alias the request was routed to, after policies), ``stream`` and ``stream_options`` (a
cached answer can be replayed either way), and ``user``, ``metadata``, ``store`` and
``service_tier`` (bookkeeping). Everything else, messages, tools, sampling parameters,
``seed``, ``n``, stays in.

A request is deterministic enough to cache when it sets ``temperature: 0`` or a ``seed``;
an embeddings request always is.
"""

from __future__ import annotations

import hashlib

import orjson

from openclaw.pipeline.exchange import Exchange

IGNORED_FIELDS = frozenset(
    {"model", "stream", "stream_options", "user", "metadata", "store", "service_tier"}
)
PII_RULE = "if_context_contains_pii_use_sensitive_model"


def deterministic(body: dict[str, object], api: str = "chat") -> bool:
    if api == "embeddings":
        return True  # the same input and model give the same vectors
    t = body.get("temperature")
    if isinstance(t, int | float) and not isinstance(t, bool) and t == 0:
        return True
    seed = body.get("seed")
    return isinstance(seed, int) and not isinstance(seed, bool)


def request_key(ex: Exchange) -> str:
    payload = {k: v for k, v in ex.body.items() if k not in IGNORED_FIELDS}
    raw = orjson.dumps(
        {"model": ex.alias, "request": payload},
        option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS,
    )
    return hashlib.sha256(raw).hexdigest()


def pii_routed(ex: Exchange) -> bool:
    """The PII policy moved this request (or marked it local-only)."""
    if ex.local_only:
        return True
    return any(d.rule == PII_RULE and d.outcome == "applied" for d in ex.decisions)
