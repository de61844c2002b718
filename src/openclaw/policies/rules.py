"""The built-in rules: the seed's three, plus ``deny`` and ``redact_pii``.

They are plain :class:`~openclaw.policies.engine.Rule` classes, listed in
:data:`BUILTIN_RULES`, exactly like a third party's. PII analysis goes through the gateway's
one shared :class:`~openclaw.policies.pii.PiiEngine` (built once per config, cached per
message), off the event loop. The PII rules read the request through one walk over the whole
body (:mod:`openclaw.policies.pii.scan`), so routing, ``deny`` and ``redact_pii`` cover the
same strings, unknown fields included; see docs/pii.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from openclaw.audit.record import ContentCapture
from openclaw.config.schema import PiiSettings, PolicyConfig
from openclaw.errors import ConfigError, OpenClawError, PolicyViolation
from openclaw.pipeline.exchange import Exchange, Json
from openclaw.policies.embedding_route import embeddings_verdict, wrong_kind
from openclaw.policies.engine import Params, Rule, RuleContext, Verdict, rule
from openclaw.policies.pii.entities import EntityFilter, LocationsMode
from openclaw.policies.pii.pseudonymize import AnswerRestorer, Pseudonymizer
from openclaw.policies.pii.scan import (
    ADAPTER_CARRIES,
    PartKind,
    Scan,
    Unscannable,
    check_local_accepts,
    request_walk,
    scan_request,
    unscannable_error,
)
from openclaw.policies.pii.walk import replace
from openclaw.policies.sightings import (
    VALUE_BOOK,
    ValueBook,
    clean_span,
    digest,
    load_key,
    mask,
)
from openclaw.tokens import text_of

log = logging.getLogger("openclaw.policies.rules")

DRAFT_LABEL = "[DRAFT] "


def context_texts(ex: Exchange) -> list[str]:
    """Every string in the request that can leave the machine, plus skill inputs.

    By construction (see :mod:`openclaw.policies.pii.walk`): the walk visits the whole
    body, so a field this module has never heard of is scanned too.
    """
    return request_walk(ex.body, ex.skill).texts


class PiiEngines:
    """The PII engines of one daemon, by settings; they outlive config reloads.

    A reload, or a second policy with the same settings, reuses the loaded spaCy pipeline
    and the per-message cache. Held by the assembly's ``Shared`` parts, so two gateways in
    one process (tests) keep their own.

    The daemon starts a :class:`~openclaw.policies.pii.pool.PiiScanPool` (``pii.workers``)
    with :meth:`start_pool` before it assembles a gateway, so NER runs in worker processes;
    in-process callers (``policy check``, ``skill run``) start none and analyse here.
    """

    def __init__(self) -> None:
        self._engines: dict[tuple[Any, ...], Any] = {}
        self.pool: Any = None  # a started PiiScanPool, or None: analyse in this process
        self._pool_key: tuple[Any, ...] | None = None
        self._retired: list[Any] = []

    async def start_pool(self, settings: PiiSettings) -> None:
        """Start the worker pool ``settings`` ask for, unless the running one matches.

        A pool whose settings changed is retired (closed with :meth:`aclose`) rather than
        stopped now: a gateway from before a reload may still hold engines that use it.
        """
        key = (settings.spacy_model, settings.language, settings.workers, settings.scan_timeout_s)
        if key == self._pool_key:
            return
        # The pool module imports spaCy: only a daemon with a PII rule pays for it.
        from openclaw.policies.pii.pool import PiiScanPool

        pool = PiiScanPool.from_settings(settings)
        if pool is not None:
            await pool.start()
        if self.pool is not None:
            self._retired.append(self.pool)
        self.pool, self._pool_key = pool, key

    def status(self) -> dict[str, Any] | None:
        return None if self.pool is None else dict(self.pool.status())

    async def aclose(self) -> None:
        for pool in [*self._retired, self.pool]:
            if pool is not None:
                await pool.aclose()
        self._retired, self.pool, self._pool_key = [], None, None

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
            id(self.pool),
        )
        eng = self._engines.get(key)
        if eng is None:
            kw: dict[str, Any] = {
                "spacy_model": settings.spacy_model,
                "language": settings.language,
                "pool": self.pool,
            }
            if entities:
                kw["entities"] = entities
            if threshold is not None:
                kw["score_threshold"] = threshold
            eng = self._engines[key] = PiiEngine(**kw)
        return eng


def uses_pii(policies: Sequence[PolicyConfig]) -> bool:
    """Whether any of these policies runs the PII engine (so a daemon starts its pool)."""
    for p in policies:
        if p.rule in (PiiUsesSensitiveModel.name, RedactPii.name):
            return True
        if p.rule == Deny.name and p.params.get("entities"):
            return True
        if (
            p.rule == LogAllRequestsAndResponses.name
            and p.params.get("content", "redacted") == "redacted"
        ):
            return True
    return False


def pii_engine(ctx: RuleContext, entities: list[str] | None, threshold: float | None) -> Any:
    """The shared engine for these settings (see :class:`PiiEngines`)."""
    return ctx.pii.get(ctx.config.policies.pii, entities, threshold)


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


class EntityParams(Params):
    """What counts as PII for routing and redaction (see :mod:`openclaw.policies.pii.entities`)."""

    entities: list[str] | None = None
    score_threshold: float | None = Field(default=None, ge=0, le=1)
    locations: LocationsMode = "address"
    #: Names that never count: a list, or the path of a file with one name a line
    #: (``#`` starts a comment; a relative path is relative to the OpenClaw home).
    allow_names: list[str] | str = Field(default_factory=list)


def load_allow_names(value: list[str] | str, home: Path, policy: str) -> list[str]:
    if isinstance(value, list):
        return value
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = home / path
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(
            f"policies.yaml: policy '{policy}': params.allow_names: cannot read {path} "
            f"({exc.strerror or type(exc).__name__}); give a list of names or a readable "
            "file with one name a line"
        ) from None
    return [ln.split("#", 1)[0].strip() for ln in lines if ln.split("#", 1)[0].strip()]


class PiiRouteParams(EntityParams):
    model: str = "sensitive"
    #: The local ``kind: embedding`` alias PII in an embeddings request goes to; when it is
    #: not configured such a request is refused (403) rather than sent to a remote model.
    embedding_model: str = "sensitive_embedding"
    allow_remote: bool = False
    unscannable: Unscannable = "local"
    #: Kinds of unscannable part the sensitive model reads (the gateway cannot tell).
    local_accepts: list[PartKind] = Field(default_factory=list)
    #: Keep the values that caused reroutes in pii-values.jsonl, for ``policy stats
    #: --show-values``. The audit log only ever holds masks and keyed digests.
    record_values: bool = False


# Sightings kept per audit record; a request with more distinct values is rerouted anyway.
_MAX_SIGHTINGS = 20


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
        providers = self.ctx.config.models.providers
        for kind in self.params.local_accepts:
            for dep in models[target].deployments:
                ptype = providers[dep.provider].type if dep.provider in providers else "mock"
                if kind not in ADAPTER_CARRIES.get(ptype, ADAPTER_CARRIES["openai"]):
                    raise ConfigError(
                        f"policies.yaml: policy '{self.policy.name}': params.local_accepts "
                        f"lists '{kind}', but provider '{dep.provider}' ({ptype}) cannot carry "
                        f"{kind} parts to the model; remove it from local_accepts"
                    )
        self.engine = pii_engine(self.ctx, self.params.entities, self.params.score_threshold)
        home = self.ctx.config.home
        self.filter = EntityFilter.build(
            self.params.locations, load_allow_names(self.params.allow_names, home, self.policy.name)
        )
        self.key = load_key(home)
        self.book = ValueBook(home / VALUE_BOOK) if self.params.record_values else None

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
        scan = await scan_request(self.engine, ex.body, ex.skill, self.filter)
        name = self.policy.name
        mode = self.params.unscannable
        opaque = list(scan.opaque)
        if opaque and mode == "allow":
            if ex.audit.unscannable_allowed is None:
                ex.audit.unscannable_allowed = []
            ex.audit.unscannable_allowed.extend(
                {"policy": name, "part": p.where, "kind": p.kind} for p in opaque
            )
            opaque = []
        if opaque and mode == "refuse":
            part = opaque[0]

            def refuse(ex: Exchange) -> None:
                raise unscannable_error(part, name, "this policy refuses such parts")

            return Verdict(apply=refuse, detail=f"unscannable {part.kind} at {part.where}: refused")
        hits = scan.hits
        if not hits and not opaque:
            return None
        await self._record(ex, scan)
        target = self.params.model
        accepts = self.params.local_accepts

        def apply(ex: Exchange) -> None:
            check_local_accepts(opaque, accepts, target, name)
            ex.alias = target
            ex.local_only = not self.params.allow_remote
            ex.forced_by = name

        detail = None
        if opaque:
            detail = "unscannable " + ", ".join(f"{p.kind} at {p.where}" for p in opaque)
        return Verdict(
            apply=apply, entities=scan.entities or None, model_after=target, detail=detail
        )

    async def _record(self, ex: Exchange, scan: Scan) -> None:
        """Masked, keyed sightings of the values that decided this, for ``policy stats``."""
        seen: dict[tuple[str, str], str] = {}
        for leaf, fs in scan.hits:
            for f in fs:
                value = clean_span(leaf.text[f.start : f.end])
                key = (f.entity_type, digest(self.key, value))
                if key not in seen and len(seen) < _MAX_SIGHTINGS:
                    seen[key] = value
        if not seen:
            return
        if ex.audit.pii_entities is None:
            ex.audit.pii_entities = []
        ex.audit.pii_entities.extend(
            {"policy": self.policy.name, "type": t, "masked": mask(v), "digest": d}
            for (t, d), v in seen.items()
        )
        if self.book is not None:
            await asyncio.to_thread(self.book.add, [(d, v) for (_t, d), v in seen.items()])

    async def _entities(self, texts: list[str]) -> list[str]:
        """The entity types that count in an embeddings request's ``input`` texts."""
        scan = await scan_request(self.engine, {"input": texts}, None, self.filter)
        return scan.entities

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
            for m in messages:
                m["content"] = hashlib.sha256(m["content"].encode()).hexdigest()
        return Verdict(apply=lambda ex: self._capture(ex, messages))

    def _capture(self, ex: Exchange, messages: list[Json]) -> None:
        content: ContentCapture = {
            "mode": self.params.content,
            "messages": messages,
            "response": None,
        }
        ex.audit.content = content
        parts: list[str] = []
        answer: list[str] = []  # the answer's text, once it is complete

        async def finish() -> None:
            # Before the record is written, off the response path; with NER on, the answer
            # may go to a worker, which the event loop must stay free to hear from.
            if not answer:
                return
            text = answer[0]
            if self.params.content == "redacted" and self.engine is not None:
                try:
                    (findings,) = await self.engine.analyze_texts([text])
                except OpenClawError as exc:
                    # Never the unredacted answer: the record keeps none.
                    log.warning("audit copy of %s's answer not kept: %s", ex.request_id, exc)
                    return
                text = self.engine.redact(text, findings)
            elif self.params.content == "hashes":
                text = hashlib.sha256(text.encode()).hexdigest()
            content["response"] = text

        def on_response(resp: Json) -> Json:
            msg = ((resp.get("choices") or [{}])[0]).get("message") or {}
            answer[:] = [text_of(msg.get("content"))]
            return resp

        def on_chunk(ch: Json) -> Json:
            for c in ch.get("choices") or []:
                d = (c.get("delta") or {}).get("content")
                if d:
                    parts.append(d)
                if c.get("finish_reason"):
                    answer[:] = ["".join(parts)]
            return ch

        ex.response_filters.append(on_response)
        ex.chunk_filters.append(on_chunk)
        ex.record_hooks.append(finish)


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


