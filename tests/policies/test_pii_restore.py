"""AnswerRestorer: placeholders back into text, refusals and tool calls, whole or streamed."""

from __future__ import annotations

import json
from typing import Any

from openclaw.policies.pii import Finding, Pseudonymizer
from openclaw.policies.pii.pseudonymize import AnswerRestorer

NAME = 'Jane "JD" O\'Hara'


def masked() -> tuple[Pseudonymizer, str]:
    p = Pseudonymizer()
    text = f"Write to {NAME} at jane@example.com"
    out = p.mask(
        text,
        [
            Finding("PERSON", 9, 9 + len(NAME), 0.85),
            Finding("EMAIL_ADDRESS", text.index("jane@"), len(text), 1.0),
        ],
    )
    assert out == "Write to <PERSON_1> at <EMAIL_ADDRESS_1>"
    return p, out


def test_a_whole_answer_is_restored_everywhere() -> None:
    p, _ = masked()
    args = json.dumps({"to": "<PERSON_1>", "mail": "<EMAIL_ADDRESS_1>"})
    resp: dict[str, Any] = {
        "choices": [
            {
                "message": {
                    "content": "Dear <PERSON_1>,",
                    "refusal": "I will not mail <EMAIL_ADDRESS_1>.",
                    "tool_calls": [{"function": {"name": "send", "arguments": args}}],
                }
            }
        ]
    }
    out = AnswerRestorer(p).response(resp)["choices"][0]["message"]
    assert out["content"] == f"Dear {NAME},"
    assert out["refusal"] == "I will not mail jane@example.com."
    # Quotes in the value are escaped, so the arguments stay valid JSON.
    assert json.loads(out["tool_calls"][0]["function"]["arguments"]) == {
        "to": NAME,
        "mail": "jane@example.com",
    }


def chunk(delta: dict[str, Any], finish: str | None = None, index: int = 0) -> dict[str, Any]:
    return {"choices": [{"index": index, "delta": delta, "finish_reason": finish}]}


def test_streamed_arguments_split_mid_placeholder_are_restored() -> None:
    p, _ = masked()
    r = AnswerRestorer(p)
    args = json.dumps({"to": "<PERSON_1>", "cc": "<EMAIL_ADDRESS_1>"})
    cut1, cut2 = args.index("<PERSON_1>") + 4, args.index("<EMAIL_ADDRESS_1>") + 6
    pieces = [args[:cut1], args[cut1:cut2], args[cut2:]]
    got: list[str] = []
    for i, piece in enumerate(pieces):
        call: dict[str, Any] = {"index": 0, "function": {"arguments": piece}}
        if i == 0:
            call["function"]["name"] = "send"
        ch = r.chunk(chunk({"tool_calls": [call]}))
        got.append(ch["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"])
    r.chunk(chunk({}, "tool_calls"))
    assert json.loads("".join(got)) == {"to": NAME, "cc": "jane@example.com"}


def test_a_held_tail_is_flushed_into_the_finish_chunk() -> None:
    p, _ = masked()
    r = AnswerRestorer(p)
    first = r.chunk(chunk({"content": "Bye <PERS"}))
    assert first["choices"][0]["delta"]["content"] == "Bye "
    call = {"index": 1, "function": {"arguments": '{"x": "<EMAIL_'}}
    r.chunk(chunk({"tool_calls": [call]}))
    last = r.chunk(chunk({}, "stop"))
    delta = last["choices"][0]["delta"]
    # Never became a placeholder: sent as it was, at the end, in the right field.
    assert delta["content"] == "<PERS"
    assert delta["tool_calls"] == [{"index": 1, "function": {"arguments": "<EMAIL_"}}]


def test_choices_are_restored_independently() -> None:
    p, _ = masked()
    r = AnswerRestorer(p)
    a = r.chunk(chunk({"content": "<PERSON"}, index=0))
    b = r.chunk(chunk({"content": "<EMAIL_ADDRESS_1>"}, index=1))
    c = r.chunk(chunk({"content": "_1>"}, index=0))
    assert a["choices"][0]["delta"]["content"] == ""
    assert b["choices"][0]["delta"]["content"] == "jane@example.com"
    assert c["choices"][0]["delta"]["content"] == NAME
