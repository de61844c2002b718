"""PII routing for embeddings requests: the PII rule's part that reads ``input``.

An embeddings request has no messages: the texts to scan are its ``input`` strings, and PII
sends it to a local ``kind: embedding`` alias (the rule's ``embedding_model`` parameter)
instead of the chat ``model``. Without that alias the request is refused (403), never sent
to a remote model. Token-array input cannot be read, so it is refused (400 naming
``input``) while the rule is enforced. The rule calls :func:`embeddings_verdict` with its own
scanner, so this module does not depend on how the PII engine works.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from openclaw.config.schema import ModelAlias
from openclaw.errors import InvalidRequest, PolicyViolation
from openclaw.pipeline.exchange import Exchange
from openclaw.policies.engine import Verdict
from openclaw.providers.base import embedding_texts, has_token_input

#: The texts -> the entity types found in them (empty: no PII).
Scanner = Callable[[list[str]], Awaitable[list[str]]]


def wrong_kind(models: Mapping[str, ModelAlias], ex: Exchange) -> bool:
    """The request asked for an alias of the other kind: dispatch refuses it with a 400, so
    the rule must not reroute it to an alias that would serve it."""
    spec = models.get(ex.alias or "")
    return spec is not None and (spec.kind == "embedding") != (ex.api == "embeddings")


async def embeddings_verdict(
    ex: Exchange,
    scan: Scanner,
    *,
    policy: str,
    target: str,
    models: Mapping[str, ModelAlias],
    allow_remote: bool,
) -> Verdict | None:
    if has_token_input(ex.body):
        return Verdict(apply=_refuse_token_input, detail="token input cannot be scanned")
    entities = sorted(set(await scan(embedding_texts(ex.body))))
    if not entities:
        return None
    if target not in models:

        def refuse(ex: Exchange) -> None:
            raise PolicyViolation(
                f"policy '{policy}': the embeddings input contains sensitive data "
                f"({', '.join(entities)}) and no local embedding model '{target}' is "
                "configured, so it was not sent to a remote model (add it to models.yaml "
                "with 'kind: embedding', or name another with params.embedding_model)"
            )

        return Verdict(apply=refuse, entities=entities, detail=f"no embedding model '{target}'")

    def apply(ex: Exchange) -> None:
        ex.alias = target
        ex.local_only = not allow_remote
        ex.forced_by = policy

    return Verdict(apply=apply, entities=entities, model_after=target)


def _refuse_token_input(ex: Exchange) -> None:
    raise InvalidRequest(
        "input: token arrays cannot be checked for sensitive data, and a PII policy is "
        "enforced on this gateway; send the input as text",
        param="input",
        code="unscannable_input",
    )
