"""``python -m benchmarks``: the one command. See :mod:`benchmarks` and docs/performance.md."""

from benchmarks.cli import main

main()