_DENY_FILTER = EntityFilter(locations="any")


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
            # The entities were named on purpose, places included: only the person-shape
            # filter applies ("AWS Lambda" is not a PERSON here either).
            scan = await scan_request(self.engine, ex.body, ex.skill, _DENY_FILTER)
            entities = scan.entities or None
        if hit is None and not entities:
            return None
        message = self.params.message
        name = self.policy.name

        def apply(ex: Exchange) -> None:
            raise PolicyViolation(f"{message} (policy '{name}')")

        return Verdict(apply=apply, entities=entities, detail="pattern" if hit else "entities")


# --------------------------------------------------------------------- redact_pii


class RedactParams(EntityParams):
    #: Parts that cannot be masked (images, audio, files) are refused, or sent as they are
    #: (``allow``, recorded in the audit record). There is no ``local``: this rule does not
    #: choose the model.
    unscannable: Literal["refuse", "allow"] = "refuse"


@rule
class RedactPii(Rule):
    """Pseudonymise every outgoing string (the same walk as routing), restore the answer."""

    name = "redact_pii"
    Params = RedactParams

    def configure(self) -> None:
        self.engine = pii_engine(self.ctx, self.params.entities, self.params.score_threshold)
        self.filter = EntityFilter.build(
            self.params.locations,
            load_allow_names(self.params.allow_names, self.ctx.config.home, self.policy.name),
        )

    async def evaluate(self, ex: Exchange) -> Verdict | None:
        scan = await scan_request(self.engine, ex.body, ex.skill, self.filter)
        name = self.policy.name
        if scan.opaque and self.params.unscannable == "allow":
            if ex.audit.unscannable_allowed is None:
                ex.audit.unscannable_allowed = []
            ex.audit.unscannable_allowed.extend(
                {"policy": name, "part": p.where, "kind": p.kind} for p in scan.opaque
            )
        elif scan.opaque:
            part = scan.opaque[0]

            def refuse(ex: Exchange) -> None:
                raise unscannable_error(part, name, "redact_pii cannot mask it")

            return Verdict(apply=refuse, detail=f"unscannable {part.kind} at {part.where}")
        hits = scan.hits
        if not hits:
            return None

        def apply(ex: Exchange) -> None:
            p = Pseudonymizer()
            masked = {leaf: p.mask(leaf.text, list(fs)) for leaf, fs in hits}
            ex.body = replace(ex.body, masked)
            restorer = AnswerRestorer(p)
            # Restore first, so later filters (drafts, audit) see the real text.
            ex.response_filters.insert(0, restorer.response)
            ex.chunk_filters.insert(0, restorer.chunk)

        return Verdict(apply=apply, entities=scan.entities)


#: The built-in rules, by the name policies.yaml uses. Plugins add theirs (assembly.rule_types).
BUILTIN_RULES: tuple[type[Rule], ...] = (
    AllOutputsAreDrafts,
    PiiUsesSensitiveModel,
    LogAllRequestsAndResponses,
    Deny,
    RedactPii,
)
