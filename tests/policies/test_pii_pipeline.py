"""The spaCy pipeline module: OpenBLAS ops change no entity, and a NER worker needs no presidio.

Skipped without a spaCy English pipeline, like the other spaCy tests.
"""

from __future__ import annotations

import os
import subprocess
import sys

from openclaw.policies.pii.pipeline import OpenBlasOps, load_pipeline
from policies.corpus.ner_gate_cases import CASES
from policies.pii_corpus import pattern_cases, private_persons, public_prompts


def corpus_texts() -> list[str]:
    texts = [text for _, text, _ in CASES]
    texts += [prompt for _, prompt in public_prompts()]
    texts += [prompt for _, prompt in private_persons()]
    texts += [prompt for _, _, prompt in pattern_cases()]
    return texts


def test_openblas_ops_find_the_same_entities_as_thincs_own(spacy_package: str) -> None:
    fast = load_pipeline(spacy_package)
    stock = load_pipeline(spacy_package, openblas=False)
    ner = fast.get_pipe("ner")
    assert all(isinstance(node.ops, OpenBlasOps) for node in ner.model.walk())  # type: ignore[attr-defined]
    assert not any(
        isinstance(node.ops, OpenBlasOps)
        for node in stock.get_pipe("ner").model.walk()  # type: ignore[attr-defined]
    )
    texts = corpus_texts()
    assert len(texts) > 400
    differ = []
    for doc_fast, doc_stock in zip(fast.pipe(texts), stock.pipe(texts), strict=True):
        a = [(e.label_, e.start_char, e.end_char) for e in doc_fast.ents]
        b = [(e.label_, e.start_char, e.end_char) for e in doc_stock.ents]
        if a != b:
            differ.append((doc_fast.text, a, b))
    assert differ == []


def test_a_ner_worker_imports_spacy_but_not_presidio(spacy_package: str) -> None:
    code = (
        "import sys\n"
        "import openclaw.policies.pii.worker as w\n"
        f"assert w.load_first([{spacy_package!r}])[0] == {spacy_package!r}\n"
        "print('spacy' in sys.modules, 'presidio_analyzer' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    assert out.stdout.split() == ["True", "False"]


def test_preload_loads_the_first_pipeline_that_loads(spacy_package: str) -> None:
    code = (
        "import gc\n"
        "import openclaw.policies.pii.preload\n"
        "from openclaw.policies.pii import pipeline\n"
        "print(sorted(pipeline._SHARED), gc.get_freeze_count() > 0)\n"
    )
    env = {**os.environ, "OPENCLAW_NER_PRELOAD": f"no_such_pipeline_xyz,{spacy_package}"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"[{spacy_package!r}] True"
