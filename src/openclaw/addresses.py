"""Is an address on this machine? One answer for every part that asks.

The server checks ``Host`` headers against it (DNS rebinding), the PII policy checks that
the sensitive model is local, and the cache checks that a Redis holding PII-routed answers
is local. A loopback name or address, or a unix socket, is local; nothing else is, private
network ranges included.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]", "localhost.localdomain"})


def is_loopback_host(host: str) -> bool:
    """A host name or address (brackets allowed, no port) that is this machine."""
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_local_url(url: str) -> bool:
    """A URL whose host is this machine, or a unix socket (``unix:``, ``http+unix:``)."""
    if not url:
        return False
    if url.startswith(("unix:", "http+unix:")):
        return True
    return is_loopback_host(urlsplit(url).hostname or "")
