"""What the Slack bot reads and writes: parsing a mention, building a draft reply.

Every reply carries a context block saying it is a draft, and, when the PII policy sent the
request to the local model, a second one saying so (entity types only, never the values).
Model output is escaped before it goes to Slack (``&``, ``<``, ``>``), so an answer cannot
ping ``@channel`` or forge a link, and common Markdown is turned into Slack's mrkdwn.
Errors become one plain sentence for the thread; details stay in the daemon log.
"""

from __future__ import annotations

import re
from typing import Any

from openclaw.errors import OpenClawError

DRAFT_NOTE = "Draft: review before acting"
PII_RULE = "if_context_contains_pii_use_sensitive_model"
SECTION_LIMIT = 2900  # Slack allows 3000 characters in a section's text
MAX_SECTIONS = 40  # a message holds at most 50 blocks
FALLBACK_LIMIT = 3000

_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
_TASK = re.compile(r"^task:([A-Za-z0-9_.\-]+)(?:\s+|$)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_HEADING = re.compile(r"^#{1,6}\s+(.+)$", re.MULTILINE)
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")


def parse_text(text: str, bot_user_id: str | None) -> tuple[str | None, str]:
    """(task, prompt) from a mention or DM: drops the bot's mention, reads ``task:<name>``."""
    if bot_user_id:
        text = _MENTION.sub(lambda m: "" if m.group(1) == bot_user_id else m.group(0), text)
    else:
        text = re.sub(r"^\s*<@[A-Z0-9]+(?:\|[^>]*)?>", "", text)
    text = text.strip()
    m = _TASK.match(text)
    if m:
        return m.group(1), text[m.end() :].strip()
    return None, text


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_mrkdwn(markdown: str) -> str:
    text = escape(markdown)
    text = _LINK.sub(lambda m: f"<{m.group(2)}|{m.group(1)}>", text)
    text = _BOLD.sub(r"*\1*", text)
    return _HEADING.sub(r"*\1*", text)


def _pieces(text: str, limit: int) -> list[str]:
    out: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = limit
        out.append(text[:cut])
        text = text[cut:].lstrip("\n")
    if text:
        out.append(text)
    return out


def answer_text(resp: dict[str, Any]) -> str:
    choices = resp.get("choices") or [{}]
    msg = choices[0].get("message") or {}
    text = msg.get("content") or ""
    calls = msg.get("tool_calls") or []
    if calls:
        names = ", ".join(str((c.get("function") or {}).get("name")) for c in calls)
        text += f"\n\n(The model proposed tool calls, which are not run: {names}.)"
    return text.strip() or "(The model returned an empty answer.)"


def pii_note(facts: dict[str, Any]) -> str | None:
    for d in facts.get("policies") or []:
        if d.get("rule") == PII_RULE and d.get("outcome") == "applied":
            kinds = ", ".join(d.get("entities") or [])
            model = d.get("model_after") or facts.get("model")
            return f"Served by the local model `{model}` because PII was found" + (
                f" ({kinds})." if kinds else "."
            )
    return None


def reply_blocks(resp: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) for a gateway response."""
    facts = resp.get("openclaw") or {}
    body = to_mrkdwn(answer_text(resp))
    sections = _pieces(body, SECTION_LIMIT)
    if len(sections) > MAX_SECTIONS:
        sections = [
            *sections[: MAX_SECTIONS - 1],
            "(The answer was cut short: it is too long for Slack.)",
        ]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": s}} for s in sections
    ]
    note = f":memo: *{DRAFT_NOTE}*"
    if facts.get("model"):
        note += f" · model `{facts['model']}`"
    if facts.get("fallback_from"):
        note += f" (failover from `{facts['fallback_from']}`)"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
    pii = pii_note(facts)
    if pii:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f":lock: {pii}"}]}
        )
    fallback = f"{DRAFT_NOTE}. {body}"
    if pii:
        fallback = f"{DRAFT_NOTE}. {pii} {body}"
    return fallback[:FALLBACK_LIMIT], blocks


def error_sentence(exc: BaseException) -> str:
    """One plain sentence for the thread; never a traceback, never request content."""
    if isinstance(exc, OpenClawError):
        detail = " ".join(exc.message.split())
        detail = detail.split("\n", 1)[0]
        if len(detail) > 240:
            detail = detail[:237].rstrip() + "..."
        detail = detail.rstrip(".")
        return escape(f"OpenClaw could not answer: {detail}.")
    return (
        "OpenClaw could not answer because of an internal error; the gateway log has the details."
    )
