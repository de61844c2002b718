"""The ``/openclaw`` slash command: ``status``, ``models``, ``ask <text>``, ``skill <name> k=v``.

Slack wants an acknowledgement within three seconds, so ``status``, ``models`` and refusals
answer in the ack itself; ``ask`` and ``skill`` acknowledge at once and post the answer
through the command's ``response_url`` when the gateway is done. Answers are ephemeral (only
the person who asked sees them) and go back only to the channel the command came from.

Skills run once the skills package registers a runner with :func:`set_skill_runner`
(``async run(gateway, name, inputs, *, service, channel) -> chat.completion dict``); until
then ``skill`` says that skills are not available.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from openclaw.channels.slack_format import error_sentence, escape, reply_blocks

if TYPE_CHECKING:
    from openclaw.channels.slack import SlackBot
    from openclaw.pipeline.gateway import Gateway

USAGE = (
    "Usage: `/openclaw status` · `/openclaw models` · `/openclaw ask <question>` · "
    "`/openclaw skill <name> key=value ...`"
)


class SkillRunner(Protocol):
    def __call__(
        self, gateway: Gateway, name: str, inputs: dict[str, str], *, service: str, channel: str
    ) -> Awaitable[dict[str, Any]]: ...


_skill_runner: SkillRunner | None = None

Ack = Callable[..., Awaitable[None]]
Respond = Callable[..., Awaitable[Any]]


def set_skill_runner(runner: SkillRunner | None) -> None:
    global _skill_runner
    _skill_runner = runner


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
    if not bot.allowed(user, channel, dm=str(channel or "").startswith("D")):
        bot.log.info("ignored /openclaw from user %s in %s (not in the allowlists)", user, channel)
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
        try:
            name, inputs = parse_skill(rest)
        except ValueError as exc:
            await ack(text=escape(f"Could not read the skill command: {exc}."))
            return
        runner = _skill_runner
        if runner is None:
            await ack(text="Skills are not available in this OpenClaw version yet.")
            return
        await ack(text=f"Running skill `{escape(name)}`...")
        gw = bot.app_state.gateway
        await _answer(
            bot,
            respond,
            lambda: runner(gw, name, inputs, service=f"slack:{bot.name}", channel=bot.name),
        )
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
