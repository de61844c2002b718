"""Reading YAML config files into typed models, with errors a person can act on.

The YAML is composed into nodes first so every value keeps its line number. ``${VAR}`` and
``${VAR:-default}`` are expanded in scalars, except in secret fields (``api_key``, tokens,
secrets), which keep the reference text and are resolved from the environment only when
used, so a secret value never sits in a config object, a status page or an error message.
Validation errors are mapped back to ``file:line: dotted.key: problem (hint)``.

Two checks keep a literal credential out of the files: a secret field's reference may not
carry a non-empty default (``${KEY:-sk-...}`` would hide the key in the default), and an
upstream header whose name says it carries a credential (``Authorization``, ``x-api-key``,
``*-token`` ...) under ``providers.<name>.headers`` must take its value from a reference
(``"Bearer ${GROQ_API_KEY}"``), not hold it.
"""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from openclaw.errors import ConfigError

SECRET_KEYS = frozenset(
    {
        "api_key",
        "bot_token",
        "app_token",
        "signing_secret",
        "secret",
        "token",
        "password",
        "anchor_key",
    }
)
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
#: Header names that carry a credential: these may only be filled from ``${VAR}``.
_CREDENTIAL_HEADER = re.compile(
    r"^(?:proxy-)?authorization$|^cookie$|(?:^|[-_])(?:api[-_]?key|key|token|secret|password)$",
    re.IGNORECASE,
)
#: The one shape a credential header's value may have: an optional scheme, then a reference.
_CREDENTIAL_VALUE = re.compile(
    r"^(?:(?:Bearer|Basic|Token|Key)\s+)?\$\{[A-Za-z_][A-Za-z0-9_]*(?::-)?\}$"
)
_PROVIDER_HEADER = re.compile(r"^providers\.[^.]+\.headers\.[^.]+$")

M = TypeVar("M", bound=BaseModel)


def interpolate(text: str, where: str, env: os._Environ[str] | dict[str, str] | None = None) -> str:
    """Expand ``${VAR}`` / ``${VAR:-default}``; an unset variable without a default is an error."""
    environ = os.environ if env is None else env

    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        value = environ.get(name)
        if value is None or (value == "" and default is not None):
            if default is None:
                raise ConfigError(
                    f"{where}: environment variable {name} is not set "
                    f"(set it, or write ${{{name}:-default}})"
                )
            return default
        return value

    return _VAR.sub(sub, text)


def _construct(node: yaml.Node, path: str, key: str | None, where: str) -> Any:
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for k_node, v_node in node.value:
            k = _construct(k_node, path, None, where)
            if k in out:
                line = k_node.start_mark.line + 1
                raise ConfigError(f"{where}:{line}: {_join(path, k)}: duplicate key (remove one)")
            out[k] = _construct(v_node, _join(path, k), str(k), where)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, f"{path}[{i}]", None, where) for i, item in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    loader = yaml.SafeLoader("")
    value = loader.construct_object(node)  # type: ignore[no-untyped-call]
    if not isinstance(value, str):
        return value
    line = node.start_mark.line + 1
    if key in SECRET_KEYS:
        _check_secret_default(value, f"{where}:{line}: {path}")
    elif key is not None and _PROVIDER_HEADER.match(path) and _CREDENTIAL_HEADER.search(key):
        _check_credential_header(value, key, f"{where}:{line}: {path}")
    if "${" in value and key not in SECRET_KEYS:
        value = interpolate(value, f"{where}:{line}: {path}")
    return value


def _check_secret_default(value: str, where: str) -> None:
    """A secret reference may fall back to nothing, never to a value written in the file."""
    for m in _VAR.finditer(value):
        if m.group(2):
            raise ConfigError(
                f"{where}: a secret's reference may not have a default value "
                f"(write '${{{m.group(1)}}}' and set {m.group(1)} in the environment or "
                "gateway.env)"
            )


def _check_credential_header(value: str, header: str, where: str) -> None:
    """``Authorization: "Bearer ${KEY}"`` is fine; a literal token or a default is not."""
    if _CREDENTIAL_VALUE.match(value.strip()):
        return
    raise ConfigError(
        f"{where}: header '{header}' carries a credential, so its value must come from an "
        f"environment reference (write e.g. '{header}: \"${{MY_TOKEN}}\"', or "
        f"'\"Bearer ${{MY_TOKEN}}\"' for Authorization, and set MY_TOKEN in gateway.env)"
    )


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _locate(root: yaml.Node | None, loc: tuple[Any, ...]) -> tuple[int | None, bool]:
    """Line of the node at ``loc`` (1-based), and whether the last key itself was found."""
    node = root
    line = (node.start_mark.line + 1) if node is not None else None
    found_last = False
    for i, step in enumerate(loc):
        found_last = False
        if isinstance(node, yaml.MappingNode):
            for k_node, v_node in node.value:
                if k_node.value == str(step):
                    line = k_node.start_mark.line + 1
                    node = v_node
                    found_last = i == len(loc) - 1
                    break
            # Steps that are not keys (pydantic union tags) are skipped.
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(step, int)
            and 0 <= step < len(node.value)
        ):
            node = node.value[step]
            line = node.start_mark.line + 1
    return line, found_last


