"""Estimating a prompt's tokens before any call is made.

tiktoken would need its BPE files from the internet on first use, which a gateway on a
locked-down host cannot count on, so the estimate is a documented heuristic: about four
characters per token for prose, plus a few tokens of framing per message. It errs high on
code and non-Latin text, which is the safe side for context-window checks.
"""

from __future__ import annotations

from typing import Any

PER_MESSAGE = 4


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for p in content:
            if isinstance(p, dict):
                if p.get("type") == "text":
                    parts.append(str(p.get("text", "")))
                elif "content" in p:
                    parts.append(text_of(p["content"]))
        return " ".join(parts)
    return ""


def estimate_tokens(text: str) -> int:
    return (len(text) + 3) // 4


def estimate_prompt_tokens(messages: list[Any]) -> int:
    total = 3
    for m in messages:
        if not isinstance(m, dict):
            continue
        total += PER_MESSAGE + estimate_tokens(text_of(m.get("content")))
        for call in m.get("tool_calls") or []:
            if isinstance(call, dict):
                total += estimate_tokens(str(call.get("function", "")))
    return total
