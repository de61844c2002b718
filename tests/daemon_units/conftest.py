"""A fake service-manager runner: records every command, answers from a script."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from openclaw.daemon_units.manager import RunResult, set_runner

Answer = Callable[[list[str]], RunResult | None]


class FakeRunner:
    """``calls`` holds every argv; ``answer(argv)`` decides the result (default: success).

    ``fail(prefix, stderr)`` makes commands starting with ``prefix`` fail; ``reply(prefix,
    stdout)`` makes them succeed with that output. Later rules win.
    """

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.envs: list[Mapping[str, str] | None] = []
        self._rules: list[tuple[list[str], RunResult]] = []

    def fail(self, *prefix: str, stderr: str = "failed", code: int = 1) -> None:
        self._rules.append((list(prefix), RunResult(code, "", stderr)))

    def reply(self, *prefix: str, stdout: str = "") -> None:
        self._rules.append((list(prefix), RunResult(0, stdout, "")))

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> RunResult:
        argv = list(argv)
        self.calls.append(argv)
        self.envs.append(env)
        for prefix, result in reversed(self._rules):
            if argv[: len(prefix)] == prefix:
                return result
        return RunResult(0, "", "")

    def commands(self, program: str) -> list[list[str]]:
        return [c for c in self.calls if c and Path(c[0]).name == program]


@pytest.fixture
def runner() -> Iterator[FakeRunner]:
    fake = FakeRunner()
    fake.fail("systemctl", "--user", "is-active", code=3)  # a fresh machine: nothing runs yet
    previous = set_runner(fake)
    yield fake
    set_runner(previous)


@pytest.fixture
def user_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary HOME, so units are rendered where a test can look at them."""
    home = tmp_path / "user"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    return home
