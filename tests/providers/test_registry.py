"""The provider registry: types come from the ``openclaw.providers`` entry-point group only.

A third party's type is installed here the way pip installs one: a ``.dist-info`` folder
with an ``entry_points.txt`` on ``sys.path``, next to the module it names. Nothing in
OpenClaw imports the module or knows its name; configuring it in models.yaml is enough.
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from openai import AsyncOpenAI

from harness import serve_gateway
from openclaw.cli import main
from openclaw.config import load_config
from openclaw.config.schema import ModelsFile
from openclaw.errors import ConfigError
from openclaw.providers.anthropic import AnthropicProvider
from openclaw.providers.registry import ProviderRegistry, load_checked_config
from openclaw.server.state import AppState

PLUGIN_MODULE = "openclaw_echo_test_plugin"
PLUGIN_SOURCE = '''
"""A provider type from outside OpenClaw, installed only through its entry point."""

from collections.abc import AsyncIterator
from typing import ClassVar

from openclaw.config.schema import ProviderConfig, ProviderOptions
from openclaw.providers.base import Json, Provider, ProviderCall, chunk, new_id, now, usage_dict


class EchoProvider(Provider):
    type: ClassVar[str] = "echo_test"
    default_base_url: ClassVar[str | None] = "http://127.0.0.1:9/echo"

    class Options(ProviderOptions):
        greeting: str = "hello"

    config: Options

    def __init__(self, name: str, config: ProviderConfig) -> None:
        super().__init__(name, config)
        self.calls: list[ProviderCall] = []

    def _text(self, call: ProviderCall) -> str:
        self.calls.append(call)
        said = call.messages[-1]["content"]
        return f"{self.config.greeting}, {said} ({call.model} via {self.name})"

    async def complete(self, call: ProviderCall) -> Json:
        message = {"role": "assistant", "content": self._text(call)}
        return {
            "id": new_id(),
            "object": "chat.completion",
            "created": now(),
            "model": call.model,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": usage_dict(3, 5),
        }

    async def stream(self, call: ProviderCall) -> AsyncIterator[Json]:
        cid, created = new_id(), now()
        delta = {"role": "assistant", "content": self._text(call)}
        yield chunk(cid, call.model, created, delta)
        yield chunk(cid, call.model, created, {}, "stop", usage_dict(3, 5))


class Misnamed(EchoProvider):
    type: ClassVar[str] = "something_else"
'''


def install_distribution(site: Path, name: str, entry_points: str) -> None:
    """What ``pip install`` leaves behind that entry-point discovery reads."""
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A distribution ``openclaw-echo-test`` that installs the provider type ``echo_test``."""
    site = tmp_path / "site-packages"
    site.mkdir()
    (site / f"{PLUGIN_MODULE}.py").write_text(PLUGIN_SOURCE)
    install_distribution(
        site,
        "openclaw_echo_test",
        f"""\
        [openclaw.providers]
        echo_test = {PLUGIN_MODULE}:EchoProvider
        """,
    )
    monkeypatch.syspath_prepend(str(site))
    yield site
    sys.modules.pop(PLUGIN_MODULE, None)


ECHO_MODELS = """\
providers:
  shout:
    type: echo_test
    greeting: ahoy
models:
  general: {provider: shout, model: echo-1}
"""


async def test_a_type_installed_by_a_third_party_entry_point_serves_a_request(
    plugin: Path, openclaw_home: Path
) -> None:
    served = await serve_gateway(openclaw_home, models=ECHO_MODELS)
    try:
        client = AsyncOpenAI(base_url=served.url, api_key=served.token)
        reply = await client.chat.completions.create(
            model="general", messages=[{"role": "user", "content": "anyone there?"}]
        )
        assert reply.choices[0].message.content == "ahoy, anyone there? (echo-1 via shout)"
        stream = await client.chat.completions.create(
            model="general", messages=[{"role": "user", "content": "again"}], stream=True
        )
        streamed = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        assert streamed == "ahoy, again (echo-1 via shout)"
        await client.close()
        adapter = served.state.gateway.providers["shout"]
        assert type(adapter).__module__ == PLUGIN_MODULE
        assert [c.model for c in adapter.calls] == ["echo-1", "echo-1"]  # type: ignore[attr-defined]
        assert [(r["provider"], r["status"]) for r in served.audit()] == [
            ("shout", 200),
            ("shout", 200),
        ]
    finally:
        await served.close()


