"""Which findings decide routing: places only with an address, and names that are people.

The engine reports what presidio and the NER find. Two kinds of those findings are mostly
not personal data, and rerouting on them sends everyday questions to a weaker local model for
no privacy gain (issue: "a city is not personal data, and 'AWS Lambda' is not a person"):

- **Places.** A city or a country on its own identifies nobody. With ``locations:
  address`` (the default) a ``LOCATION`` counts only when the request also holds a street
  address (:mod:`.address`), a person's name or another identifier: "ship it to my flat in
  Leeds, 12 High Street" and "Jane Doe moved to Leeds" still count, "trains from Berlin to
  Munich" does not. ``any`` counts every place (the old behaviour); ``none`` never counts a
  ``LOCATION`` (street addresses still do, as ``STREET_ADDRESS``).
- **Things the NER reads as people.** The small English pipeline tags "AWS Lambda" or
  "SvelteKit" as PERSON now and then. A PERSON span is dropped when its *shape* says
  product, not person (:func:`not_a_person` gives the reason):

  * a digit ("GPT 4", "Pixel 8");
  * an acronym of three or more capitals next to other words ("AWS Lambda"; an all-capitals
    name such as "JOHN SMITH" on a form is kept);
  * camel case ("PyTorch", "GitHub", "iPhone"), except the name prefixes Mc, Mac, De, Di,
    La, Le and the like ("McDonald", "LeBron", "DeShawn");
  * a dotted product name ("Next.js");
  * a known product suffix as the last word ("Cloud Functions", "Visual Studio");
  * a known vendor as the first word or the whole span ("Google Cloud", "Jira"); the list
    leaves out vendors that are also names (Ford, Dell, Tesla, Power, Bing);
  * a programming language's name, from Pygments' lexer list (a maintained list of some
    600 languages, installed with ``rich``), only when the text also talks about code:
    "Julia", "Ruby", "Ada" and even "Earl Grey" (a Pygments style of lexer) are people too.

  Public figures are not filtered: a 13 MB NER cannot know who is famous, so a PERSON still
  counts unless the user lists it in ``allow_names``.

Every filter is measured against the names-recall corpus in ``tests/policies/corpus``; the
tests fail if any of them costs a real name there.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

from pygments.lexers import get_all_lexers

from openclaw.policies.pii.findings import Finding
from openclaw.policies.sightings import clean_span, normalise_name

LocationsMode = Literal["address", "any", "none"]
PLACE_ENTITIES = frozenset({"LOCATION"})
NAME_ENTITIES = frozenset({"PERSON", "LOCATION", "NRP", "ORGANIZATION"})
ADDRESS_ENTITY = "STREET_ADDRESS"

# Last words that make a span a product or service, not a person.
PRODUCT_SUFFIXES = frozenset(
    {
        "Cloud", "Functions", "Function", "Lambda", "Studio", "Server", "Services", "Service",
        "Platform", "Suite", "Hub", "Framework", "Toolkit", "Runtime", "SDK", "API", "DB",
        "OS", "Pro", "Max", "Ultra", "Plus", "Mini", "Engine", "Compute", "Storage", "Copilot",
        "Workspace", "Docs", "Sheets", "Drive", "Teams", "Office", "Analytics", "Console",
        "Shell", "Store", "Maps", "Pay", "Assistant", "Desktop", "Enterprise", "Edition",
        "Notebook", "Notebooks", "Pipelines", "Database", "Cache", "Queue",
        "Gateway", "Registry", "Manager", "Monitor", "Insights",
    }
)  # fmt: skip

# First words that make a span a product of that vendor. Only vendors whose name is not
# also a common surname or given name (no Ford, Dell, Tesla, Jordan).
VENDORS = frozenset(
    {
        "AWS", "Amazon", "Google", "Microsoft", "Azure", "Apple", "IBM", "Oracle", "GitHub",
        "GitLab", "Docker", "Kubernetes", "Cloudflare", "Salesforce", "Adobe", "Nvidia",
        "NVIDIA", "Intel", "AMD", "OpenAI", "Anthropic", "Firebase", "Heroku", "Vercel",
        "Netlify", "Stripe", "Twilio", "Slack", "Atlassian", "Jira", "Confluence", "Notion",
        "Snowflake", "Databricks", "Terraform", "HashiCorp", "Mozilla", "Firefox", "Chrome",
        "Android", "Windows", "Linux", "Ubuntu", "Debian", "VMware", "Cisco", "SAP",
        "Samsung", "Huawei", "Xiaomi", "Alibaba", "Tencent", "Baidu", "Meta", "Facebook",
        "Instagram", "WhatsApp", "YouTube", "Netflix", "Spotify", "Uber", "Airbnb", "Shopify",
        "PayPal", "Zoom", "Dropbox", "Figma", "Postgres", "PostgreSQL", "MySQL", "MongoDB",
        "Redis", "Kafka", "Apache", "Elastic", "Grafana", "Prometheus", "Datadog", "Splunk",
        "Vertex", "Gemini", "Outlook", "Excel", "Gmail", "Xbox",
        "PlayStation", "Nintendo", "Hugging", "Llama", "Mistral", "DeepSeek", "Qwen",
    }
)  # fmt: skip

# Words that say a text is about code, so a one-word language name ("Rust") is a language.
CODE_WORDS = frozenset(
    {
        "code", "coding", "program", "programs", "programming", "language", "languages",
        "library", "libraries", "function", "functions", "script", "scripts", "compile",
        "compiler", "syntax", "framework", "package", "module", "class", "method", "rewrite",
        "port", "implement", "implementation", "snippet", "bug", "api", "sdk", "runtime",
        "repo", "repository", "lexer", "parser", "interpreter", "typed", "typing", "macro",
        "macros", "loop", "variable", "variables", "array", "string", "compiled", "written",
    }
)  # fmt: skip

_NAME_PREFIX = re.compile(
    r"^(?:Mc|Mac|De|Di|Da|Du|Del|Della|La|Le|Lo|Ja|Ke|Ta|Van|Von|Fitz|St|O)[A-Z]"
)
_CAMEL = re.compile(r"[a-z][A-Z]|^[a-z]+[A-Z]")
_DOTTED = re.compile(r"\w\.[a-z]")
_ACRONYM = re.compile(r"^[A-Z][A-Z0-9]{2,}$")
_WORD = re.compile(r"[A-Za-z]+")


@cache
def language_names() -> tuple[frozenset[str], frozenset[str]]:
    """(one-word, multi-word) programming-language names from Pygments' lexer list."""
    single: set[str] = set()
    multi: set[str] = set()
    for name, *_ in get_all_lexers():
        name = name.strip()
        if not name or not name[0].isalpha():
            continue
        (multi if " " in name else single).add(name)
    return frozenset(single), frozenset(multi)


