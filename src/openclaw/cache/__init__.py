"""The response cache and in-flight deduplication (the ``cache`` stage, order 80).

See :mod:`openclaw.cache.stage` for the rules; the entries live in the gateway's state
backend (:mod:`openclaw.state`), so with Redis every instance shares one cache.
"""
