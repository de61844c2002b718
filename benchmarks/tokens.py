"""``python -m benchmarks.tokens``: how long counting 4 KB of prompt takes (budget 0.3 ms).

A micro-benchmark of :mod:`openclaw.tokens`, apart from the load harness: per model family
(exact OpenAI encodings, the script-aware estimate) and per script (English prose, code,
CJK). It prints the median and the best of many rounds in milliseconds.
"""

from __future__ import annotations

import statistics
import time

from openclaw.tokens import count_text

BUDGET_MS = 0.3
SIZE = 4096
TEXTS = {
    "english": "The quick brown fox jumps over the lazy dog, again and again. ",
    "code": "def handler(req):\n    return {'status': req.get('ok', 200), 'n': 42}\n",
    "cjk": "今日は良い天気です。我们今天去公园散步。오늘은 날씨가 좋습니다。",
}
MODELS = ("gpt-4o", "gpt-4-turbo", "claude-sonnet-4-20250514")


def four_kb(seed: str) -> str:
    text = seed * (SIZE // len(seed.encode()) + 1)
    while len(text.encode()) > SIZE:
        text = text[:-1]
    return text


def measure(text: str, model: str, rounds: int = 500) -> tuple[float, float]:
    count_text(text, model)  # first use loads the vocabulary
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        count_text(text, model)
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times), min(times)


def main() -> None:
    print(f"{'model':<28} {'text':<8} {'median ms':>10} {'best ms':>8}  budget {BUDGET_MS} ms")
    for model in MODELS:
        for name, seed in TEXTS.items():
            med, best = measure(four_kb(seed), model)
            flag = "" if med <= BUDGET_MS else "  OVER"
            print(f"{model:<28} {name:<8} {med:>10.4f} {best:>8.4f}{flag}")


if __name__ == "__main__":
    main()
