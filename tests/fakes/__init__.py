"""Fake provider upstreams: real wire formats on loopback, with fault injection.

Three small aiohttp apps stand in for the real APIs. Point an adapter, the gateway or an
official SDK at ``fake.url``; nothing leaves 127.0.0.1. Import as ``from fakes import ...``
(the root ``tests/conftest.py`` puts ``tests/`` on ``sys.path``).

=====================  ===============================================  ==========================
class                  endpoints                                        ``.url``
=====================  ===============================================  ==========================
``OpenAIUpstream``     POST /v1/chat/completions, GET /v1/models,       ``http://127.0.0.1:P/v1``
                       POST /v1/embeddings
``AnthropicUpstream``  POST /v1/messages, GET /v1/models                ``http://127.0.0.1:P``
``OllamaUpstream``     POST /api/chat, GET /api/tags, POST /api/embed   ``http://127.0.0.1:P``
=====================  ===============================================  ==========================

Embeddings endpoints answer with deterministic vectors derived from each input (8 floats
unless the request says ``dimensions``; base64 float32 when OpenAI's ``encoding_format`` asks),
take a status or ``hang``/``reset``/``malformed`` from the header or the queue, and validate
as the real APIs do (Ollama takes strings only). ``fake.embed_requests()`` lists them.

Starting one::

    async with AnthropicUpstream() as fake:          # in an async test (same event loop)
        ...fake.url...

    def test_x(anthropic_upstream): ...              # fixtures from fakes.fixtures

    with start_in_thread(OpenAIUpstream()) as (url, fake, stop):   # own thread and loop,
        ...run the gateway subprocess against url...               # for subprocess tests

Fixtures (``fakes.fixtures``; a conftest re-exports them): ``openai_upstream``,
``anthropic_upstream``, ``ollama_upstream`` (async, started in the test's loop) and
``upstream_thread`` (a factory: ``upstream_thread(OllamaUpstream())`` returns a
``ThreadedUpstream`` stopped at teardown).

What the fake answers, first match wins:

1. a fault spec in the ``X-Fake-Fault`` request header (settable per provider with
   ``headers:`` in models.yaml), or written as ``fake-fault:<spec>`` inside the last user
   message (reaches the fake through any gateway);
2. the next queued reply: ``fake.enqueue("429:0.5")``, ``fake.enqueue(Reply(text="hi"))``,
   ``fake.enqueue(tool_calls=[("get_weather", {"city": "Paris"})])``;
   ``Reply(thinking="...")`` adds reasoning first: a signed ``thinking`` block on Anthropic's
   wire, ``message.thinking`` on Ollama's (the OpenAI fake has no reasoning field);
3. a normal reply echoing the last user message (``fake-openai heard: ...``), or
   ``default_text`` if given to the constructor.

Fault specs (``Reply.parse``): a status such as ``500`` / ``401`` / ``429`` / ``429:0.5``
(with Retry-After) gives the provider's error body; ``hang[:S]`` answers after S seconds
(default 30, i.e. never within a test's timeout); ``reset`` sends a TCP RST; ``malformed``
sends invalid JSON (or a broken stream frame); ``cut[:N]`` drops the connection after N
content frames (non-stream: half a body); ``truncate[:N]`` ends the HTTP body cleanly after
N frames but without ``[DONE]`` / ``message_stop`` / ``done:true``; ``stream_error[:N]`` sends
the in-band error frame after N frames; ``content_filter`` finishes with
``content_filter`` / ``refusal`` (Ollama has no such thing and replies with empty text);
``slow[:S]`` streams a frame every S seconds until the client leaves; ``tool`` calls the
first declared tool with ``{"query": "fake"}``. The model-list endpoints take a status,
``hang`` or ``reset`` from the header only, so a provider configured with that header looks
down to health checks too.

What the test can look at: ``fake.requests`` (``Recorded``: method, path, case-insensitive
headers, parsed json, fault), ``fake.last``, ``fake.chat_requests()``; ``fake.disconnects`` /
``fake.disconnected`` (a ``threading.Event``) / ``await fake.wait_disconnect(timeout)``, set
when a client went away mid-answer (a cancelled stream, a client timeout during ``hang``).
``fake.clear()`` resets all of it. Each fake validates requests the way the real API does
(e.g. Anthropic needs ``max_tokens``, Ollama needs string content) and answers 400 if not.
"""

from fakes.providers import AnthropicUpstream, OllamaUpstream, OpenAIUpstream
from fakes.upstreams import (
    FAULT_HEADER,
    FAULTS,
    FakeUpstream,
    Recorded,
    Reply,
    ThreadedUpstream,
    start_in_thread,
)

__all__ = [
    "FAULTS",
    "FAULT_HEADER",
    "AnthropicUpstream",
    "FakeUpstream",
    "OllamaUpstream",
    "OpenAIUpstream",
    "Recorded",
    "Reply",
    "ThreadedUpstream",
    "start_in_thread",
]