def test_a_bad_option_of_a_third_party_type_names_file_line_and_nearest_key(
    plugin: Path, openclaw_home: Path
) -> None:
    (openclaw_home / "models.yaml").write_text(ECHO_MODELS.replace("greeting:", "greting:"))
    with pytest.raises(ConfigError) as info:
        load_checked_config(openclaw_home)
    assert info.value.message == (
        f"{openclaw_home / 'models.yaml'}:4: providers.shout.greting: unknown key; "
        "did you mean 'greeting'?"
    )
    # The daemon loads the same way, so it refuses the file too.
    with pytest.raises(ConfigError, match="did you mean 'greeting'"):
        AppState.build(openclaw_home, "token")


def test_an_option_of_the_wrong_kind_is_refused_at_its_line(
    plugin: Path, openclaw_home: Path
) -> None:
    (openclaw_home / "models.yaml").write_text(ECHO_MODELS.replace("ahoy", "[a, list]"))
    with pytest.raises(ConfigError, match=r"models.yaml:4: providers.shout.greeting: "):
        load_checked_config(openclaw_home)


def test_an_unknown_type_names_its_line_and_the_nearest_installed_type(
    openclaw_home: Path,
) -> None:
    (openclaw_home / "models.yaml").write_text(
        "providers:\n  main:\n    type: opnai\nmodels:\n  general: {provider: main, model: m}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_checked_config(openclaw_home)
    assert info.value.message.endswith(
        "models.yaml:3: providers.main.type: unknown provider type 'opnai'; did you mean 'openai'?"
    )


def test_every_problem_is_reported_at_once(openclaw_home: Path) -> None:
    (openclaw_home / "models.yaml").write_text(
        "providers:\n"
        "  a: {type: openai, api_version: '2023-06-01'}\n"
        "  b: {type: antropic}\n"
        "models:\n  general: {provider: a, model: m}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_checked_config(openclaw_home)
    lines = info.value.message.splitlines()
    assert len(lines) == 2
    assert (
        "models.yaml:2: providers.a.api_version: unknown key; did you mean 'api_key'?" in lines[0]
    )
    assert "models.yaml:3: providers.b.type: unknown provider type 'antropic'" in lines[1]


def test_a_type_keeps_its_own_options_to_itself(openclaw_home: Path) -> None:
    """``api_version`` is Anthropic's: accepted there, typed on its adapter."""
    (openclaw_home / "models.yaml").write_text(
        "providers:\n  claude: {type: anthropic, api_version: '2099-01-01'}\n"
        "models:\n  general: {provider: claude, model: m}\n"
    )
    config = load_checked_config(openclaw_home)
    adapter = ProviderRegistry.from_entry_points().build_providers(config.models)["claude"]
    assert isinstance(adapter, AnthropicProvider)
    assert adapter.config.api_version == "2099-01-01"


def test_plain_load_config_leaves_type_checks_to_the_hook(openclaw_home: Path) -> None:
    (openclaw_home / "models.yaml").write_text(
        "providers:\n  main: {type: opnai}\nmodels:\n  general: {provider: main, model: m}\n"
    )
    assert load_config(openclaw_home).models.providers["main"].type == "opnai"
    seen = []
    with pytest.raises(ConfigError, match="unknown provider type 'opnai'"):
        load_config(openclaw_home, check=lambda c: (seen.append(c), ProviderRegistry.from_entry_points().check(c)))  # fmt: skip
    assert len(seen) == 1


def test_the_built_in_types_come_from_the_entry_point_group_with_their_facts() -> None:
    registry = ProviderRegistry.from_entry_points()
    assert {"openai", "openai_compatible", "anthropic", "ollama", "mock"} <= set(registry.names())
    for name in ("openai", "openai_compatible", "anthropic", "ollama", "mock"):
        described = registry.describe(name)
        assert registry.get(name).type == name
        assert described["package"] == "openclaw"
    assert registry.describe("anthropic")["options"] == ["api_version"]
    assert registry.describe("openai")["key_env_var"] == "OPENAI_API_KEY"
    assert registry.describe("openai")["multiple_choices"] is True
    assert registry.describe("anthropic")["multiple_choices"] is False


def test_a_bare_type_means_its_declared_url_and_key_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = ProviderRegistry.from_entry_points()
    openai = registry.default_config("openai")
    assert (openai.base_url, openai.api_key) == ("https://api.openai.com/v1", "${OPENAI_API_KEY}")
    assert registry.default_config("ollama").base_url == "http://localhost:11434"
    monkeypatch.setenv("OLLAMA_HOST", "10.1.2.3:11434")
    assert registry.default_config("ollama").base_url == "http://10.1.2.3:11434"


def test_a_bare_third_party_type_is_usable_without_a_providers_entry(
    plugin: Path, openclaw_home: Path
) -> None:
    (openclaw_home / "models.yaml").write_text(
        "models:\n  general: {provider: echo_test, model: e}\n"
    )
    config = load_checked_config(openclaw_home)
    adapter = ProviderRegistry.from_entry_points().build_providers(config.models)["echo_test"]
    assert adapter.config.greeting == "hello"  # type: ignore[attr-defined]
    assert adapter.base_url == "http://127.0.0.1:9/echo"


def test_a_plugin_that_fails_to_import_breaks_only_configs_that_use_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, openclaw_home: Path
) -> None:
    site = tmp_path / "broken-site"
    install_distribution(
        site,
        "openclaw_broken_test",
        """\
        [openclaw.providers]
        broken_test = openclaw_no_such_module_here:Provider
        """,
    )
    monkeypatch.syspath_prepend(str(site))
    (openclaw_home / "models.yaml").write_text("models:\n  general: {provider: mock, model: m}\n")
    load_checked_config(openclaw_home)
    (openclaw_home / "models.yaml").write_text(
        "providers:\n  b: {type: broken_test}\nmodels:\n  general: {provider: b, model: m}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_checked_config(openclaw_home)
    assert "models.yaml:2: providers.b.type: provider type 'broken_test' cannot be imported" in (
        info.value.message
    )
    assert "openclaw_broken_test" in info.value.message and "ModuleNotFoundError" in (
        info.value.message
    )


def test_an_entry_point_whose_class_declares_another_type_is_refused(
    plugin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_distribution(
        plugin,
        "openclaw_misnamed_test",
        f"""\
        [openclaw.providers]
        misnamed_test = {PLUGIN_MODULE}:Misnamed
        """,
    )
    with pytest.raises(ConfigError, match="declares type = 'something_else'"):
        ProviderRegistry.from_entry_points().get("misnamed_test")


def test_registries_are_plain_objects_and_importing_an_adapter_registers_nothing() -> None:
    only_mock = ProviderRegistry({"mock": ProviderRegistry.from_entry_points().get("mock")})
    assert only_mock.names() == ["mock"]
    with pytest.raises(ConfigError, match="unknown provider type 'openai'"):
        only_mock.get("openai")
    assert "openai" in ProviderRegistry.from_entry_points()


def test_models_types_lists_a_plugin_type_with_its_package_and_own_keys(plugin: Path) -> None:
    result = CliRunner().invoke(main, ["models", "types", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["type"]: r for r in json.loads(result.output)}
    assert rows["echo_test"]["package"] == "openclaw_echo_test"
    assert rows["echo_test"]["options"] == ["greeting"]
    assert rows["echo_test"]["default_base_url"] == "http://127.0.0.1:9/echo"
    assert rows["anthropic"]["package"] == "openclaw"


def test_a_config_built_in_code_with_a_bad_option_fails_as_a_config_error() -> None:
    models = ModelsFile.model_validate(
        {
            "providers": {"c": {"type": "anthropic", "api_versoin": "x"}},
            "models": {"general": {"provider": "c", "model": "m"}},
        }
    )
    with pytest.raises(ConfigError) as info:
        ProviderRegistry.from_entry_points().build_providers(models)
    assert info.value.message == (
        "models: providers.c.api_versoin: unknown key; did you mean 'api_version'?"
    )
