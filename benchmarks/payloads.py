"""The request bodies the benchmark sends, as templates with a per-request tag.

Every request's newest user message ends in a tag unique to that request (common English
words, so it can never look like a number, a card, a phone number or a name to a PII
recognizer). Without it, the
gateway's per-message PII cache would answer every request after the first from memory and
the benchmark would measure a dictionary lookup instead of the policy stage. Earlier turns of
the 20-turn conversation stay the same across requests, as they do in a real conversation,
where only the newest message is new.

The clean prompts contain digits on purpose ("3 bullet points", years, percentages): a text
without digits or ``@`` is cleared by the PII prefilter without running presidio, which is
real but would flatter the numbers. With digits, presidio's recognizers run on every request.

A payload is rendered to a :class:`Template`: the JSON body split around the tag, so wrk's Lua
script and the asyncio generator both build a body by concatenation.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TAG = "\x00TAG\x00"  # placeholder in the rendered JSON; never appears in a real prompt

CLEAN_200 = (
    "Please summarize the meeting notes below in 3 short bullet points for the team channel. "
    "Keep the tone friendly, focus on decisions and open questions, and skip the small talk "
    "entirely. Ref:"
)

PII_200 = (
    "Draft a short reply to Jane Doe (jane.doe@example.com, +1 212-555-0123) confirming that "
    "her refund was approved and will reach her card within 5 working days. Thanks! Ref:"
)

_PARAGRAPHS = (
    "The platform team met on Tuesday to review the quarterly roadmap. There was a good "
    "turnout, with 14 people in the room and 6 more on the call. The main topic was the migration of "
    "the build system, which has been running on the old runners since 2019 and now takes 40 "
    "minutes for a full pipeline.",
    "We agreed that the migration will happen in 3 phases. Phase 1 moves the unit tests, which "
    "account for roughly 60 percent of the total build time. Phase 2 moves the integration "
    "tests once the new cache layer is stable. Phase 3 retires the old runners entirely.",
    "Several people raised concerns about flaky tests. Over the last 30 days, 7 percent of "
    "pipeline failures were caused by tests that passed on retry. The group decided to "
    "quarantine any test that fails more than twice in a week and to review the quarantine "
    "list every Friday.",
    "Budget was discussed briefly. The new runners cost about 15 percent more per hour, but "
    "they finish in half the time, so the monthly bill should drop. Finance asked for a "
    "written estimate before the end of the quarter, including the one-time cost of the move.",
    "Documentation is behind. The onboarding guide still describes the tooling of version 2, "
    "and new hires spend most of their first week asking the same questions. Two volunteers "
    "will rewrite the guide and record a short walkthrough of the release process.",
    "Open questions remain about ownership of the shared libraries. Today 4 teams change them "
    "without a common review, which caused 2 incidents last month. A proposal for a small "
    "review group with a weekly rotation will be circulated before the next meeting.",
)

# A person's name and nothing else personal: only NER finds it (with spaCy, rerouted).
NAME_200 = (
    "Please draft a short thank-you note to Maria Fernandez for leading the 3 release "
    "reviews this quarter, and mention that the whole team enjoyed working with her. Ref:"
)

PII_LINE = (
    " The customer who reported the outage can be reached at jane.doe@example.com or on "
    "+1 212-555-0123 if anyone needs more detail."
)


def _four_kb(extra: str = "") -> str:
    text = ""
    i = 0
    while len(text) < 4000:
        text += _PARAGRAPHS[i % len(_PARAGRAPHS)] + "\n\n"
        if i == 2 and extra:
            text += extra.strip() + "\n\n"
        i += 1
    return "Summarize these notes in 3 bullet points.\n\n" + text[:4000] + "\nRef:"


_HISTORY_USER = (
    "Can you help me plan the 3 phases of the build migration? Start with what moves first "
    "and how we check that nothing breaks on the way.",
    "What should we measure during phase 1 so we know the new runners are really faster "
    "for the 60 percent of the build that moves first?",
    "How do we deal with flaky tests that fail about 7 percent of the time without hiding "
    "real failures behind automatic retries?",
    "Write a short note for finance about the 15 percent higher hourly cost and why the "
    "monthly bill should still go down.",
    "Who should own the shared libraries, given that 4 teams change them today without a "
    "common review?",
)
_HISTORY_ASSISTANT = (
    "Start with the unit tests: they are self-contained and easy to compare. Run both "
    "systems side by side for 2 weeks and compare durations and failure rates.",
    "Track wall-clock time per pipeline, queue time, cache hit rate and the share of runs that "
    "needed a retry. Compare medians, not single runs.",
    "Quarantine tests that fail more than twice a week, keep them running in a separate job, "
    "and review the list every Friday so nothing stays there forever.",
    "The new runners cost more per hour but finish in half the time, so the total number of "
    "runner hours drops and the bill with it.",
    "A small review group with a weekly rotation works well: one reviewer from each team that "
    "depends on the libraries, and a clear escalation path.",
)


def _conversation() -> list[dict[str, str]]:
    msgs: list[dict[str, str]] = []
    i = 0
    while len(msgs) < 19:
        role = "user" if len(msgs) % 2 == 0 else "assistant"
        pool = _HISTORY_USER if role == "user" else _HISTORY_ASSISTANT
        msgs.append({"role": role, "content": pool[i % len(pool)]})
        if role == "assistant":
            i += 1
    msgs.append({"role": "user", "content": CLEAN_200 + " " + TAG})
    return msgs


def _tool_output(size: int = 100_000) -> str:
    """A clean build log of ``size`` characters: what a tool hands an agent to read."""
    lines = []
    i = 0
    while sum(len(x) + 1 for x in lines) < size:
        lines.append(
            f"step {i:05d}: compiled module {i % 97} of the reporting service in {i % 13 + 1}.{i % 10} s, "
            f"cache hits {i % 50} of 50, warnings 0, output written to build/out/{i % 211}.o"
        )
        if i % 20 == 19:
            lines.append("")  # paragraph breaks, as a log has between its phases
        i += 1
    return "\n".join(lines)[:size]


def _agent_conversation() -> list[dict[str, Any]]:
    """An agent's turn after a 100 KB tool output; only the last question is new."""
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "read_build_log", "arguments": '{"build": 4012}'},
    }
    return [
        {"role": "user", "content": "Why did the 4012 build take 3 minutes longer than usual?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": _tool_output()},
        {"role": "user", "content": "Summarize the log in 3 bullet points. Ref: " + TAG},
    ]


