"""Ingress APIs: each one a parser (its wire request -> the pipeline's chat body) and
renderers (the pipeline's chat response or chunks -> its wire response or event stream).

The pipeline speaks OpenAI Chat Completions inside; these modules are the only places that
know the Anthropic Messages and OpenAI Responses shapes. They are pure: no HTTP, no state
beyond one stream's renderer, so every translation is tested without a socket.
"""

from openclaw.ingress.common import APIS, check_alias_kind, with_heartbeat
from openclaw.ingress.embeddings import embedding_texts, has_token_input, parse_embeddings_request
from openclaw.ingress.messages import (
    count_tokens,
    parse_messages_request,
    render_messages_error,
    render_messages_response,
)
from openclaw.ingress.messages_stream import MessagesStream
from openclaw.ingress.responses import parse_responses_request, render_responses_response
from openclaw.ingress.responses_stream import ResponsesStream

__all__ = [
    "APIS",
    "MessagesStream",
    "ResponsesStream",
    "check_alias_kind",
    "count_tokens",
    "embedding_texts",
    "has_token_input",
    "parse_embeddings_request",
    "parse_messages_request",
    "parse_responses_request",
    "render_messages_error",
    "render_messages_response",
    "render_responses_response",
    "with_heartbeat",
]
