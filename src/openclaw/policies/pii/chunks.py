"""Cutting long texts into chunks that are scanned, and cached, one by one.

A 100 KB tool output in an agent conversation comes back in every later turn. Scanned whole,
its NER costs seconds and runs on one worker; cut into chunks, the chunks run on every worker
at once, and each chunk's findings are cached under its own digest, so a later turn that
carries the same output pays for a cache lookup per chunk and scans only new text.

Cuts fall on paragraph breaks (a blank line), else line breaks, else sentence ends, else
spaces, so that a name, an address or a number and the context words before it stay in one
chunk. A chunk is never longer than the limit; a run of text with no break at all is cut at
the limit.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s+")


def split_text(text: str, max_chars: int) -> list[tuple[int, str]]:
    """``(offset, chunk)`` pieces of ``text``, each at most ``max_chars`` long, in order.

    ``max_chars <= 0`` or a short text gives the text as one piece. The pieces cover the text
    exactly: joining them gives ``text`` back.
    """
    if max_chars <= 0 or len(text) <= max_chars:
        return [(0, text)]
    out: list[tuple[int, str]] = []
    start = 0
    n = len(text)
    while n - start > max_chars:
        end = start + _cut(text[start : start + max_chars])
        out.append((start, text[start:end]))
        start = end
    out.append((start, text[start:]))
    return out


def _cut(window: str) -> int:
    """Where to end a chunk that starts the window: after the best break in its back half."""
    half = len(window) // 2
    para = window.rfind("\n\n", half)
    if para != -1:
        return para + 2
    line = window.rfind("\n", half)
    if line != -1:
        return line + 1
    last = None
    for m in _SENTENCE_END.finditer(window, half):
        last = m
    if last is not None:
        return last.end()
    space = window.rfind(" ", half)
    if space != -1:
        return space + 1
    return len(window)