@dataclass(frozen=True)
class Payload:
    key: str
    title: str
    messages: Callable[[], list[dict[str, Any]]]
    expect_alias: str  # the alias the seed policies must pick (checked before measuring)
    names_only: bool = False  # only NER finds its PII: pattern-only keeps it on 'general'


def _single(text: str) -> Callable[[], list[dict[str, Any]]]:
    return lambda: [{"role": "user", "content": text + " " + TAG}]


PAYLOADS: dict[str, Payload] = {
    p.key: p
    for p in (
        Payload("clean-200", "200-char clean prompt", _single(CLEAN_200), "general"),
        Payload("clean-4k", "4 KB clean prompt", _single(_four_kb()), "general"),
        Payload("pii-200", "200-char prompt with PII (rerouted)", _single(PII_200), "sensitive"),
        Payload(
            "pii-4k", "4 KB prompt with PII (rerouted)", _single(_four_kb(PII_LINE)), "sensitive"
        ),
        Payload("turns-20", "20-turn conversation", _conversation, "general"),
        Payload(
            "name-200",
            "200-char prompt with a person's name",
            _single(NAME_200),
            "sensitive",
            names_only=True,
        ),
        Payload(
            "tool-100k", "agent turn after a 100 KB tool output", _agent_conversation, "general"
        ),
    )
}


@dataclass(frozen=True)
class Template:
    """A JSON body split around the tag: ``prefix + tag + suffix`` is one request."""

    prefix: bytes
    suffix: bytes

    def body(self, tag: str) -> bytes:
        return self.prefix + tag.encode() + self.suffix


#: Where each ingress API is served; a scenario's ``api`` picks one.
API_PATHS = {
    "chat": "/v1/chat/completions",
    "messages": "/v1/messages",
    "responses": "/v1/responses",
    "embeddings": "/v1/embeddings",
}


def render(
    payload: Payload, *, model: str = "general", stream: bool = False, api: str = "chat"
) -> Template:
    """The payload as ``api``'s request body: the same messages in each wire format (for
    embeddings, the newest message's text as the input, to the ``embed`` alias)."""
    messages = payload.messages()
    body: dict[str, object]
    if api == "chat":
        body = {"model": model, "messages": messages, "max_tokens": 64}
    elif api == "messages":
        body = {"model": model, "max_tokens": 64, "messages": messages}
    elif api == "responses":
        body = {"model": model, "input": messages, "max_output_tokens": 64}
    elif api == "embeddings":
        body = {"model": "embed", "input": messages[-1]["content"]}
    else:
        raise ValueError(f"unknown api {api!r}; one of {', '.join(API_PATHS)}")
    if stream:
        body["stream"] = True
    text = json.dumps(body, separators=(",", ":"))
    marker = json.dumps(TAG)[1:-1]  # how the placeholder looks inside a JSON string
    before, sep, after = text.partition(marker)
    if not sep:
        raise ValueError(f"payload {payload.key} has no tag placeholder")
    return Template(before.encode(), after.encode())


#: Request tags are numbers written in these words: spaCy's small English NER tags random
#: letter strings after "Ref:" as names (which would reroute a clean prompt), common nouns not.
#: Each is a word the PII engine's NER gate lets through (a test checks), so a clean prompt
#: stays clean to the gate whatever its tag: "glass" is not here, as the pipeline has been
#: seen to take it for a name.
TAG_WORDS = [
    "apple",
    "table",
    "river",
    "stone",
    "cloud",
    "paper",
    "cheese",
    "metal",
    "water",
    "green",
    "bread",
    "chair",
    "plant",
    "sugar",
    "coffee",
    "music",
    "window",
    "garden",
    "pencil",
    "butter",
    "candle",
    "mirror",
    "basket",
    "ladder",
    "bottle",
    "carpet",
    "pillow",
    "rocket",
    "tunnel",
    "wallet",
    "yellow",
    "orange",
]


def tag_for(n: int) -> str:
    """The tag of request number ``n`` (a per-run random offset keeps runs apart)."""
    words = []
    while True:
        n, r = divmod(n, len(TAG_WORDS))
        words.append(TAG_WORDS[r])
        if n == 0:
            break
    return " ".join(words)


def prompt_chars(payload: Payload) -> int:
    """Characters of text in the payload's messages (without the tag)."""
    return sum(len((m["content"] or "").replace(TAG, "").rstrip()) for m in payload.messages())
