"""Reversible placeholders for the ``redact_pii`` rule.

One :class:`Pseudonymizer` lives for one request. :meth:`Pseudonymizer.mask` swaps each
detected value for a placeholder such as ``<EMAIL_ADDRESS_1>`` before the request goes
upstream; the same value gets the same placeholder everywhere in the request, so the model can
still tell that two mentions are one person. :meth:`Pseudonymizer.unmask` puts the values back
into the answer. Placeholders the pseudonymizer did not hand out are left as they are.

For streamed answers, :class:`StreamUnmasker` restores placeholders that arrive split across
chunks ("<EMAIL_AD" + "DRESS_1>"). It holds back only a tail that could still become one of
this request's placeholders, so everything else is passed on as soon as it arrives.
"""

from __future__ import annotations

import re

from openclaw.policies.pii.findings import Finding, merge_spans

_PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*_[0-9]+>")


class Pseudonymizer:
    """Stable, reversible placeholders for the values of one request."""

    def __init__(self) -> None:
        self._by_value: dict[str, str] = {}
        self._by_placeholder: dict[str, str] = {}
        self._counts: dict[str, int] = {}
        self._longest = 0

    @property
    def mapping(self) -> dict[str, str]:
        """Placeholder -> original value, for this request only (contains PII)."""
        return dict(self._by_placeholder)

    def mask(self, text: str, findings: list[Finding]) -> str:
        """``text`` with each (merged) finding replaced by its placeholder."""
        out: list[str] = []
        pos = 0
        for span in merge_spans(findings, len(text)):
            out.append(text[pos : span.start])
            out.append(self._placeholder(text[span.start : span.end], span.entity_type))
            pos = span.end
        out.append(text[pos:])
        return "".join(out)

    def unmask(self, text: str) -> str:
        """``text`` with this request's placeholders replaced by their original values."""
        if not self._by_placeholder or "<" not in text:
            return text
        return _PLACEHOLDER.sub(self._restore, text)

    def stream_unmasker(self) -> StreamUnmasker:
        return StreamUnmasker(self)

    def could_start_placeholder(self, tail: str) -> bool:
        """True if ``tail`` is a proper prefix of a placeholder this request handed out."""
        if len(tail) >= self._longest:
            return False
        return any(p.startswith(tail) for p in self._by_placeholder)

    def _placeholder(self, value: str, entity_type: str) -> str:
        known = self._by_value.get(value)
        if known is not None:
            return known
        n = self._counts.get(entity_type, 0) + 1
        self._counts[entity_type] = n
        placeholder = f"<{entity_type}_{n}>"
        self._by_value[value] = placeholder
        self._by_placeholder[placeholder] = value
        self._longest = max(self._longest, len(placeholder))
        return placeholder

    def _restore(self, m: re.Match[str]) -> str:
        return self._by_placeholder.get(m.group(), m.group())


class StreamUnmasker:
    """Unmasks a stream of text deltas; see the module docstring.

    ``feed(delta)`` returns the text that can be sent now and ``flush()`` what is left at the
    end (a held-back tail that never became a placeholder is sent as it was).
    """

    def __init__(self, pseudonymizer: Pseudonymizer) -> None:
        self._p = pseudonymizer
        self._held = ""

    def feed(self, delta: str) -> str:
        text = self._held + delta
        self._held = ""
        cut = text.rfind("<")
        # A placeholder has one "<", at its start, so only the last "<" can open one still
        # incomplete; a ">" after it means it is already closed.
        if cut != -1 and ">" not in text[cut:] and self._p.could_start_placeholder(text[cut:]):
            self._held = text[cut:]
            text = text[:cut]
        return self._p.unmask(text)

    def flush(self) -> str:
        text, self._held = self._held, ""
        return self._p.unmask(text)
