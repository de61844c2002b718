"""``security.ip_allow`` / ``security.ip_deny``: which client addresses may talk to the gateway.

Deny wins over allow. An empty allow list allows every address that is not denied; a
non-empty one allows only the addresses it covers. IPv4-mapped IPv6 addresses
(``::ffff:10.0.0.5``) are checked as the IPv4 address they carry. A request whose peer
address is unknown is refused when an allow list is set. The check sees the TCP peer:
behind a reverse proxy that is the proxy, and ``X-Forwarded-For`` is deliberately ignored,
since any client can write it.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class IpFilter:
    def __init__(self, allow: tuple[str, ...], deny: tuple[str, ...]) -> None:
        self.allow: list[Network] = [ipaddress.ip_network(n, strict=False) for n in allow]
        self.deny: list[Network] = [ipaddress.ip_network(n, strict=False) for n in deny]
        self.refused = 0  # since this config was loaded, for `gateway status`
        self.last_refused: str | None = None

    def allows(self, remote: str | None) -> bool:
        ok = self._check(remote)
        if not ok:
            self.refused += 1
            self.last_refused = remote
        return ok

    def _check(self, remote: str | None) -> bool:
        addr = _parse(remote)
        if addr is None:
            return not self.allow
        if any(addr in net for net in self.deny if net.version == addr.version):
            return False
        if not self.allow:
            return True
        return any(addr in net for net in self.allow if net.version == addr.version)

    def status(self) -> dict[str, object]:
        return {
            "allow": [str(n) for n in self.allow],
            "deny": [str(n) for n in self.deny],
            "refused": self.refused,
            "last_refused": self.last_refused,
        }


def _parse(remote: str | None) -> Address | None:
    if not remote:
        return None
    try:
        addr = ipaddress.ip_address(remote.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


@lru_cache(maxsize=16)
def ip_filter(allow: tuple[str, ...], deny: tuple[str, ...]) -> IpFilter:
    """The filter for these lists, parsed once (the config validated them at load)."""
    return IpFilter(allow, deny)
