"""What counts as this machine: loopback names and addresses, and unix sockets."""

from __future__ import annotations

import pytest

from openclaw.addresses import is_local_url, is_loopback_host


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST", "127.0.0.1", "127.8.9.10", "::1", "[::1]", "api.localhost"]
)
def test_loopback_hosts_are_local(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host", ["10.0.0.5", "192.168.1.20", "example.com", "localhost.evil.com", "0.0.0.0", ""]
)
def test_other_hosts_are_not_even_private_ranges(host: str) -> None:
    assert not is_loopback_host(host)


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:11434", True),
        ("http://localhost:1234/v1", True),
        ("http://[::1]:8000/v1", True),
        ("redis://127.0.0.1:6379/0", True),
        ("unix:///run/redis.sock", True),
        ("http+unix://%2Frun%2Follama.sock", True),
        ("https://api.openai.com/v1", False),
        ("redis://cache.internal:6379/0", False),
        ("http://10.1.2.3:11434", False),
        ("", False),
    ],
)
def test_urls_are_local_when_their_host_is_or_they_are_sockets(url: str, local: bool) -> None:
    assert is_local_url(url) is local
