"""Presidio's phone recognizer, run only where a phone number can be. Same results, less work.

Presidio runs python-phonenumbers' ``PhoneNumberMatcher`` over the whole text once for each of
eight regions, and the matcher parses and validates every digit group it meets ("3.11",
"40 ms", "2024"). On a 4 KB prompt full of ordinary numbers that is over 10 ms, nearly all
of the pattern-only cost. :class:`WindowedPhoneRecognizer` gives the matcher only windows of
the text that can hold a valid number for that region, and shifts the matches back.

Why the results cannot change:

1. **Digits.** A valid number has at least ``min_digits(region)`` digits: the shortest
   national number length in the region's metadata (4 for DE, 10 for US), or, written
   internationally, the shortest country code plus national number anywhere (6). The
   digits of one candidate are blocks joined by at most four punctuation characters, so
   they lie inside one :data:`_RUN` (digits joined by at most four characters that are not
   letters, bar "x", nor newlines). Only runs with enough digits get a window.
2. **Cut points.** A window starts and ends at positions no candidate can span and no check
   looks across: just after a newline (not phone punctuation, nor an extension separator),
   and after the first letter of a whole run of three or more ASCII letters, unless the run
   has an "x" (phone punctuation, and in "ext", "extension", "anexo") or is "int": the only
   letters a candidate can hold are those of an extension label that stands alone between
   the number and its digits.
   The matcher's checks look at one character before a candidate (kept: the window keeps
   the letter or newline) and at most three after it (":30" after a time stamp, which a
   kept letter already rules out).

The one difference: the matcher gives up after 65,535 failed candidates in one text, while
each window starts with a fresh budget, so a pathological text could yield more findings
here, never fewer. ``test_pii_prefilter.py`` compares both on generated text.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

import phonenumbers
from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import COUNTRY_CODES_FOR_NON_GEO_REGIONS, SUPPORTED_REGIONS
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import PhoneRecognizer

# Digits joined by up to four characters that phone punctuation may be: anything but letters,
# digits and newlines, plus "x"/"X", "_" and "ー" (U+30FC, a letter to \w, punctuation to
# phonenumbers). A test checks this covers phonenumbers' own punctuation set.
_GAP = r"(?:[^\w\n]|[xX_\u30fc])"
_RUN = re.compile(rf"\d(?:{_GAP}{{0,4}}\d)*")
_DIGIT = re.compile(r"\d")
_ASCII_WORD = re.compile(r"[A-Za-z]{3,}")


def _shortest(metadata: Any) -> int | None:
    lengths = [n for n in getattr(metadata.general_desc, "possible_length", ()) or () if n > 0]
    return min(lengths) if lengths else None


@cache
def _international_min() -> int:
    """Fewest digits of any valid number written with its country code (1 if unknown)."""
    everywhere = [PhoneMetadata.metadata_for_region(r) for r in SUPPORTED_REGIONS]
    everywhere += [
        PhoneMetadata.metadata_for_nongeo_region(c) for c in COUNTRY_CODES_FOR_NON_GEO_REGIONS
    ]
    lengths: list[int] = []
    for metadata in everywhere:
        shortest = _shortest(metadata) if metadata is not None else None
        if metadata is None or shortest is None or not metadata.country_code:
            return 1
        lengths.append(len(str(metadata.country_code)) + shortest)
    return min(lengths, default=1)


@cache
def min_digits(region: str) -> int:
    """Fewest digits a number valid when read with default ``region`` can have (1 if unknown)."""
    metadata = PhoneMetadata.metadata_for_region(region)
    national = _shortest(metadata) if metadata is not None else None
    if national is None:
        return 1
    return max(1, min(national, _international_min()))


def cut_points(text: str) -> list[int]:
    """Positions where the text may be cut for the matcher without changing its results."""
    cuts = [m.end() for m in re.finditer("\n", text)]
    cuts.extend(
        m.start() + 1
        for m in _ASCII_WORD.finditer(text)
        if "x" not in (word := m.group().lower()) and word != "int"
    )
    cuts.sort()
    return cuts


def windows(
    text: str, runs: list[tuple[int, int, int]], cuts: list[int], need: int
) -> list[tuple[int, int]]:
    """Merged ``[start, end)`` windows, between cut points, around runs of ``need`` digits."""
    out: list[tuple[int, int]] = []
    for start, end, digits in runs:
        if digits < need:
            continue
        i = bisect.bisect_right(cuts, start) - 1
        j = bisect.bisect_left(cuts, end)
        ws = cuts[i] if i >= 0 else 0
        we = cuts[j] if j < len(cuts) else len(text)
        if out and ws <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], we))
        else:
            out.append((ws, we))
    return out


@dataclass(frozen=True)
class _Shifted:
    start: int
    end: int


class WindowedPhoneRecognizer(PhoneRecognizer):
    """:class:`PhoneRecognizer` that gives the matcher only windows that can hold a number."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        runs = [(m.start(), m.end(), len(_DIGIT.findall(m.group()))) for m in _RUN.finditer(text)]
        if not runs:
            return []
        cuts = cut_points(text)
        leniency = cast(int, self.leniency)
        result_for: Any = self._get_recognizer_result  # presidio leaves it untyped
        results: list[RecognizerResult] = []
        for region in self.supported_regions:
            for ws, we in windows(text, runs, cuts, min_digits(region)):
                for match in phonenumbers.PhoneNumberMatcher(
                    text[ws:we], region, leniency=leniency
                ):
                    shifted = _Shifted(match.start + ws, match.end + ws)
                    results.append(result_for(shifted, text, region, nlp_artifacts))
        deduplicated: list[RecognizerResult] = EntityRecognizer.remove_duplicates(results)
        return deduplicated
