"""The embeddings ingress (``POST /v1/embeddings``): request validation and the texts to scan.

The wire format is OpenAI's on both sides, so the parser only checks what the adapters and
policies rely on and returns the body unchanged: ``input`` (a string, an array of strings, a
token array or an array of token arrays), ``encoding_format`` (``float`` or ``base64``),
``dimensions`` and ``user``. Token arrays are accepted here; an upstream that takes only text
(Ollama) refuses them with a 400 naming the provider. The PII policy reads
:func:`embedding_texts`; token arrays are opaque to it, which is why a policy that must see
the text should refuse them (see the report of issue 15).
"""

from __future__ import annotations

from typing import Any

from openclaw.ingress.common import Json, invalid, optional_int, require_object, require_str
from openclaw.providers.base import embedding_texts as embedding_texts  # re-exported
from openclaw.providers.base import has_token_input as has_token_input  # re-exported

MAX_INPUTS = 2048  # OpenAI's limit per request


def parse_embeddings_request(body: Any) -> Json:
    """Validate an embeddings body (400 naming the field); return it as the pipeline body."""
    body = require_object(body, "body")
    require_str(body.get("model"), "model")
    out: Json = body
    raw = body.get("input")
    if isinstance(raw, str):
        pass
    elif isinstance(raw, list) and raw:
        if len(raw) > MAX_INPUTS:
            raise invalid("input", f"holds {len(raw)} items; at most {MAX_INPUTS} per request")
        if not (
            _all(raw, str)
            or _all(raw, int)
            or all(isinstance(x, list) and x and _all(x, int) for x in raw)
        ):
            raise invalid(
                "input", "must be a string, an array of strings, or token arrays (integers)"
            )
    else:
        raise invalid("input", "must be a non-empty string or array")
    fmt = body.get("encoding_format")
    if fmt is not None and fmt not in ("float", "base64"):
        raise invalid("encoding_format", "must be 'float' or 'base64'")
    optional_int(body, "dimensions")
    if body.get("user") is not None:
        require_str(body["user"], "user", non_empty=False)
    return out


def _all(items: list[Any], kind: type) -> bool:
    return all(isinstance(x, kind) and not isinstance(x, bool) for x in items)
