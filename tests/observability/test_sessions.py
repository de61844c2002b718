"""One-time login links and dashboard sessions: single use, short-lived, bounded."""

from __future__ import annotations

from openclaw.observability.sessions import MAX_LINKS, DashboardSessions


class Clock:
    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_login_links_work_once_and_expire() -> None:
    clock = Clock(100.0)
    sessions = DashboardSessions(link_ttl=60, session_ttl=3600, clock=clock)
    link, life = sessions.mint_link()
    assert life == 60
    session = sessions.redeem(link)
    assert session is not None and sessions.valid(session)
    assert sessions.redeem(link) is None  # single use

    late, _ = sessions.mint_link()
    clock.t += 61
    assert sessions.redeem(late) is None  # expired

    assert sessions.mint_link(ttl=10_000)[1] == 60  # a caller may shorten, never lengthen
    clock.t += 3600
    assert not sessions.valid(session)  # sessions expire too
    assert not sessions.valid("made-up") and not sessions.valid(None)


def test_link_table_is_bounded() -> None:
    sessions = DashboardSessions(clock=Clock())
    links = [sessions.mint_link()[0] for _ in range(MAX_LINKS + 5)]
    assert sessions.redeem(links[0]) is None  # the oldest were dropped
    assert sessions.redeem(links[-1]) is not None
