"""The OpenAPI description of the gateway's own HTTP API (``GET /openapi.json``, token needed).

Request bodies are described as far as the gateway itself checks them; each model API also
accepts the fields of its upstream API that are not listed. Every error answers in the API's
own error shape (OpenAI's ``{"error": {...}}``; Anthropic's on ``/v1/messages``). A test
keeps this document and the app's router from drifting apart, and the fuzz test
(``tests/server/test_fuzz.py``) generates requests from it.
"""

from __future__ import annotations

from typing import Any

from openclaw import __version__

Json = dict[str, Any]

OPENAI_ERROR: Json = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "param", "code"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
        }
    },
}
ANTHROPIC_ERROR: Json = {
    "type": "object",
    "required": ["type", "error"],
    "properties": {
        "type": {"const": "error"},
        "error": {
            "type": "object",
            "required": ["type", "message"],
            "properties": {"type": {"type": "string"}, "message": {"type": "string"}},
        },
    },
}
MESSAGE: Json = {
    "type": "object",
    "required": ["role"],
    "properties": {
        "role": {"enum": ["system", "developer", "user", "assistant", "tool"]},
        "content": {"type": ["string", "null"]},
        "name": {"type": "string"},
    },
}


def _errors(shape: Json, *statuses: int) -> Json:
    return {
        str(s): {"description": "error", "content": {"application/json": {"schema": shape}}}
        for s in statuses
    }


def _json_body(schema: Json) -> Json:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _ok(description: str = "OK") -> Json:
    return {"200": {"description": description}}


MODEL_ERRORS = (400, 401, 403, 404, 408, 413, 429, 502, 503, 504)
CHAT_BODY: Json = {
    "type": "object",
    "required": ["messages"],
    "properties": {
        "model": {"type": "string"},
        "messages": {"type": "array", "minItems": 1, "items": MESSAGE},
        "stream": {"type": "boolean"},
        "temperature": {"type": "number", "minimum": 0, "maximum": 2},
        "max_tokens": {"type": "integer", "minimum": 1},
        "n": {"type": "integer", "minimum": 1},
        "user": {"type": "string"},
        "stop": {"type": ["string", "array"]},
    },
}
MESSAGES_BODY: Json = {
    "type": "object",
    "required": ["model", "messages", "max_tokens"],
    "properties": {
        "model": {"type": "string"},
        "max_tokens": {"type": "integer", "minimum": 1},
        "system": {"type": ["string", "array"]},
        "messages": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["role", "content"],
                "properties": {
                    "role": {"enum": ["user", "assistant"]},
                    "content": {"type": ["string", "array"]},
                },
            },
        },
        "stream": {"type": "boolean"},
    },
}
RESPONSES_BODY: Json = {
    "type": "object",
    "required": ["input"],
    "properties": {
        "model": {"type": "string"},
        "input": {"type": ["string", "array"]},
        "instructions": {"type": "string"},
        "stream": {"type": "boolean"},
        "max_output_tokens": {"type": "integer", "minimum": 1},
    },
}
EMBEDDINGS_BODY: Json = {
    "type": "object",
    "required": ["model", "input"],
    "properties": {
        "model": {"type": "string"},
        "input": {"type": ["string", "array"]},
        "encoding_format": {"enum": ["float", "base64"]},
        "dimensions": {"type": "integer", "minimum": 1},
    },
}
NAME: Json = {
    "name": "name",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$"},
}


def document() -> Json:
    """The OpenAPI 3.1 document for this version of the gateway."""
    get_ok = {"responses": {**_ok(), **_errors(OPENAI_ERROR, 401, 403)}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "OpenClaw gateway", "version": __version__},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/healthz": {"get": {"security": [], "responses": _ok("alive")}},
            "/readyz": {"get": get_ok},
            "/openapi.json": {"get": get_ok},
            "/metrics": {"get": get_ok},
            "/v1/models": {"get": get_ok},
            "/v1/models/{model_id}": {
                "get": {
                    "parameters": [
                        {
                            "name": "model_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {**_ok(), **_errors(OPENAI_ERROR, 401, 403, 404)},
                }
            },
            "/v1/chat/completions": {
                "post": {
                    "requestBody": _json_body(CHAT_BODY),
                    "responses": {**_ok(), **_errors(OPENAI_ERROR, *MODEL_ERRORS)},
                }
            },
            "/v1/messages": {
                "post": {
                    "requestBody": _json_body(MESSAGES_BODY),
                    "responses": {**_ok(), **_errors(ANTHROPIC_ERROR, *MODEL_ERRORS)},
                }
            },
            "/v1/messages/count_tokens": {
                "post": {
                    "requestBody": _json_body(MESSAGES_BODY),
                    "responses": {**_ok(), **_errors(ANTHROPIC_ERROR, 400, 401, 403, 404, 413)},
                }
            },
            "/v1/responses": {
                "post": {
                    "requestBody": _json_body(RESPONSES_BODY),
                    "responses": {**_ok(), **_errors(OPENAI_ERROR, *MODEL_ERRORS)},
                }
            },
            "/v1/embeddings": {
                "post": {
                    "requestBody": _json_body(EMBEDDINGS_BODY),
                    "responses": {**_ok(), **_errors(OPENAI_ERROR, *MODEL_ERRORS)},
                }
            },
            "/v1/openclaw/status": {"get": get_ok},
            "/v1/openclaw/channels": {"get": get_ok},
            "/v1/skills": {"get": get_ok},
            "/v1/skills/{name}": {
                "get": {
                    "parameters": [NAME],
                    "responses": {**_ok(), **_errors(OPENAI_ERROR, 400, 401, 403, 404)},
                }
            },
            "/v1/skills/{name}/run": {
                "post": {
                    "parameters": [NAME],
                    "requestBody": _json_body(
                        {"type": "object", "properties": {"inputs": {"type": "object"}}}
                    ),
                    "responses": {
                        **_ok(),
                        **_errors(OPENAI_ERROR, 400, 401, 403, 404, 409, 422, 429, 502, 503),
                    },
                }
            },
            "/v1/dashboard/login-link": {
                "post": {"responses": {**_ok(), **_errors(OPENAI_ERROR, 401, 403)}}
            },
        },
    }
