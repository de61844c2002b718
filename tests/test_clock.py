"""The injectable clock: the system's readings move by themselves, a manual one only when told."""

from __future__ import annotations

import time

import pytest

from openclaw.clock import Clock, ManualClock, SystemClock


def test_manual_clock_moves_both_readings_only_when_advanced() -> None:
    clock = ManualClock(monotonic=5.0, wall=1_700_000_000.0)
    assert (clock.monotonic(), clock.time()) == (5.0, 1_700_000_000.0)
    assert (clock.monotonic(), clock.time()) == (5.0, 1_700_000_000.0)
    clock.advance(2.5)
    assert (clock.monotonic(), clock.time()) == (7.5, 1_700_000_002.5)


def test_manual_clock_does_not_go_back() -> None:
    with pytest.raises(ValueError, match="does not go back"):
        ManualClock().advance(-1)


def test_system_clock_reads_the_machines_clocks() -> None:
    clock: Clock = SystemClock()
    before = clock.monotonic()
    assert abs(clock.time() - time.time()) < 1.0
    assert clock.monotonic() >= before
