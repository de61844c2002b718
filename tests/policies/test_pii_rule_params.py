"""The PII rule's precision knobs, as a user meets them: policies.yaml and ``policy check``.

``locations`` and ``allow_names`` need the spaCy pipeline (names and places come from its
NER); these tests are skipped without one, like the other spaCy-mode tests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harness import MOCK_MODELS
from openclaw.assembly import build_gateway
from openclaw.cli import main
from openclaw.config import load_config
from openclaw.errors import ConfigError


def configure(home: Path, package: str, **params: Any) -> None:
    (home / "models.yaml").write_text(MOCK_MODELS)
    (home / "policies.yaml").write_text(
        f"pii: {{spacy_model: {package}}}\n"
        "policies:\n"
        "  - name: sensitive_data_local\n"
        "    rule: if_context_contains_pii_use_sensitive_model\n"
        "    enforce: true\n"
        f"    params: {json.dumps(params)}\n"
    )


def check(text: str) -> dict[str, Any]:
    r = CliRunner().invoke(main, ["policy", "check", text, "--json"])
    assert r.exit_code == 0, r.output
    out: dict[str, Any] = json.loads(r.output)
    return out


def outcome(result: dict[str, Any]) -> str:
    [d] = result["policies"]
    return str(d["outcome"])


def test_a_city_alone_stays_remote_and_says_why(openclaw_home: Path, spacy_package: str) -> None:
    configure(openclaw_home, spacy_package)
    result = check("What's the weather usually like in Paris in April?")
    assert outcome(result) == "pass" and result["model"] == "general"
    [paris] = result["entities"]
    assert paris["text"] == "Paris" and paris["counts"] is False
    assert paris["why_not"] == "locations: address"
    moved = check("Jane Doe moved to Paris and her loan is overdue.")
    assert outcome(moved) == "applied" and moved["model"] == "sensitive"
    assert all(e["counts"] for e in moved["entities"])


def test_locations_any_counts_every_place(openclaw_home: Path, spacy_package: str) -> None:
    configure(openclaw_home, spacy_package, locations="any")
    assert outcome(check("What's the weather usually like in Paris in April?")) == "applied"


def test_a_product_is_not_a_person(openclaw_home: Path, spacy_package: str) -> None:
    configure(openclaw_home, spacy_package)
    result = check("Explain what Salesforce sells.")
    assert outcome(result) == "pass"
    assert [(e["text"], e["why_not"]) for e in result["entities"]] == [("Salesforce", "vendor")]


def test_allow_names_from_a_list_and_from_a_file(openclaw_home: Path, spacy_package: str) -> None:
    text = "Tell me about Alan Turing's contributions to computing."
    configure(openclaw_home, spacy_package)
    assert outcome(check(text)) == "applied"  # a PERSON still counts by default
    configure(openclaw_home, spacy_package, allow_names=["alan turing"])
    assert outcome(check(text)) == "pass"
    (openclaw_home / "allowed.txt").write_text("# public figures\nAlan Turing  # computing\n")
    configure(openclaw_home, spacy_package, allow_names="allowed.txt")
    result = check(text)
    assert outcome(result) == "pass"
    assert result["entities"][0]["why_not"] == "allow_names"


def test_a_missing_allow_names_file_is_a_config_error_naming_it(openclaw_home: Path) -> None:
    configure(openclaw_home, "none", allow_names="nowhere.txt")
    with pytest.raises(ConfigError, match=r"allow_names: cannot read .*nowhere\.txt"):
        build_gateway(load_config(openclaw_home))


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"locations": "city"}, "params.locations"),
        ({"unscannable": "maybe"}, "params.unscannable"),
        ({"local_accepts": ["hologram"]}, "params.local_accepts"),
    ],
)
def test_bad_values_fail_at_load_naming_the_param(
    openclaw_home: Path, params: dict[str, Any], error: str
) -> None:
    configure(openclaw_home, "none", **params)
    with pytest.raises(ConfigError, match=error):
        build_gateway(load_config(openclaw_home))
