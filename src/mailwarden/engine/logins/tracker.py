"""Who failed to log in, with which passwords, recently: per address, network and account.

Wrong passwords are counted as *distinct* password hashes (Dovecot's ``pwhash``), so a phone
retrying one stale password counts once, not a hundred times. Without a hash (log lines), every
failed attempt counts as another password. Everything here is bounded and forgets what is
older than the window.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict
from functools import lru_cache

MAX_SOURCES = 200_000
MAX_KEYS = 256


@lru_cache(maxsize=65536)
def network_of(address: str) -> str:
    """The /24 (IPv4) or /64 (IPv6) an address belongs to; '' when not an address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return ""
    return str(ipaddress.ip_network(f"{ip}/{24 if ip.version == 4 else 64}", strict=False))


class Failures:
    """For one source: account → {password id → last time}, pruned to the window."""

    __slots__ = ("by_account", "last", "oldest", "total")

    def __init__(self) -> None:
        self.by_account: dict[str, dict[str, float]] = {}
        self.last = 0.0
        self.oldest = float("inf")  # no entry is older: pruning before then is a no-op
        self.total = 0  # distinct secrets over all accounts

    def add(self, account: str, secret: str, t: float) -> None:
        seen = self.by_account.get(account)
        if seen is None:
            if len(self.by_account) >= MAX_KEYS:
                return  # saturated: enough to decide
            seen = self.by_account[account] = {}
        if secret in seen:
            seen[secret] = t
        elif len(seen) < MAX_KEYS:
            seen[secret] = t
            self.total += 1
        self.last = max(self.last, t)
        self.oldest = min(self.oldest, t)

    def prune(self, horizon: float) -> None:
        if self.oldest >= horizon:
            return
        self.oldest = float("inf")
        for account in list(self.by_account):
            seen = self.by_account[account]
            for secret in [s for s, t in seen.items() if t < horizon]:
                del seen[secret]
                self.total -= 1
            if not seen:
                del self.by_account[account]
            else:
                self.oldest = min(self.oldest, *seen.values())

    def distinct(self, account: str | None = None) -> int:
        if account is not None:
            return len(self.by_account.get(account, ()))
        return self.total

    def accounts(self) -> int:
        return len(self.by_account)

    def max_per_account(self) -> int:
        return max((len(v) for v in self.by_account.values()), default=0)


class Tracker:
    """Failures per address, per network and per account, in bounded LRUs."""

    def __init__(self, window: float) -> None:
        self.window = window
        self.addresses: OrderedDict[str, Failures] = OrderedDict()
        self.networks: OrderedDict[str, Failures] = OrderedDict()
        self.accounts: OrderedDict[str, Failures] = OrderedDict()
        self.fired: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._secret = 0

    def _get(self, table: OrderedDict[str, Failures], key: str, now: float) -> Failures:
        found = table.get(key)
        if found is None:
            found = table[key] = Failures()
            if len(table) > MAX_SOURCES:
                table.popitem(last=False)
        else:
            table.move_to_end(key)
            found.prune(now - self.window)
        return found

    def peek(self, table: OrderedDict[str, Failures], key: str, now: float) -> Failures | None:
        found = table.get(key)
        if found is not None:
            found.prune(now - self.window)
        return found

    def fail(self, account: str, address: str, pwhash: str, t: float, attempts: int = 1) -> None:
        """Record failed attempts; without a hash each attempt is a distinct password."""
        secrets = [pwhash] if pwhash else [f"#{self._next()}" for _ in range(max(1, attempts))]
        network = network_of(address)
        for secret in secrets:
            if address:
                self._get(self.addresses, address, t).add(account, secret, t)
            if network:
                self._get(self.networks, network, t).add(account, secret, t)
            if account:
                self._get(self.accounts, account, t).add(address or "?", secret, t)

    def _next(self) -> int:
        self._secret += 1
        return self._secret

    def once(self, signal: str, key: str, t: float) -> bool:
        """True the first time (signal, key) fires within the window."""
        last = self.fired.get((signal, key))
        if last is not None and last >= t - self.window:
            return False
        self.fired[(signal, key)] = t
        self.fired.move_to_end((signal, key))
        if len(self.fired) > MAX_SOURCES:
            self.fired.popitem(last=False)
        return True
