"""``python -m openclaw.server.probe [--ready]``: a health probe for containers.

Slim images have no curl, and ``openclaw gateway status`` loads the whole CLI (over a
second of start-up) for what a probe asks every few seconds. This asks one endpoint on
127.0.0.1 with the standard library and exits 0 when it answers 200, 1 otherwise:
``/healthz`` (liveness: the process serves HTTP) or, with ``--ready``, ``/readyz``
(readiness: the config is loaded), which needs the gateway token, read as the daemon reads
it (``OPENCLAW_GATEWAY_TOKEN``, ``OPENCLAW_GATEWAY_TOKEN_FILE`` or the token file in the home).
The Docker ``HEALTHCHECK`` and the Kubernetes readiness probe run it.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request

from openclaw.config import DEFAULT_PORT, home_dir
from openclaw.errors import ConfigError
from openclaw.server.auth import read_token


def probe(port: int, ready: bool, timeout: float = 3.0) -> tuple[bool, str]:
    """(healthy, what to print) for one request to the gateway on this machine."""
    path = "/readyz" if ready else "/healthz"
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if ready:
        try:
            token = read_token(home_dir())
        except ConfigError as exc:
            return False, exc.message
        if not token:
            return False, "no gateway token to ask /readyz with"
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status == 200, f"{path}: {resp.status}"
    except urllib.error.HTTPError as exc:
        return False, f"{path}: {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return False, f"{path}: {getattr(exc, 'reason', exc)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m openclaw.server.probe")
    parser.add_argument("--ready", action="store_true", help="ask /readyz instead of /healthz")
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("OPENCLAW_PORT") or DEFAULT_PORT)
    )
    args = parser.parse_args(argv)
    ok, message = probe(args.port, args.ready)
    print(message, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
