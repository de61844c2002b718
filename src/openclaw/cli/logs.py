"""``openclaw logs``: the daemon's own log (``logs/gateway.log``), not the audit log.

The daemon rotates its log itself (``gateway.log`` -> ``gateway.log.1`` ...). Showing the
last lines reads backwards across the rotated files; ``-f`` follows the live file the way
``tail -F`` does, carrying on into the new file after a rotation. Both reuse the audit
package's readers, which already do exactly this for ``audit.log``.
"""

from __future__ import annotations

import json
import re
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import click

from openclaw.audit.reader import Follower, reverse_lines
from openclaw.audit.record import log_files
from openclaw.config import home_dir, log_path
from openclaw.daemon_units.record import read_record

# "2026-01-31 12:00:00,123 INFO openclaw.server: message" (daemon.setup_logging's format)
_LINE = re.compile(
    r"^(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (?P<level>[A-Z]+) (?P<logger>\S+): (?P<message>.*)$"
)


def parse(line: str) -> dict[str, Any]:
    """One log line as JSON fields; a line of a traceback has only ``message``."""
    m = _LINE.match(line)
    if m is None:
        return {"ts": None, "level": None, "logger": None, "message": line}
    return m.groupdict()


def last_lines(path: Path, n: int, live_end: int | None = None) -> list[str]:
    """The newest ``n`` lines across ``gateway.log.N`` ... ``gateway.log``, oldest first.

    ``live_end`` stops reading the live file there (where a follower took over).
    """
    found: deque[str] = deque()
    for p in reversed(log_files(path)):
        try:
            f = p.open("rb")
        except FileNotFoundError:
            continue
        with f:
            for raw in reverse_lines(f, end=live_end if p == path else None):
                text = raw.decode("utf-8", "replace").rstrip("\r\n")
                if not text:
                    continue
                found.appendleft(text)
                if len(found) >= n:
                    return list(found)
    return list(found)


def follow(follower: Follower, interval: float = 0.25) -> Iterator[str]:
    try:
        for raw in follower.follow(interval):
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            if text:
                yield text
    finally:
        follower.close()


def _emit(lines: Iterable[str], as_json: bool) -> None:
    for line in lines:
        click.echo(json.dumps(parse(line)) if as_json else line)
        sys.stdout.flush()


def _where_else(home: Path) -> str:
    record = read_record(home)
    if record is not None and record.manager == "systemd":
        return "journalctl --user -u openclaw-gateway"
    return str(log_path(home).with_name("gateway.console.log"))


@click.command("logs")
@click.option("-f", "--follow", "follow_", is_flag=True, help="Keep printing new lines.")
@click.option("-n", "--lines", default=50, show_default=True, help="How many lines to show first.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def cli(follow_: bool, lines: int, as_json: bool) -> None:
    """Show the gateway daemon's own log (for requests, see 'openclaw audit').

    Output from before logging starts (a crash at start-up) is not here: see
    ~/.openclaw/logs/gateway.console.log, or the journal for a systemd unit.
    """
    home = home_dir()
    path = log_path(home)
    if not log_files(path) and not follow_:
        raise click.ClickException(
            f"no daemon log yet at {path}: the gateway has not run with this home "
            f"(start-up output, if any: {_where_else(home)})"
        )
    if not follow_:
        _emit(last_lines(path, lines) if lines > 0 else [], as_json)
        return
    follower = Follower(path)  # from here on the follower sees every new line
    _emit(last_lines(path, lines, follower.offset) if lines > 0 else [], as_json)
    try:
        _emit(follow(follower), as_json)
    except KeyboardInterrupt:
        pass
