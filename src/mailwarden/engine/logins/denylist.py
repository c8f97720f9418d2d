"""Deny lists: plain files of addresses and networks, one a line, '#' comments."""

from __future__ import annotations

import ipaddress
from pathlib import Path

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class DenyListError(ValueError):
    """A deny list that cannot be read; names the file and the line."""


class DenyList:
    """Addresses and networks whose logins are refused."""

    def __init__(self, networks: list[Network] | None = None) -> None:
        self.networks = networks or []

    @classmethod
    def load(cls, paths: list[str]) -> DenyList:
        networks: list[Network] = []
        for path in paths:
            try:
                text = Path(path).read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                raise DenyListError(f"{path}: cannot read: {exc.strerror}") from None
            for number, raw in enumerate(text.splitlines(), 1):
                entry = raw.split("#", 1)[0].strip()
                if not entry:
                    continue
                try:
                    networks.append(ipaddress.ip_network(entry, strict=False))
                except ValueError:
                    raise DenyListError(f"{path}:{number}: not an address or network: "
                                        f"{entry[:60]!r}") from None
        return cls(networks)

    def __contains__(self, address: str) -> bool:
        if not self.networks:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # ::ffff:a.b.c.d is a.b.c.d: IPv4 entries apply
        return any(ip in net for net in self.networks)
