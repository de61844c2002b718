"""A custom policy rule in a few lines: refuse requests that mention an internal codename.

Register it by importing this module before the gateway starts, e.g. with
``OPENCLAW_PLUGINS=examples.custom_rule openclaw gateway run`` (a comma-separated list of
importable modules), then use it in policies.yaml::

    policies:
      - name: keep_codenames_inside
        rule: no_codenames
        enforce: true            # false = shadow mode: audited as would_apply, not refused
        params: {codenames: [bluebird, nightjar]}

What the rule found goes into the audit record as a plugin's own fact, under
``extensions.no_codenames`` (built-in fields are typed; plugins get this one slot).
"""

from __future__ import annotations

from openclaw.errors import PolicyViolation
from openclaw.pipeline.exchange import Exchange
from openclaw.policies.engine import Params, Rule, Verdict, rule
from openclaw.policies.rules import context_texts


class CodenameParams(Params):
    codenames: list[str]


@rule
class NoCodenames(Rule):
    name = "no_codenames"
    Params = CodenameParams

    async def evaluate(self, ex: Exchange) -> Verdict | None:
        text = " ".join(context_texts(ex)).lower()
        hits = [c for c in self.params.codenames if c.lower() in text]
        if not hits:
            return None
        ex.extensions["no_codenames"] = {"hits": len(hits)}

        def refuse(ex: Exchange) -> None:
            raise PolicyViolation("internal codenames may not be sent to a model")

        return Verdict(apply=refuse, detail=f"{len(hits)} codename(s)")