def not_a_person(span: str, text: str) -> str | None:
    """Why the PERSON ``span`` (found in ``text``) is a product, not a person; None if a person."""
    span = clean_span(span)
    tokens = span.split()
    if not tokens:
        return None
    if any(c.isdigit() for c in span):
        return "digit"
    if len(tokens) > 1 and not span.isupper() and any(_ACRONYM.match(t) for t in tokens):
        return "acronym"
    for t in tokens:
        if _CAMEL.search(t) and not _NAME_PREFIX.match(t):
            return "camel case"
        if _DOTTED.search(t):
            return "dotted name"
    if len(tokens) > 1 and tokens[-1] in PRODUCT_SUFFIXES:
        return "product suffix"
    if tokens[0] in VENDORS:
        return "vendor"
    single, multi = language_names()
    if span in (multi if len(tokens) > 1 else single):
        words = {w.lower() for w in _WORD.findall(text)}
        if words & CODE_WORDS:
            return "language"
    return None


@dataclass(frozen=True)
class EntityFilter:
    """The routing view of findings; see the module docstring."""

    locations: LocationsMode = "address"
    allow_names: frozenset[str] = field(default_factory=frozenset)
    person_shapes: bool = True

    @classmethod
    def build(
        cls, locations: LocationsMode = "address", allow_names: Iterable[str] = ()
    ) -> EntityFilter:
        return cls(locations, frozenset(normalise_name(n) for n in allow_names if n.strip()))

    def keep(
        self, texts: Sequence[str], results: Sequence[Collection[Finding]]
    ) -> list[list[Finding]]:
        """For each text, the findings that count, judged over the whole request."""
        named: list[list[Finding]] = [
            [f for f in fs if not self._dropped_name(t, f)]
            for t, fs in zip(texts, results, strict=True)
        ]
        if self.locations == "any":
            return named
        # Something other than a place makes the request personal: then its places count.
        personal = any(f.entity_type not in PLACE_ENTITIES for fs in named for f in fs)
        out: list[list[Finding]] = []
        for fs in named:
            if self.locations == "none" or not personal:
                fs = [f for f in fs if f.entity_type not in PLACE_ENTITIES]
            out.append(fs)
        return out

    def dropped(self, text: str, finding: Finding) -> str | None:
        """Why a finding does not count on its own (allow-listed, not a person), or None."""
        if finding.entity_type not in NAME_ENTITIES:
            return None
        span = text[finding.start : finding.end]
        if self.allow_names and normalise_name(span) in self.allow_names:
            return "allow_names"
        if finding.entity_type == "PERSON" and self.person_shapes:
            return not_a_person(span, text)
        return None

    def _dropped_name(self, text: str, finding: Finding) -> bool:
        return self.dropped(text, finding) is not None
