"""Validation of the OpenAI Chat Completions request body.

Only what the gateway relies on is checked strictly (roles, content shapes, types of the
common sampling fields); unknown fields pass through to OpenAI-compatible upstreams, as the
OpenAI API grows faster than any gateway.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from openclaw.errors import InvalidRequest


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str | None = None
    messages: list[Message] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    n: int | None = Field(default=None, ge=1)  # above 1: the adapter decides
    seed: int | None = None
    stop: str | list[str] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    user: str | None = None


def validate_chat(body: Any, *, max_messages: int | None = None) -> None:
    """Raise a 400 naming the first bad field; the body itself is used as sent.

    ``max_messages`` (``security.max_messages``) is checked first, before any per-message
    work: 50,000 messages must not cost 50,000 validations and PII scans to refuse.
    """
    if not isinstance(body, dict):
        raise InvalidRequest("request body must be a JSON object", code="invalid_body")
    check_message_count(body.get("messages"), max_messages)
    try:
        ChatRequest.model_validate(body)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise InvalidRequest(f"{loc}: {err['msg']}", param=loc, code="invalid_value") from None


def check_message_count(messages: Any, max_messages: int | None, field: str = "messages") -> None:
    if max_messages is not None and isinstance(messages, list) and len(messages) > max_messages:
        raise InvalidRequest(
            f"{field}: {len(messages)} messages is more than the {max_messages} this gateway "
            "accepts (security.max_messages in policies.yaml)",
            param=field,
            code="too_many_messages",
        )
