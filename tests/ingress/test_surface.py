"""The ingress package's public surface is what the server wires; changing it is deliberate."""

from __future__ import annotations

import openclaw.ingress


def test_the_public_surface_is_fixed() -> None:
    assert sorted(openclaw.ingress.__all__) == [
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
    assert openclaw.ingress.APIS == ("chat", "messages", "responses", "embeddings")
