"""PII precision and recall of the default install: ``python -m benchmarks.precision``.

The figures ``docs/pii.md`` reports and ``tests/policies/test_pii_precision.py`` holds,
measured here with whatever spaCy pipeline is installed (the default install's) on the
corpora in ``tests/policies/corpus/``: the share of public-entity prompts (places, companies,
products, famous people) and of place-only prompts that the seed's PII rule would reroute,
the share of prompts naming a private person next to a personal matter that it reroutes,
names recall, and pattern recall. Prints one JSON object; the harness runs it in a
subprocess (the pipeline stays out of its memory) and puts it in the report.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from openclaw.policies.pii import PiiEngine
from openclaw.policies.pii.entities import EntityFilter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from policies.pii_corpus import measure, pattern_cases, private_persons, public_prompts


def main() -> None:
    engine = PiiEngine(spacy_model="auto", cache_size=0)
    f = measure(engine, EntityFilter.build())
    print(
        json.dumps(
            {
                "mode": engine.mode,
                "public_entity_rerouted": round(f.public_rate, 3),
                "place_only_rerouted": round(f.place_rate, 3),
                "private_person_rerouted": round(f.private_rate, 3),
                "names_recall": round(f.names_recall, 3),
                "pattern_recall": round(f.pattern_recall, 3),
                "prompts": {
                    "public": len(public_prompts()),
                    "private": len(private_persons()),
                    "patterns": len(pattern_cases()),
                },
            }
        )
    )


if __name__ == "__main__":
    main()
