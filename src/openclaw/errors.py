"""One exception hierarchy for the whole gateway.

Every error that can reach a client is an :class:`OpenClawError`. It carries the HTTP status,
the OpenAI error ``type`` and ``code``, and an optional ``param``. The server renders it with
one middleware (``openclaw.server.middleware``) and the CLI turns it into a one-line
``ClickException``. Messages never contain secrets: callers pass names of things, not values.
"""

from __future__ import annotations

from typing import Any


class OpenClawError(Exception):
    status: int = 500
    type: str = "server_error"
    code: str | None = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.headers: dict[str, str] = dict(headers or {})

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


class InvalidRequest(OpenClawError):
    status = 400
    type = "invalid_request_error"
    code = "invalid_request"


class ContextLengthExceeded(InvalidRequest):
    code = "context_length_exceeded"


class AuthenticationError(OpenClawError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class PermissionDenied(OpenClawError):
    status = 403
    type = "permission_error"
    code = "forbidden"


class PolicyViolation(PermissionDenied):
    type = "policy_violation"
    code = "policy_violation"


class NotFound(OpenClawError):
    status = 404
    type = "invalid_request_error"
    code = "not_found"


class ModelNotFound(NotFound):
    code = "model_not_found"


class Conflict(OpenClawError):
    status = 409
    type = "invalid_request_error"
    code = "conflict"


class PayloadTooLarge(OpenClawError):
    status = 413
    type = "invalid_request_error"
    code = "request_too_large"


class RateLimited(OpenClawError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"


class UpstreamError(OpenClawError):
    """The provider answered with an error or something we could not read."""

    status = 502
    type = "upstream_error"
    code = "upstream_error"

    def __init__(
        self,
        message: str,
        *,
        upstream_status: int | None = None,
        retryable: bool = True,
        retry_after: float | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)
        self.upstream_status = upstream_status
        self.retryable = retryable
        self.retry_after = retry_after


class UpstreamConnectError(UpstreamError):
    code = "upstream_unreachable"


class UpstreamTimeout(UpstreamError):
    status = 504
    type = "timeout_error"
    code = "upstream_timeout"


class ServiceUnavailable(OpenClawError):
    status = 503
    type = "service_unavailable"
    code = "service_unavailable"


class ConfigError(OpenClawError):
    """A config file is broken. The message names the file, line, key and a fix."""

    status = 500
    type = "config_error"
    code = "config_error"


class ProviderNotConfigured(UpstreamError):
    """A provider lacks what it needs (e.g. an unset key variable). Not retryable."""

    code = "provider_not_configured"
