"""Whether a client address lies in a key's allowed networks (a temporary key's allowance).

Plain Python, called by admission (native and reference) only for keys that have networks."""

from __future__ import annotations

import ipaddress
from typing import Any


def allowed_from(client: str | None, networks: tuple[Any, ...]) -> bool:
    """`client` as granian gives it ("1.2.3.4:5678", "[2001:db8::1]:5678") in one of `networks`
    (ipaddress networks); False when the address is missing or unreadable."""
    host = client or ""
    if host.startswith("["):  # [v6]:port
        host = host[1 : host.find("]")]
    elif host.count(":") == 1:  # v4:port
        host = host.rpartition(":")[0]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in networks)
