"""Running one step: a subprocess off the event loop, bounded in time and output.

Each step is started with :func:`asyncio.create_subprocess_exec` (never a shell: arguments
are rendered templates, and a shell would re-parse them) in its own process group, in the
run's temporary working directory, with the environment from :mod:`openclaw.skills.env`.

- **Timeout**: when ``timeout`` seconds pass, the whole process group gets SIGKILL, so a
  script's children (``gh``, ``git``, a ``sleep``) die with it. The same happens when the
  run is cancelled (the HTTP client went away) and, quietly, to anything a finished step
  left running in the background.
- **Capped output**: stdout beyond ``max_output_bytes`` fails the step (and kills it) rather
  than hand a truncated text to the outputs or the model as if it were whole. Only the last
  64 KiB of stderr are kept: they are for the error message.
- **Exit status**: non-zero is :class:`~openclaw.skills.errors.SkillStepFailed` (502) with the
  tail of stderr, which is where a script says what went wrong.

``.sh`` scripts run with ``bash``, ``.py`` scripts with the gateway's own Python (so they
need no ``python3`` on PATH and behave the same under every install), anything else is
executed directly and must be executable.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openclaw.skills.errors import SkillStepFailed
from openclaw.skills.lint import interpreter_for

STDERR_KEEP = 64 * 1024
STDERR_SHOWN = 2000  # characters of stderr's tail in an error message
_READ = 64 * 1024


@dataclass
class StepOutput:
    name: str
    stdout: str
    stderr: str = ""
    seconds: float = 0.0
    _json: Any = field(default=None, repr=False)
    _parsed: bool = field(default=False, repr=False)

    @property
    def lines(self) -> list[str]:
        return [ln.rstrip("\r") for ln in self.stdout.splitlines() if ln.strip()]

    @property
    def json(self) -> Any:
        if not self._parsed:
            try:
                self._json = json.loads(self.stdout)
            except json.JSONDecodeError as exc:
                raise SkillStepFailed(
                    f"step '{self.name}' printed something that is not JSON "
                    f"({exc.msg} at line {exc.lineno}), but its output is read as JSON",
                    code="skill_output_invalid",
                ) from None
            self._parsed = True
        return self._json


def command_for(script: Path, args: list[str]) -> list[str]:
    kind = interpreter_for(script)
    if kind == "bash":
        return ["bash", str(script), *args]
    if kind == "python":
        return [sys.executable, str(script), *args]
    return [str(script), *args]


def stderr_tail(text: str) -> str:
    text = text.strip()
    if len(text) > STDERR_SHOWN:
        text = "..." + text[-STDERR_SHOWN:]
    return text or "(no stderr)"


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
        if os.name == "nt":  # pragma: no cover - no process groups to signal on Windows
            proc.kill()
        else:
            os.killpg(proc.pid, signal.SIGKILL)


async def run_process(
    name: str,
    argv: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    stdin: str | None,
    timeout: float,
    max_output: int,
) -> StepOutput:
    """Run one command; raises :class:`SkillStepFailed` on failure (see the module docstring)."""
    started = time.perf_counter()
    kwargs: dict[str, Any] = {}
    if os.name == "nt":  # pragma: no cover
        kwargs["creationflags"] = 0x00000200  # CREATE_NEW_PROCESS_GROUP
    else:
        kwargs["start_new_session"] = True
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=str(cwd),
            env=env,
            **kwargs,
        )
    except OSError as exc:
        raise SkillStepFailed(f"step '{name}' could not start {argv[0]}: {exc.strerror}") from None

    out = bytearray()
    err = bytearray()
    overflow = False

    async def read_out() -> None:
        nonlocal overflow
        assert proc.stdout is not None
        while chunk := await proc.stdout.read(_READ):
            out.extend(chunk)
            if len(out) > max_output:
                overflow = True
                _kill_group(proc)
                return

    async def read_err() -> None:
        assert proc.stderr is not None
        while chunk := await proc.stderr.read(_READ):
            err.extend(chunk)
            if len(err) > STDERR_KEEP:
                del err[: len(err) - STDERR_KEEP]

    async def feed() -> None:
        if stdin is None or proc.stdin is None:
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            proc.stdin.write(stdin.encode())
            await proc.stdin.drain()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            proc.stdin.close()

    try:
        await asyncio.wait_for(asyncio.gather(feed(), read_out(), read_err(), proc.wait()), timeout)
    except TimeoutError:
        _kill_group(proc)
        await proc.wait()
        raise SkillStepFailed(
            f"step '{name}' timed out after {timeout:g}s and was killed; stderr tail:\n"
            f"{stderr_tail(err.decode(errors='replace'))}",
            code="skill_step_timeout",
        ) from None
    finally:
        # Cancelled, failed or done: nothing the step started outlives it.
        _kill_group(proc)
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await asyncio.shield(proc.wait())
    text_err = err.decode(errors="replace")
    if overflow:
        raise SkillStepFailed(
            f"step '{name}' printed more than {max_output} bytes and was stopped "
            "(raise max_output_bytes if that much output is expected)",
            code="skill_output_too_large",
        )
    rc = proc.returncode
    if rc != 0:
        how = (
            f"was killed by signal {-rc}"
            if rc is not None and rc < 0
            else f"exited with status {rc}"
        )
        raise SkillStepFailed(f"step '{name}' {how}; stderr tail:\n{stderr_tail(text_err)}")
    return StepOutput(
        name=name,
        stdout=out.decode(errors="replace"),
        stderr=text_err,
        seconds=time.perf_counter() - started,
    )
