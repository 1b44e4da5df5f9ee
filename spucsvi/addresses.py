"""Client addresses as SPUCSVi counts them, wherever a client is counted (the
worker's connection cap, the submission limit, trusted proxies)."""

from __future__ import annotations

import ipaddress

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# One holder of an IPv6 /64 has every address in it: it is counted as one client.
IPV6_CLIENT_PREFIX = 64


def address(text: str) -> Address | None:
    """An IP address (IPv4-mapped IPv6 as IPv4, brackets allowed), or None."""
    try:
        parsed = ipaddress.ip_address(text.strip().removeprefix("[").removesuffix("]"))
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return parsed.ipv4_mapped
    return parsed


def client(address: Address) -> str:
    """What one client is counted as: an IPv4 address whole, an IPv6 one by its /64."""
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, IPV6_CLIENT_PREFIX), strict=False))
    return str(address)
