"""Counting a prompt's tokens before any call is made: one counter for the whole gateway.

Context-window checks, tokens-per-minute limits, budgets' pre-checks and the ``mock``
provider's usage all count here. For OpenAI-family models (by model name, served by OpenAI
or by anything that speaks its API) the count is exact: ``toktok`` computes tiktoken's
``cl100k_base`` and ``o200k_base`` token ids with the vocabularies compiled into its wheel,
so nothing is read from disk or downloaded, ever (tiktoken itself fetches its BPE files
from the internet on first use, and counts 4 KB in about 0.5-0.8 ms; toktok takes well
under 0.1 ms). The test suite checks toktok's counts against tiktoken's own.

Every other model gets a script-aware estimate: ASCII text about four characters a token,
CJK (Han, kana, Hangul) one token a character, other non-ASCII text (Cyrillic, Greek,
Arabic, Devanagari, accented Latin...) two characters a token. Claude's and Llama's
tokenizers are not published in a form that can ship offline; the estimate errs high rather
than low, which is the safe side for a limit.

This module imports nothing from the rest of OpenClaw, so providers and routing both use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import toktok

#: Tokens of framing per chat message (role, separators), as OpenAI's cookbook counts them.
PER_MESSAGE = 4
#: Tokens that prime the assistant's reply.
PER_PROMPT = 3

O200K = "o200k_base"
CL100K = "cl100k_base"
# Checked in order: the first prefix that matches the model name wins, so "gpt-4o" must
# come before "gpt-4". Names are lowercased and lose a routing prefix ("openai/gpt-4o").
_OPENAI_PREFIXES: tuple[tuple[str, str], ...] = (
    ("gpt-4o", O200K),
    ("chatgpt-4o", O200K),
    ("gpt-4.1", O200K),
    ("gpt-4.5", O200K),
    ("gpt-5", O200K),
    ("gpt-oss", O200K),
    ("o1", O200K),
    ("o3", O200K),
    ("o4", O200K),
    ("codex-", O200K),
    ("gpt-4", CL100K),
    ("gpt-35-turbo", CL100K),  # Azure's spelling
    ("gpt-3.5", CL100K),
    ("text-embedding-3", CL100K),
    ("text-embedding-ada-002", CL100K),
)

# Han (with extensions and compatibility), kana, Hangul syllables and jamo, CJK punctuation
# and full-width forms: each of these is about one token in every tokenizer we know.
# Matched in runs: removing the runs and comparing lengths is the fast way to count them.
_CJK = re.compile(
    "[\u1100-\u11ff\u2e80-\u2fdf\u3000-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
    "\U00020000-\U0003134f]+"
)


def encoding_for(model: str | None) -> str | None:
    """The tiktoken encoding an OpenAI-family model uses, or None for any other model."""
    if not model:
        return None
    name = model.rsplit("/", 1)[-1].lower()
    for prefix, encoding in _OPENAI_PREFIXES:
        if name.startswith(prefix):
            return encoding
    return None


def warm(models: Iterable[str]) -> None:
    """Load the vocabularies these models count with, before the first request needs them.

    toktok builds an encoding on first use (about 0.4 s for cl100k_base, 1 s for o200k_base)
    and keeps it for the life of the process; the gateway calls this when a config loads so
    that no request waits for it.
    """
    for encoding in sorted({e for m in models if (e := encoding_for(m)) is not None}):
        toktok.batch_count(["warm"], encoding, threads=1)


def estimate_text(text: str) -> int:
    """The script-aware estimate for models whose tokenizer we do not have."""
    if not text:
        return 0
    if text.isascii():
        return (len(text) + 3) // 4
    ascii_chars = len(text.encode("ascii", "ignore"))
    cjk = len(text) - len(_CJK.sub("", text))  # runs, not characters: 10x faster
    other = len(text) - ascii_chars - cjk
    return (ascii_chars + 3) // 4 + cjk + (other + 1) // 2


def count_text(text: str, model: str | None = None) -> int:
    """Tokens in one text for ``model`` (exact for OpenAI-family models)."""
    if not text:
        return 0
    encoding = encoding_for(model)
    if encoding is None:
        return estimate_text(text)
    return int(toktok.batch_count([text], encoding, threads=1)[0])


def text_of(content: Any) -> str:
    """The text of a message's ``content``: a string or a list of parts."""
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


def prompt_texts(messages: list[Any]) -> list[str]:
    """Every piece of a chat prompt that the model reads as text."""
    texts: list[str] = []
    for m in messages:
        if not isinstance(m, dict):
            continue
        texts.append(text_of(m.get("content")))
        name = m.get("name")
        if isinstance(name, str):
            texts.append(name)
        for call in m.get("tool_calls") or []:
            if isinstance(call, dict):
                fn = call.get("function")
                if isinstance(fn, dict):
                    texts.append(f"{fn.get('name', '')} {fn.get('arguments', '')}")
                elif fn is not None:
                    texts.append(str(fn))
    return texts


def count_prompt(messages: list[Any], model: str | None = None) -> int:
    """Tokens a chat prompt takes for ``model``: its texts plus the per-message framing."""
    framing = PER_PROMPT + PER_MESSAGE * sum(1 for m in messages if isinstance(m, dict))
    texts = [t for t in prompt_texts(messages) if t]
    if not texts:
        return framing
    encoding = encoding_for(model)
    if encoding is None:
        return framing + sum(estimate_text(t) for t in texts)
    # One call for all texts: the extension loops without returning to Python.
    return framing + sum(int(n) for n in toktok.batch_count(texts, encoding, threads=1))
