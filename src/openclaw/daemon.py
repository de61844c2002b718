"""Running the daemon in the foreground: logging, signals, config watching, and its routes.

:data:`ROUTES` is the one list of what the HTTP app serves besides the core routes (metrics
and the dashboard, skills, channels); :func:`make_app` builds the app the daemon and the
tests serve.

SIGTERM/SIGINT stop accepting, let in-flight requests finish (up to the drain deadline),
flush and close the audit log, and exit 0. SIGHUP, or a change to any of the three YAML
files, reloads the config; a config that does not validate is rejected and the old one keeps
serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path

from aiohttp import web

from openclaw.channels import manager as channels
from openclaw.config import log_path, pid_path
from openclaw.config.envfile import load_env_file
from openclaw.errors import ConfigError
from openclaw.observability import routes as observability
from openclaw.private import PrivateRotatingFileHandler, write_private
from openclaw.providers.registry import load_checked_config
from openclaw.server.app import RouteInstaller, create_app
from openclaw.server.auth import bind_problem, ensure_token
from openclaw.server.runner import GuardedRunner
from openclaw.server.state import AppState
from openclaw.skills import api as skills

log = logging.getLogger("openclaw")
WATCH_INTERVAL = 1.0

#: What the app serves besides the core routes, in order: metrics and the dashboard, the
#: skills API, then channels (Slack's /slack/events; they start and stop with the app).
ROUTES: tuple[RouteInstaller, ...] = (observability.install, skills.install, channels.install)


def make_app(state: AppState) -> web.Application:
    return create_app(state, ROUTES)


def setup_logging(home: Path, level: str = "INFO") -> None:
    path = log_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Private from creation on, and after each rotation (the rotated files keep that mode).
    file_handler = PrivateRotatingFileHandler(path, maxBytes=10_000_000, backupCount=3)
    file_handler.setFormatter(fmt)
    handlers: list[logging.Handler] = [file_handler]
    # In a terminal, also show the log there. Under a service manager or `gateway start`,
    # stderr is a file (gateway.console.log) or the journal, kept for what happens before
    # logging is set up (a crash at import); copying every line there too doubled the log.
    # A container's log is its stderr: OPENCLAW_LOG_STDERR=1 (the image sets it) copies there.
    to_stderr = os.environ.get("OPENCLAW_LOG_STDERR") == "1"
    if sys.stderr is not None and (to_stderr or sys.stderr.isatty()):
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(fmt)
        handlers.append(stream)
    root = logging.getLogger("openclaw")
    root.handlers[:] = handlers
    root.setLevel(level)
    root.propagate = False
    with contextlib.suppress(OSError):
        os.chmod(path, 0o600)


def install_uvloop() -> bool:
    try:
        import uvloop  # type: ignore[import-not-found]  # optional: not on Windows
    except ImportError:
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


async def serve(
    home: Path, host: str, port: int, *, auth: bool = True, drain: float = 10.0
) -> None:
    problem = bind_problem(
        host, auth, lambda: load_checked_config(home).policies.security.allowed_hosts
    )
    if problem:
        raise ConfigError(problem)
    token = ensure_token(home)
    state = await AppState.start(home, token, host=host, port=port, auth=auth)
    app = make_app(state)
    sec = state.config.policies.security  # read at start: a reload does not change them
    runner = GuardedRunner(
        app,
        header_timeout=sec.header_timeout_seconds,
        keepalive_timeout=sec.keepalive_timeout_seconds,
        handler_cancellation=True,
        access_log=None,
        shutdown_timeout=drain,
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    pidfile = pid_path(home)
    write_private(pidfile, f"{os.getpid()}\n".encode())
    log.info("OpenClaw gateway listening on http://%s:%d (home %s)", host, port, home)
    for note in _startup_notes(state):
        log.warning(note)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except NotImplementedError:  # Windows' event loops have no signal handlers
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))
    sighup = getattr(signal, "SIGHUP", None)  # not on Windows: the file watcher reloads there
    if sighup is not None:
        loop.add_signal_handler(sighup, lambda: asyncio.ensure_future(state.reload("SIGHUP")))

    async def watch() -> None:
        while True:
            await asyncio.sleep(WATCH_INTERVAL)
            if state.changed():
                await state.reload("file changed")

    watcher = asyncio.create_task(watch())
    try:
        await stop.wait()
        log.info("shutting down: draining in-flight requests (up to %.0fs)", drain)
    finally:
        watcher.cancel()
        await runner.cleanup()  # stops accepting, waits for handlers up to shutdown_timeout
        await state.gateway.aclose()
        await state.assembly.shared.pii.aclose()
        tracer_shutdown = getattr(state.assembly.shared.tracer, "shutdown", None)
        if tracer_shutdown is not None:  # export what is queued; it may wait on the network
            await asyncio.to_thread(tracer_shutdown)
        state.gateway.audit.close()
        with contextlib.suppress(OSError):
            if pidfile.read_text().strip() == str(os.getpid()):
                pidfile.unlink()
        log.info("stopped")


def _startup_notes(state: AppState) -> list[str]:
    notes = []
    provs = state.gateway.providers
    if provs and all(p.type == "mock" for p in provs.values()):
        notes.append(
            "every model uses the mock provider: answers are canned, not from a real model; "
            "run 'openclaw onboard' to configure a provider"
        )
    for stage in state.gateway.stages:
        for r in getattr(stage, "rules", []):
            s = r.status()
            if s.get("pii_mode") == "pattern-only":
                notes.append(s.get("pii_note", "PII detection is pattern-only"))
    return notes


def run(home: Path, host: str, port: int, *, auth: bool = True, log_level: str = "INFO") -> None:
    setup_logging(home, log_level)
    load_env_file(home)
    install_uvloop()
    asyncio.run(serve(home, host, port, auth=auth))
