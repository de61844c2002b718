"""The ``/openclaw`` slash command: ``status``, ``models``, ``ask <text>``, ``skill <name> k=v``.

Slack wants an acknowledgement within three seconds, so ``status``, ``models`` and refusals
answer in the ack itself; ``ask`` and ``skill`` acknowledge at once and post the answer
through the command's ``response_url`` when the gateway is done. Answers are ephemeral (only
the person who asked sees them) and go back only to the channel the command came from.

Commands are answered once: a command redelivered with the same ``trigger_id`` (a Socket
Mode retry, a replayed HTTP request within the signature's five minutes) is acknowledged
and otherwise ignored. Refusals are audited once and summarised
(:mod:`openclaw.channels.refusals`).

``skill <name> k=v ...`` needs an explicit grant (``skill_users`` or ``skill_channels`` in
the channel's ``channels.yaml`` entry; nobody by default, since a skill runs scripts as the
gateway's user). It runs a skill from ``openclaw.skills`` exactly as ``POST
/v1/skills/{name}/run`` does (inputs given as text are converted to their declared types), as
service ``slack:<channel>``; its outputs come back as a draft, with the PII note when the
skill's model step was sent to the local model. Without the skills package it says so.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import shlex
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from openclaw.channels.slack_format import error_sentence, escape, reply_blocks
from openclaw.errors import InvalidRequest
from openclaw.skills.discovery import find_skill
from openclaw.skills.env import Secrets
from openclaw.skills.names import GRAMMAR, valid_name
from openclaw.skills.runner import SkillRunner

if TYPE_CHECKING:
    from openclaw.channels.slack import SlackBot

SKILLS_OFF = (
    "Running skills from Slack is not enabled for you here. An admin can allow it in "
    "channels.yaml for channel `{name}`: add your Slack user ID to `skill_users`, or this "
    "conversation's ID to `skill_channels`."
)
USAGE = (
    "Usage: `/openclaw status` · `/openclaw models` · `/openclaw ask <question>` · "
    "`/openclaw skill <name> key=value ...`"
)


Ack = Callable[..., Awaitable[None]]
Respond = Callable[..., Awaitable[Any]]


def status_text(bot: SlackBot) -> str:
    st = bot.app_state
    gw = st.gateway
    cfg = gw.config
    up = int(time.time() - st.started)
    lines = [f"*OpenClaw gateway* is running (up {up // 3600}h{up % 3600 // 60:02d}m)."]
    models = ", ".join(
        f"`{a}`" + (" (default)" if a == cfg.default_alias else "") for a in cfg.models.models
    )
    lines.append(f"Models: {models or 'none'}.")
    tripped = {k: v for k, v in gw.dispatcher.breakers.snapshot().items() if v["state"] != "closed"}
    if tripped:
        lines.append(
            "Breakers not closed: "
            + ", ".join(f"`{k}` {v['state']}" for k, v in tripped.items())
            + "."
        )
    else:
        lines.append("All circuit breakers are closed.")
    if st.last_reload is not None:
        lines.append(
            "Last config reload: ok."
            if st.last_reload.ok
            else "Last config reload was rejected; the previous config keeps serving."
        )
    if gw.audit.last_error:
        lines.append(f"Audit log problem: {escape(gw.audit.last_error)}.")
    lines.append(f"This channel (`{bot.name}`): {bot.state}.")
    return "\n".join(lines)


def models_text(bot: SlackBot) -> str:
    cfg = bot.app_state.gateway.config
    lines = []
    for alias, spec in cfg.models.models.items():
        deps = ", ".join(f"{d.provider}/{d.model}" for d in spec.deployments)
        line = f"• `{alias}`" + (" (default)" if alias == cfg.default_alias else "") + f": {deps}"
        if spec.use_for:
            line += f"; tasks: {', '.join(spec.use_for)}"
        lines.append(line)
    return "\n".join(lines) or "No models are configured."


def parse_skill(args: str) -> tuple[str, dict[str, str]]:
    """``name k=v "k2=two words"`` -> (name, inputs); raises ValueError on bad input."""
    parts = shlex.split(args)
    if not parts:
        raise ValueError("name a skill: `/openclaw skill <name> key=value ...`")
    name, inputs = parts[0], {}
    if not valid_name(name):  # issue 16: the API's grammar; a path is never a skill name
        raise ValueError(f"that is not a skill name: use {GRAMMAR}")
    for p in parts[1:]:
        key, sep, value = p.partition("=")
        if not sep or not key:
            raise ValueError(f"skill inputs are key=value pairs; '{p}' is not one")
        inputs[key] = value
    return name, inputs


async def handle_command(
    bot: SlackBot, command: dict[str, Any], ack: Ack, respond: Respond
) -> None:
    user, channel = command.get("user_id"), command.get("channel_id")
    trigger = command.get("trigger_id")
    if not bot.first_time(f"command:{trigger}" if trigger else None):
        await ack()  # a redelivery: answered the first time
        return
    if not bot.allowed(user, channel):
        bot.log.info("ignored /openclaw from user %s in %s (not in the allowlists)", user, channel)
        bot.refusals.refuse(
            "slack_not_allowed",
            "the Slack user or conversation is not in allow_users / allow_channels",
            user=user,
            where=channel,
        )
        await ack(text="You are not allowed to use OpenClaw from here.")
        return
    bot.touch()
    verb, _, rest = (command.get("text") or "").strip().partition(" ")
    verb, rest = verb.lower(), rest.strip()
    if verb == "status":
        await ack(text=status_text(bot))
    elif verb == "models":
        await ack(text=models_text(bot))
    elif verb == "ask" and rest:
        await ack(text="Asking OpenClaw...")
        task, prompt = bot.parse(rest)
        await _answer(bot, respond, lambda: bot.ask(prompt, task))
    elif verb == "skill":
        if not bot.may_run_skills(user, channel):
            bot.refusals.refuse(
                "slack_skills_not_allowed",
                "running skills from Slack needs skill_users or skill_channels",
                user=user,
                where=channel,
            )
            await ack(text=SKILLS_OFF.format(name=escape(bot.name)))
            return
        try:
            name, inputs = parse_skill(rest)
        except ValueError as exc:
            await ack(text=escape(f"Could not read the skill command: {exc}."))
            return
        if not skills_available():
            await ack(text="Skills are not available in this OpenClaw version.")
            return
        await ack(text=f"Running skill `{escape(name)}`...")
        await _answer(bot, respond, lambda: run_skill(bot, name, inputs))
    else:
        await ack(text=USAGE)


async def _answer(
    bot: SlackBot, respond: Respond, call: Callable[[], Awaitable[dict[str, Any]]]
) -> None:
    try:
        resp = await call()
    except Exception as exc:
        bot.report(exc)
        await respond(text=error_sentence(exc), response_type="ephemeral", replace_original=False)
        return
    text, blocks = reply_blocks(resp)
    await respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)


def skills_available() -> bool:
    return importlib.util.find_spec("openclaw.skills.runner") is not None


async def run_skill(bot: SlackBot, name: str, inputs: dict[str, str]) -> dict[str, Any]:
    """Run a skill for this channel; the result is shaped like a chat answer for the reply."""
    st = bot.app_state
    gw = st.gateway
    skill = await asyncio.to_thread(find_skill, st.home, name)
    if skill.front is not None and skill.front.user_invocable is False:
        raise InvalidRequest(
            f"skill '{name}' is not offered as a command (its SKILL.md says user-invocable: false)",
            code="skill_not_invocable",
        )
    runner = SkillRunner(
        gw,
        secrets=Secrets.of(gw.config, token=st.token, home=st.home),
        service=f"slack:{bot.name}",
        channel=bot.name,
    )
    result = await runner.run(skill, inputs, text_inputs=True)
    lines = []
    for key, value in result.outputs.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        lines.append(f"**{key}**: {shown}" if "\n" not in shown else f"**{key}**\n{shown}")
    facts = bot.facts_for(result.request_id) if result.request_id else {}
    facts.setdefault("model", result.model)
    text = "\n".join(lines) or f"Skill {name} finished with no outputs."
    return {"choices": [{"message": {"role": "assistant", "content": text}}], "openclaw": facts}
