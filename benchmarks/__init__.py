"""The OpenClaw benchmark harness: ``python -m benchmarks`` (or ``make bench``).

One command starts everything, measures, stops everything, and writes ``results.md``,
``results.json`` and ``results.png`` into ``benchmarks/out/`` (ignored by git). The rooms:

- :mod:`.upstream`: the fake OpenAI-compatible upstream (raw asyncio protocol; checked first).
- :mod:`.wrk` and :mod:`.loadgen`: the load generators (wrk with a generated Lua script; a
  built-in asyncio one when wrk is absent, and for time to first token).
- :mod:`.systems`: what is measured (the upstream directly, ``openclaw gateway run`` with a
  config per :class:`~benchmarks.systems.GatewayVariant`, LiteLLM's proxy in its own venv).
- :mod:`.scenarios`: which payloads at which connection counts against which system.
- :mod:`.payloads`: the request bodies, with a per-request tag so no cache answers them.
- :mod:`.run` and :mod:`.soak`: the run itself; :mod:`.procs`: pinning, CPU time and RSS.
- :mod:`.report`: derived figures, the targets, Markdown, JSON and the chart.
- :mod:`.profile`: py-spy during chosen points (``--profile``).

docs/performance.md has the latest results and how to reproduce them.
"""
