"""Access control and limits: service identities, IP lists, rate limits, budgets, quotas.

- :mod:`~openclaw.limits.services`: which service a bearer token belongs to;
- :mod:`~openclaw.limits.ipfilter`: ``security.ip_allow`` / ``ip_deny``;
- :mod:`~openclaw.limits.plan`: buckets and limit ids from ``services:`` and ``limits:``;
- :mod:`~openclaw.limits.stage`: the ``limits`` and ``model_limits`` stages and the per-upstream gate.

Counters live in the gateway's state backend (:mod:`openclaw.state`).
"""
