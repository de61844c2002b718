"""Reversible placeholders for the ``redact_pii`` rule.

One :class:`Pseudonymizer` lives for one request. :meth:`Pseudonymizer.mask` swaps each
detected value for a placeholder such as ``<EMAIL_ADDRESS_1>`` before the request goes
upstream; the same value gets the same placeholder everywhere in the request, so the model can
still tell that two mentions are one person. :meth:`Pseudonymizer.unmask` puts the values back
into the answer. Placeholders the pseudonymizer did not hand out are left as they are.

For streamed answers, :class:`StreamUnmasker` restores placeholders that arrive split across
chunks ("<EMAIL_AD" + "DRESS_1>"). It holds back only a tail that could still become one of
this request's placeholders, so everything else is passed on as soon as it arrives.

:class:`AnswerRestorer` applies both to an answer wherever the model can repeat a
placeholder: message text, refusals, and tool calls (name and arguments), whole or streamed.
Tool-call arguments are JSON text, so a value restored into them is JSON-escaped: a name
with a quote in it must not break the arguments the client parses.
"""

from __future__ import annotations

import json
import re
from typing import Any

from openclaw.policies.pii.findings import Finding, merge_spans

Json = dict[str, Any]

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

    def unmask(self, text: str, *, json_string: bool = False) -> str:
        """``text`` with this request's placeholders replaced by their original values.

        ``json_string``: ``text`` is (part of) JSON, so values are escaped as inside a JSON
        string.
        """
        if not self._by_placeholder or "<" not in text:
            return text
        return _PLACEHOLDER.sub(self._json_restore if json_string else self._restore, text)

    def stream_unmasker(self, *, json_string: bool = False) -> StreamUnmasker:
        return StreamUnmasker(self, json_string=json_string)

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

    def _json_restore(self, m: re.Match[str]) -> str:
        value = self._by_placeholder.get(m.group())
        return m.group() if value is None else json.dumps(value, ensure_ascii=False)[1:-1]


class StreamUnmasker:
    """Unmasks a stream of text deltas; see the module docstring.

    ``feed(delta)`` returns the text that can be sent now and ``flush()`` what is left at the
    end (a held-back tail that never became a placeholder is sent as it was).
    """

    def __init__(self, pseudonymizer: Pseudonymizer, *, json_string: bool = False) -> None:
        self._p = pseudonymizer
        self._json = json_string
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
        return self._p.unmask(text, json_string=self._json)

    def flush(self) -> str:
        text, self._held = self._held, ""
        return self._p.unmask(text, json_string=self._json)


class AnswerRestorer:
    """Puts one request's values back into its answer: content, refusals, tool calls.

    :meth:`response` handles a whole answer; :meth:`chunk` one streamed chunk, keeping a
    :class:`StreamUnmasker` per choice and field (and per tool call), and flushing them all
    into the chunk that carries the choice's ``finish_reason``.
    """

    def __init__(self, pseudonymizer: Pseudonymizer) -> None:
        self._p = pseudonymizer
        self._streams: dict[tuple[int, str, int], StreamUnmasker] = {}

    def response(self, resp: Json) -> Json:
        for c in resp.get("choices") or []:
            msg = c.get("message") if isinstance(c, dict) else None
            if not isinstance(msg, dict):
                continue
            for fld in ("content", "refusal"):
                if isinstance(msg.get(fld), str):
                    msg[fld] = self._p.unmask(msg[fld])
            for call in msg.get("tool_calls") or []:
                fn = call.get("function") if isinstance(call, dict) else None
                if isinstance(fn, dict):
                    if isinstance(fn.get("name"), str):
                        fn["name"] = self._p.unmask(fn["name"])
                    if isinstance(fn.get("arguments"), str):
                        fn["arguments"] = self._p.unmask(fn["arguments"], json_string=True)
        return resp

    def chunk(self, ch: Json) -> Json:
        for c in ch.get("choices") or []:
            if not isinstance(c, dict):
                continue
            idx = c.get("index", 0) if isinstance(c.get("index", 0), int) else 0
            delta = c.get("delta")
            if not isinstance(delta, dict):
                delta = c["delta"] = {}
            for fld in ("content", "refusal"):
                if isinstance(delta.get(fld), str):
                    delta[fld] = self._stream(idx, fld, 0).feed(delta[fld])
            for call in delta.get("tool_calls") or []:
                fn = call.get("function") if isinstance(call, dict) else None
                if not isinstance(fn, dict):
                    continue
                n = call.get("index", 0) if isinstance(call.get("index", 0), int) else 0
                if isinstance(fn.get("name"), str):
                    fn["name"] = self._p.unmask(fn["name"])  # names arrive whole
                if isinstance(fn.get("arguments"), str):
                    fn["arguments"] = self._stream(idx, "arguments", n).feed(fn["arguments"])
            if c.get("finish_reason"):
                self._flush(idx, delta)
        return ch

    def _stream(self, choice: int, fld: str, n: int) -> StreamUnmasker:
        key = (choice, fld, n)
        s = self._streams.get(key)
        if s is None:
            s = self._streams[key] = self._p.stream_unmasker(json_string=fld == "arguments")
        return s

    def _flush(self, choice: int, delta: Json) -> None:
        for (ci, fld, n), s in list(self._streams.items()):
            if ci != choice:
                continue
            rest = s.flush()
            if not rest:
                continue
            if fld != "arguments":
                delta[fld] = (delta.get(fld) or "") + rest
                continue
            calls = delta.setdefault("tool_calls", [])
            same = next((c for c in calls if isinstance(c, dict) and c.get("index", 0) == n), None)
            if same is None:
                calls.append({"index": n, "function": {"arguments": rest}})
            else:
                fn = same.setdefault("function", {})
                fn["arguments"] = (fn.get("arguments") or "") + rest
