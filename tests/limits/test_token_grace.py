"""A rotated service token keeps working for its grace period, by the injected clock."""

from __future__ import annotations

from pathlib import Path

from harness import MOCK_MODELS
from openclaw.clock import ManualClock
from openclaw.config import load_config
from openclaw.limits.services import ServiceRegistry


def test_the_old_token_works_until_its_grace_period_ends(openclaw_home: Path) -> None:
    (openclaw_home / "models.yaml").write_text(MOCK_MODELS)
    clock = ManualClock()
    registry = ServiceRegistry(load_config(openclaw_home), clock=clock)
    old = registry.store.add("reports")
    new = registry.store.rotate("reports", grace=3600.0)
    assert registry.identify(old) == "reports" and registry.identify(new) == "reports"
    clock.advance(3599.0)
    assert registry.identify(old) == "reports"
    clock.advance(1.0)
    assert registry.identify(old) is None
    assert registry.identify(new) == "reports"
