"""Choosing a model alias for a request.

Order: an explicit alias; a provider model name that exactly one alias maps to; ``auto`` or
no model routes by task (``X-OpenClaw-Task`` or ``metadata.task``) against ``use_for``, else
the default alias. Anything else is 404 ``model_not_found``. The tables are built once per
config load, not per request.
"""

from __future__ import annotations

from openclaw.config.schema import ModelsFile
from openclaw.errors import InvalidRequest, ModelNotFound


class ModelSelector:
    def __init__(self, models: ModelsFile, default_alias: str | None) -> None:
        self.aliases = set(models.models)
        self.default = default_alias
        self.by_task: dict[str, str] = {}
        for alias, spec in models.models.items():
            for task in spec.use_for:
                self.by_task.setdefault(task, alias)
        owners: dict[str, set[str]] = {}
        for alias, spec in models.models.items():
            for dep in spec.deployments:
                owners.setdefault(dep.model, set()).add(alias)
        self.by_provider_model = {m: next(iter(a)) for m, a in owners.items() if len(a) == 1}
        self.ambiguous = {m: sorted(a) for m, a in owners.items() if len(a) > 1}

    def select(self, model: str | None, task: str | None) -> str:
        if model and model != "auto":
            if model in self.aliases:
                return model
            alias = self.by_provider_model.get(model)
            if alias is not None:
                return alias
            if model in self.ambiguous:
                raise ModelNotFound(
                    f"model '{model}' is served by several aliases "
                    f"({', '.join(self.ambiguous[model])}); ask for one of them by name",
                    param="model",
                )
            known = ", ".join(sorted(self.aliases)) or "none configured"
            raise ModelNotFound(
                f"model '{model}' is not configured (known aliases: {known}; or use 'auto')",
                param="model",
            )
        if task:
            alias = self.by_task.get(task)
            if alias is not None:
                return alias
        if self.default is None:
            raise ModelNotFound("no models are configured in models.yaml", param="model")
        return self.default


def check_alias_kind(alias: str, kind: str, api: str) -> None:
    """Refuse an alias of the wrong kind for ``api`` with a 400 that says which kind fits.

    ``kind`` is the alias's ``kind:`` from models.yaml (``chat`` or ``embedding``).
    """
    if api == "embeddings" and kind != "embedding":
        raise InvalidRequest(
            f"model '{alias}' is a chat model; /v1/embeddings needs an alias declared with "
            "'kind: embedding' in models.yaml",
            param="model",
            code="wrong_model_kind",
        )
    if api != "embeddings" and kind == "embedding":
        raise InvalidRequest(
            f"model '{alias}' is an embedding model (kind: embedding); use it with "
            "/v1/embeddings, or pick a chat alias for this request",
            param="model",
            code="wrong_model_kind",
        )
