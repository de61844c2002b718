"""The refusal ledger: a few records per key and window, then one summary with the count."""

from __future__ import annotations

from openclaw.audit.refusals import OVERFLOW, RefusalLedger


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ledger(clock: Clock, **kw: int) -> RefusalLedger:
    return RefusalLedger(clock=clock, wall=clock, window=60.0, **kw)


def test_the_first_refusals_of_a_window_are_audited_and_the_rest_counted() -> None:
    clock = Clock()
    led = ledger(clock, burst=3)
    key = ("invalid_api_key", "10.0.0.9")
    admitted = [led.admit(key) for _ in range(1000)]
    assert admitted.count(True) == 3 and admitted[:3] == [True, True, True]
    assert led.due() == []  # the window is still open
    clock.now += 60
    (summary,) = led.due()
    assert (summary.key, summary.count, summary.total) == (key, 997, 1000)
    assert led.due() == [] and not led.pending


def test_a_new_window_starts_after_the_old_one_and_keeps_its_count() -> None:
    clock = Clock()
    led = ledger(clock, burst=1)
    key = ("forbidden", "u")
    led.admit(key)
    led.admit(key)
    clock.now += 61
    assert led.admit(key) is True  # a new window audits again
    (summary,) = led.due()  # the old window's count is not lost
    assert summary.count == 1 and summary.total == 2


def test_keys_are_counted_apart_and_their_number_is_bounded() -> None:
    clock = Clock()
    led = ledger(clock, burst=1, max_keys=10)
    for i in range(500):  # a source that varies its key every time
        led.admit(("bad", str(i)))
    summaries = led.due(flush=True)
    overflow = [s for s in summaries if s.key == OVERFLOW]
    assert len(overflow) == 1 and overflow[0].total == 490 and overflow[0].count == 489
    assert sum(1 for s in summaries if s.key != OVERFLOW) == 0  # one each: nothing to sum up
