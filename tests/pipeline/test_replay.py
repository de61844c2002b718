"""A complete answer (from the cache) replayed as a stream keeps everything the model sent."""

from __future__ import annotations

from openclaw.pipeline.gateway import _replay


async def test_a_cache_replay_keeps_reasoning_and_signed_thinking_blocks() -> None:
    block = {"type": "thinking", "thinking": "Check the date.", "signature": "sig-1"}
    resp = {
        "id": "chatcmpl-1",
        "created": 1,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {
                    "role": "assistant",
                    "content": "Tuesday.",
                    "reasoning_content": "Check the date.",
                    "thinking_blocks": [block],
                },
            }
        ],
    }
    deltas = [c["choices"][0]["delta"] async for c in _replay(resp) if c["choices"]]
    assert deltas[1] == {"reasoning_content": "Check the date."}
    assert deltas[2] == {"thinking_blocks": [block]}
    assert deltas[3] == {"content": "Tuesday."}
