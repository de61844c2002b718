"""From nothing to a configuration: what the machine has, and the files that follow from it.

``machine`` asks the machine (provider keys, a local Ollama, spaCy) using the provider
registry's per-type facts; ``seed`` chooses a :class:`~openclaw.onboarding.seed.Plan` and
renders the three config files. ``openclaw onboard`` adds flags and questions on top; a first
``gateway run`` and ``doctor --fix`` use the detected plan as it is.
"""

from openclaw.onboarding.machine import Machine, probe
from openclaw.onboarding.seed import Plan, detected_plan, render_all, write_default_config

__all__ = ["Machine", "Plan", "detected_plan", "probe", "render_all", "write_default_config"]