def _model_at(annotation: Any, steps: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that a validation ``loc`` points into, for key suggestions."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _model_at(typing.get_args(annotation)[0], steps)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if steps and isinstance(steps[0], str):
            for member in members:
                fields = getattr(member, "model_fields", {})
                type_field = fields.get("type")
                if type_field is not None and steps[0] in typing.get_args(type_field.annotation):
                    return _model_at(member, steps[1:])
        for member in members:
            found = _model_at(member, steps)
            if found is not None:
                return found
        return None
    if origin in (dict, list, tuple, set, frozenset):
        args = typing.get_args(annotation)
        return _model_at(args[-1], steps[1:]) if args and steps else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if not steps:
            return annotation
        field = annotation.model_fields.get(str(steps[0]))
        return _model_at(field.annotation, steps[1:]) if field is not None else None
    return None


def did_you_mean(word: str, choices: list[str]) -> str:
    """The hint for an unknown name: the nearest of ``choices``, else all of them."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    if close:
        return f"did you mean '{close[0]}'?"
    return f"valid: {', '.join(choices)}" if choices else "none is available"


def dotted(loc: tuple[Any, ...]) -> str:
    """``("models", "g", "deployments", 0)`` as ``models.g.deployments[0]``."""
    text = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc)
    return text.replace(".[", "[")


def format_validation_error(
    exc: ValidationError,
    model: type[BaseModel],
    root: yaml.Node | None,
    where: str,
    at: tuple[Any, ...] = (),
) -> str:
    """One ``file:line: key: problem (hint)`` line per error; ``at`` is where in the file the
    validated ``model`` sits when it is not the whole file (a provider's own options)."""
    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        line, _ = _locate(root, at + loc)
        prefix = f"{where}:{line}" if line else where
        if err["type"] == "extra_forbidden":
            key = str(loc[-1])
            valid = _valid_siblings(loc, model)
            close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
            hint = (
                f"did you mean '{close[0]}'?"
                if close
                else (f"valid keys: {', '.join(valid)}" if valid else "remove it")
            )
            lines.append(f"{prefix}: {dotted(at + loc)}: unknown key; {hint}")
        elif err["type"] == "missing":
            lines.append(f"{prefix}: {dotted(at + loc)}: required key is missing (add it)")
        else:
            msg = err["msg"]
            lines.append(f"{prefix}: {dotted(at + loc)}: {msg}")
    return "\n".join(lines)


def _valid_siblings(loc: tuple[Any, ...], model: type[BaseModel]) -> list[str]:
    found = _model_at(model, loc[:-1])
    if found is None:
        return []
    keys = set(found.model_fields)
    keys.update(f.alias for f in found.model_fields.values() if f.alias)
    return sorted(keys)


def load_yaml_text(text: str, where: str) -> tuple[Any, yaml.Node | None]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = (mark.line + 1) if mark is not None else "?"
        problem = exc.problem or str(exc)
        raise ConfigError(
            f"{where}:{line}: YAML syntax error: {problem} (check indentation and quoting)"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: YAML error: {exc}") from None
    if root is None:
        return None, None
    return _construct(root, "", None, where), root


def where_of(path: Path) -> str:
    """How messages name a config file."""
    return path.name if path.parent == Path() else str(path)


def located(path: Path, at: tuple[Any, ...]) -> str:
    """``file:line`` of the key at ``at`` in the YAML file ``path`` (``file`` if not found).

    For checks made after loading (the provider registry's), which have the key but no node.
    """
    where = where_of(path)
    root = _compose(path)
    line, _ = _locate(root, at)
    return f"{where}:{line}" if root is not None and line else where


def part_error(
    path: Path, exc: ValidationError, model: type[BaseModel], at: tuple[Any, ...]
) -> ConfigError:
    """A ConfigError for ``exc``, raised validating the part of ``path`` at ``at`` against
    ``model`` after loading; worded and located exactly as a whole-file error is."""
    where = where_of(path)
    return ConfigError(format_validation_error(exc, model, _compose(path), where, at))


def _compose(path: Path) -> yaml.Node | None:
    """The file's node tree, for line numbers only (no values are built or expanded)."""
    try:
        return yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, yaml.YAMLError):  # no file (a config built in code): no line numbers
        return None


def load_model(path: Path, model: type[M], *, missing_ok: bool = True) -> M:
    """Load ``path`` into ``model``; a missing file gives the model's defaults if allowed."""
    where = where_of(path)
    if not path.exists():
        if missing_ok:
            return model()
        raise ConfigError(f"{where}: file not found (run 'openclaw onboard' to create it)")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read: {exc.strerror}") from None
    return parse_model(text, model, where)


def parse_model(text: str, model: type[M], where: str) -> M:
    data, root = load_yaml_text(text, where)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}:1: expected a mapping at the top level (e.g. 'models:')")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, model, root, where)) from None
