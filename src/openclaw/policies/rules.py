"""The built-in rules: the seed's three, plus ``deny`` and ``redact_pii``.

They register through :func:`openclaw.policies.engine.rule` exactly like a third-party rule.
PII analysis goes through the gateway's one shared :class:`~openclaw.policies.pii.PiiEngine`
(built once per config, cached per message), off the event loop.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator

from openclaw.config.schema import PiiSettings
from openclaw.errors import ConfigError, PolicyViolation
from openclaw.pipeline.exchange import Exchange, Json
from openclaw.policies.embedding_route import embeddings_verdict, wrong_kind
from openclaw.policies.engine import Params, Rule, RuleContext, Verdict, rule
from openclaw.routing.tokens import text_of

DRAFT_LABEL = "[DRAFT] "


def context_texts(ex: Exchange) -> list[str]:
    """Every piece of text in the context: all messages, tool calls and results, skill inputs."""
    out: list[str] = []
    for m in ex.body.get("messages") or []:
        if not isinstance(m, dict):
            continue
        t = text_of(m.get("content"))
        if t:
            out.append(t)
        for call in m.get("tool_calls") or []:
            if isinstance(call, dict):
                fn = call.get("function") or {}
                args = fn.get("arguments") if isinstance(fn, dict) else None
                if isinstance(args, str) and args:
                    out.append(args)
    if ex.skill and isinstance(ex.skill.get("inputs"), dict):
        out.extend(str(v) for v in ex.skill["inputs"].values() if v not in (None, ""))
    return out


class PiiEngines:
    """The PII engines of one daemon, by settings; they outlive config reloads.

    A reload, or a second policy with the same settings, reuses the loaded spaCy pipeline
    and the per-message cache. Held by the assembly's ``Shared`` parts, so two gateways in
    one process (tests) keep their own.
    """

    def __init__(self) -> None:
        self._engines: dict[tuple[Any, ...], Any] = {}

    def get(
        self, settings: PiiSettings, entities: list[str] | None, threshold: float | None
    ) -> Any:
        # presidio and spaCy take about a second to import: only gateways with a PII rule pay.
        from openclaw.policies.pii import PiiEngine

        key = (
            tuple(entities) if entities else None,
            threshold,
            settings.spacy_model,
            settings.language,
        )
        eng = self._engines.get(key)
        if eng is None:
            kw: dict[str, Any] = {
                "spacy_model": settings.spacy_model,
                "language": settings.language,
            }
            if entities:
                kw["entities"] = entities
            if threshold is not None:
                kw["score_threshold"] = threshold
            eng = self._engines[key] = PiiEngine(**kw)
        return eng


def pii_engine(ctx: RuleContext, entities: list[str] | None, threshold: float | None) -> Any:
    """The shared engine for these settings (see :class:`PiiEngines`)."""
    return ctx.pii.get(ctx.config.policies.pii, entities, threshold)


async def find_pii(engine: Any, texts: list[str]) -> list[tuple[str, list[Any]]]:
    results = await engine.analyze_texts(texts)
    return [(t, f) for t, f in zip(texts, results, strict=True) if f]


# --------------------------------------------------------------------- drafts


class DraftParams(Params):
    label: Literal["none", "prefix"] = "none"


@rule
class AllOutputsAreDrafts(Rule):
    name = "all_outputs_are_drafts"
    Params = DraftParams

    async def evaluate(self, ex: Exchange) -> Verdict:
        return Verdict(apply=self._apply)

    def _apply(self, ex: Exchange) -> None:
        ex.draft = True
        ex.response_headers["X-OpenClaw-Draft"] = "true"
        prefix = self.params.label == "prefix"

        def mark(resp: Json) -> Json:
            for choice in resp.get("choices") or []:
                msg = choice.get("message") or {}
                if prefix and isinstance(msg.get("content"), str) and msg["content"]:
                    msg["content"] = DRAFT_LABEL + msg["content"]
                for call in msg.get("tool_calls") or []:
                    call["proposal"] = True  # the gateway never executes tool calls
            return resp

        first = {"pending": prefix}

        def mark_chunk(ch: Json) -> Json:
            for choice in ch.get("choices") or []:
                delta = choice.get("delta") or {}
                if first["pending"] and isinstance(delta.get("content"), str) and delta["content"]:
                    delta["content"] = DRAFT_LABEL + delta["content"]
                    first["pending"] = False
                for call in delta.get("tool_calls") or []:
                    call["proposal"] = True
            return ch

        ex.response_filters.append(mark)
        ex.chunk_filters.append(mark_chunk)
        ex.final_chunk_extra["draft"] = True


# --------------------------------------------------------------------- PII routing


class PiiRouteParams(Params):
    model: str = "sensitive"
    #: The local ``kind: embedding`` alias PII in an embeddings request goes to; when it is
    #: not configured such a request is refused (403) rather than sent to a remote model.
    embedding_model: str = "sensitive_embedding"
    entities: list[str] | None = None
    score_threshold: float | None = Field(default=None, ge=0, le=1)
    allow_remote: bool = False


@rule
class PiiUsesSensitiveModel(Rule):
    name = "if_context_contains_pii_use_sensitive_model"
    Params = PiiRouteParams

    def configure(self) -> None:
        models = self.ctx.config.models.models
        target = self.params.model
        if target not in models:
            raise ConfigError(
                f"policies.yaml: policy '{self.policy.name}': model alias '{target}' is not in "
                f"models.yaml (add a '{target}:' model served by a local provider such as ollama)"
            )
        # The embedding alias is optional: without it PII in embeddings input is refused.
        targets = [target] + [a for a in [self.params.embedding_model] if a in models]
        for alias in targets if not self.params.allow_remote else []:
            for dep in models[alias].deployments:
                prov = self.ctx.providers[dep.provider]
                if not prov.is_local:
                    raise ConfigError(
                        f"policies.yaml: policy '{self.policy.name}': the sensitive model "
                        f"'{alias}' uses provider '{dep.provider}' at {prov.base_url or 'a remote API'}, "
                        "which is not on this machine; point it at a local provider (ollama, "
                        "or a server on 127.0.0.1) or set params.allow_remote: true"
                    )
        self.engine = pii_engine(self.ctx, self.params.entities, self.params.score_threshold)

    async def evaluate(self, ex: Exchange) -> Verdict | None:
        models = self.ctx.config.models.models
        if wrong_kind(models, ex):
            return None  # dispatch refuses it (400); nothing is sent anywhere
        if ex.api == "embeddings":
            return await embeddings_verdict(
                ex,
                self._entities,
                policy=self.policy.name,
                target=self.params.embedding_model,
                models=models,
                allow_remote=self.params.allow_remote,
            )
        found = await find_pii(self.engine, context_texts(ex))
        if not found:
            return None
        entities = sorted({f.entity_type for _t, fs in found for f in fs})
        target = self.params.model

        def apply(ex: Exchange) -> None:
            ex.alias = target
            ex.local_only = not self.params.allow_remote
            ex.forced_by = self.policy.name

        return Verdict(apply=apply, entities=entities, model_after=target)

    async def _entities(self, texts: list[str]) -> list[str]:
        return [f.entity_type for _t, fs in await find_pii(self.engine, texts) for f in fs]

    def status(self) -> dict[str, Any]:
        return {"pii_mode": self.engine.mode, "pii_note": self.engine.mode_note}


# --------------------------------------------------------------------- audit content


class AuditParams(Params):
    content: Literal["redacted", "full", "hashes"] = "redacted"


@rule
class LogAllRequestsAndResponses(Rule):
    name = "log_all_requests_and_responses"
    Params = AuditParams

    def configure(self) -> None:
        self.engine = (
            pii_engine(self.ctx, None, None) if self.params.content == "redacted" else None
        )

    async def evaluate(self, ex: Exchange) -> Verdict:
        if self.policy.enforce:
            self.ctx.audit.ready()  # fail closed before anything goes upstream
        mode = self.params.content
        messages: list[Json] = []
        for m in ex.body.get("messages") or []:
            if isinstance(m, dict):
                messages.append({"role": m.get("role"), "content": text_of(m.get("content"))})
        if mode == "redacted" and self.engine is not None:
            texts = [m["content"] for m in messages]
            results = await self.engine.analyze_texts(texts)
            for m, fs in zip(messages, results, strict=True):
                if fs:
                    m["content"] = self.engine.redact(m["content"], fs)
        elif mode == "hashes":
            import hashlib

            for m in messages:
                m["content"] = hashlib.sha256(m["content"].encode()).hexdigest()
        return Verdict(apply=lambda ex: self._capture(ex, messages))

    def _capture(self, ex: Exchange, messages: list[Json]) -> None:
        content: Json = {"mode": self.params.content, "messages": messages, "response": None}
        ex.audit_extra["content"] = content
        parts: list[str] = []

        def finish(text: str) -> None:
            if self.params.content == "redacted" and self.engine is not None:
                # Sync on the loop, once per response; pattern-only analysis of a typical
                # answer takes well under a millisecond (see the benchmark).
                text = self.engine.redact(text, self.engine.analyze_text(text))
            elif self.params.content == "hashes":
                import hashlib

                text = hashlib.sha256(text.encode()).hexdigest()
            content["response"] = text

        def on_response(resp: Json) -> Json:
            msg = ((resp.get("choices") or [{}])[0]).get("message") or {}
            finish(text_of(msg.get("content")))
            return resp

        def on_chunk(ch: Json) -> Json:
            for c in ch.get("choices") or []:
                d = (c.get("delta") or {}).get("content")
                if d:
                    parts.append(d)
                if c.get("finish_reason"):
                    finish("".join(parts))
            return ch

        ex.response_filters.append(on_response)
        ex.chunk_filters.append(on_chunk)


# --------------------------------------------------------------------- deny


class DenyParams(Params):
    if_contains: list[str] = Field(default_factory=list)
    entities: list[str] = Field(default_factory=list)
    message: str = "this request is not allowed by policy"

    @field_validator("if_contains")
    @classmethod
    def _compile(cls, v: list[str]) -> list[str]:
        for pat in v:
            try:
                re.compile(pat)
            except re.error as exc:
                raise ValueError(f"bad regular expression {pat!r}: {exc}") from None
        return v


@rule
class Deny(Rule):
    name = "deny"
    Params = DenyParams

    def configure(self) -> None:
        self.patterns = [re.compile(p, re.IGNORECASE) for p in self.params.if_contains]
        self.engine = (
            pii_engine(self.ctx, self.params.entities, None) if self.params.entities else None
        )
        if not self.patterns and self.engine is None:
            raise ConfigError(
                f"policies.yaml: policy '{self.policy.name}': deny needs params.if_contains or params.entities"
            )

    async def evaluate(self, ex: Exchange) -> Verdict | None:
        texts = context_texts(ex)
        hit = next((p.pattern for p in self.patterns for t in texts if p.search(t)), None)
        entities: list[str] | None = None
        if hit is None and self.engine is not None:
            found = await find_pii(self.engine, texts)
            if found:
                entities = sorted({f.entity_type for _t, fs in found for f in fs})
        if hit is None and not entities:
            return None
        message = self.params.message
        name = self.policy.name

        def apply(ex: Exchange) -> None:
            raise PolicyViolation(f"{message} (policy '{name}')")

        return Verdict(apply=apply, entities=entities, detail="pattern" if hit else "entities")


# --------------------------------------------------------------------- redact_pii


class RedactParams(Params):
    entities: list[str] | None = None
    score_threshold: float | None = Field(default=None, ge=0, le=1)


@rule
class RedactPii(Rule):
    name = "redact_pii"
    Params = RedactParams

    def configure(self) -> None:
        self.engine = pii_engine(self.ctx, self.params.entities, self.params.score_threshold)

    async def evaluate(self, ex: Exchange) -> Verdict | None:
        msgs = [m for m in ex.body.get("messages") or [] if isinstance(m, dict)]
        texts = [text_of(m.get("content")) for m in msgs]
        results = await self.engine.analyze_texts(texts)
        if not any(results):
            return None
        entities = sorted({f.entity_type for fs in results for f in fs})

        def apply(ex: Exchange) -> None:
            from openclaw.policies.pii import Pseudonymizer

            p = Pseudonymizer()
            new_msgs = []
            for m, t, fs in zip(msgs, texts, results, strict=True):
                if fs:
                    m = dict(m, content=p.mask(t, fs))
                new_msgs.append(m)
            ex.body = dict(ex.body, messages=new_msgs)
            unmasker = p.stream_unmasker()

            def restore(resp: Json) -> Json:
                for c in resp.get("choices") or []:
                    msg = c.get("message") or {}
                    if isinstance(msg.get("content"), str):
                        msg["content"] = p.unmask(msg["content"])
                return resp

            def restore_chunk(ch: Json) -> Json:
                for c in ch.get("choices") or []:
                    delta = c.get("delta") or {}
                    if isinstance(delta.get("content"), str):
                        delta["content"] = unmasker.feed(delta["content"])
                    if c.get("finish_reason"):
                        rest = unmasker.flush()
                        if rest:
                            delta["content"] = (delta.get("content") or "") + rest
                return ch

            # Restore first, so later filters (drafts, audit) see the real text.
            ex.response_filters.insert(0, restore)
            ex.chunk_filters.insert(0, restore_chunk)

        return Verdict(apply=apply, entities=entities)


#: The built-in rules, by the name policies.yaml uses. Plugins add theirs (assembly.rule_types).
BUILTIN_RULES: tuple[type[Rule], ...] = (
    AllOutputsAreDrafts,
    PiiUsesSensitiveModel,
    LogAllRequestsAndResponses,
    Deny,
    RedactPii,
)
