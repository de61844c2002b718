"""The NLP engine presidio's pattern recognizers run with: no model, never a download.

Presidio's own engines are unsafe for a daemon that must start offline: ``AnalyzerEngine()``
builds a ``SpacyNlpEngine`` for ``en_core_web_lg`` and its ``load()`` runs
``spacy.cli.download`` when that package is missing. Neither is used here.

Presidio only needs tokens to look for context words ("phone", "ssn", "account") left of a
weak match, so :class:`TokenizerNlpEngine` makes them with one regular expression and only
when a match asks for them (:class:`LazyTokenArtifacts`); clean text costs nothing here. Its
"lemmas" are lower-cased token texts: presidio's context words are already base forms.

Names and places do not come through presidio: the spaCy pipeline (:mod:`.pipeline`) runs
alone, in this process or a NER worker, and :mod:`.ner` maps its spans to findings.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any

import spacy
from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine

_TOKEN = re.compile(r"\w+|[^\w\s]")
_LAZY_FIELDS = frozenset({"tokens", "tokens_indices", "lemmas", "keywords"})


def _stop_words(language: str) -> frozenset[str]:
    try:
        defaults = spacy.util.get_lang_class(language).Defaults
    except Exception:  # an unknown language code: no stop words is still correct
        return frozenset()
    return frozenset(defaults.stop_words)


def _is_punct(word: str) -> bool:
    """spaCy's ``is_punct``: every character is Unicode punctuation (most words fail fast)."""
    if not word or word[0].isalnum():
        return False
    return all(unicodedata.category(c).startswith("P") for c in word)


class TokenizerNlpEngine(NlpEngine):
    """The pattern-only engine: no entities, tokens only on demand."""

    def __init__(self, language: str) -> None:
        self._language = language
        self._stop = _stop_words(language)

    def load(self) -> None:
        pass

    def is_loaded(self) -> bool:
        return True

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        return LazyTokenArtifacts(text, self, language)

    def process_batch(
        self,
        texts: Iterable[str],
        language: str,
        batch_size: int = 1,
        n_process: int = 1,
        **kwargs: Any,
    ) -> Iterator[tuple[str, NlpArtifacts]]:
        for text in texts:
            yield text, self.process_text(text, language)

    def is_stopword(self, word: str, language: str) -> bool:
        return word.lower() in self._stop

    def is_punct(self, word: str, language: str) -> bool:
        return _is_punct(word)

    def get_supported_entities(self) -> list[str]:
        return []

    def get_supported_languages(self) -> list[str]:
        return [self._language]


class LazyTokenArtifacts(NlpArtifacts):
    """NLP artifacts whose tokens are made on first use.

    Presidio asks for tokens only to score context around a match, so a text without any
    match is never tokenized. The fields presidio reads are filled by ``__getattr__``, which
    Python calls only while they are still missing.
    """

    def __init__(self, text: str, engine: NlpEngine, language: str) -> None:
        # Not calling super().__init__(): it computes keywords from lemmas straight away.
        self._text = text
        self._language = language
        self.nlp_engine = engine
        self.entities = []
        self.scores = []

    def __getattr__(self, name: str) -> Any:
        if name not in _LAZY_FIELDS:
            raise AttributeError(name)
        words: list[str] = []
        starts: list[int] = []
        for m in _TOKEN.finditer(self._text):
            words.append(m.group())
            starts.append(m.start())
        lemmas = [w.lower() for w in words]
        # Presidio only iterates tokens and takes len() of each, so strings serve as tokens.
        self.__dict__.update(
            tokens=words,
            tokens_indices=starts,
            lemmas=lemmas,
            keywords=NlpArtifacts.set_keywords(self.nlp_engine, lemmas, self._language),
        )
        return self.__dict__[name]
