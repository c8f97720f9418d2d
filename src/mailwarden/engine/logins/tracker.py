"""Who failed to log in, with which passwords, recently: per address, network and account.

Wrong passwords are counted as *distinct* password hashes (Dovecot's ``pwhash``), so a phone
retrying one stale password counts once, not a hundred times. Without a hash (log lines), every
failed attempt counts as another password. Everything here is bounded and forgets what is
older than the window.
"""

from __future__ import annotations

import ipaddress
import re
from collections import OrderedDict
from functools import lru_cache
from heapq import heapify, heappop, heappush

MAX_SOURCES = 200_000
MAX_KEYS = 256


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"({_OCTET}\.{_OCTET}\.{_OCTET}\.){_OCTET}", re.ASCII)  # as ipaddress reads it


@lru_cache(maxsize=65536)
def network_of(address: str) -> str:
    """The /24 (IPv4) or /64 (IPv6) an address belongs to; '' when not an address."""
    dotted = _IPV4.fullmatch(address)
    if dotted is not None:  # the common case, without building address objects
        return f"{dotted.group(1)}0/24"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return ""
    return str(ipaddress.ip_network(f"{ip}/{24 if ip.version == 4 else 64}", strict=False))


class Failures:
    """For one source: account → {password id → last time}, pruned to the window.

    A heap of ``(time, account, password id)`` finds what the window drops without looking at
    everything else: an entry whose secret has been seen again since is stale and skipped.
    """

    __slots__ = ("by_account", "expiry", "largest", "last", "sizes", "total")

    def __init__(self) -> None:
        self.by_account: dict[str, dict[str, float]] = {}
        self.expiry: list[tuple[float, str, str]] = []  # a min-heap; may hold stale entries
        self.last = 0.0
        self.total = 0  # distinct secrets over all accounts
        self.sizes: dict[int, int] = {}  # secrets of an account → how many accounts have that many
        self.largest = 0  # no account has more secrets (an upper bound; see max_per_account)

    def add(self, account: str, secret: str, t: float) -> None:
        by_account = self.by_account
        seen = by_account.get(account)
        if seen is None:
            if len(by_account) >= MAX_KEYS:
                return  # saturated: enough to decide
            seen = by_account[account] = {}
        if secret in seen:
            seen[secret] = t
        elif len(seen) < MAX_KEYS:
            seen[secret] = t
            self.total += 1
            size, sizes = len(seen), self.sizes
            if size > 1:
                sizes[size - 1] -= 1
            sizes[size] = sizes.get(size, 0) + 1
            if size > self.largest:
                self.largest = size
        else:
            if t > self.last:
                self.last = t
            return
        expiry = self.expiry
        heappush(expiry, (t, account, secret))
        if len(expiry) > 2 * self.total + 64:  # secrets seen again leave stale entries behind
            self._compact()
        if t > self.last:
            self.last = t

    def _compact(self) -> None:
        self.expiry = [(t, a, s) for a, seen in self.by_account.items() for s, t in seen.items()]
        heapify(self.expiry)

    def prune(self, horizon: float) -> None:
        """Forget every secret last seen before ``horizon``."""
        expiry = self.expiry
        if not expiry or expiry[0][0] >= horizon:
            return
        by_account = self.by_account
        while expiry and expiry[0][0] < horizon:
            t, account, secret = heappop(expiry)
            seen = by_account.get(account)
            if seen is None or seen.get(secret) != t:
                continue  # stale: seen again later (or already gone)
            del seen[secret]
            self.total -= 1
            size, sizes = len(seen), self.sizes
            sizes[size + 1] -= 1
            if size:
                sizes[size] = sizes.get(size, 0) + 1
            else:
                del by_account[account]

    def distinct(self, account: str | None = None) -> int:
        if account is not None:
            return len(self.by_account.get(account, ()))
        return self.total

    def accounts(self) -> int:
        return len(self.by_account)

    def max_per_account(self) -> int:
        sizes, largest = self.sizes, self.largest
        while largest and not sizes.get(largest):
            largest -= 1
        self.largest = largest
        return largest


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
            expiry = found.expiry
            if expiry and expiry[0][0] < now - self.window:
                found.prune(now - self.window)
        return found

    def peek(self, table: OrderedDict[str, Failures], key: str, now: float) -> Failures | None:
        found = table.get(key)
        if found is not None:
            expiry = found.expiry
            if expiry and expiry[0][0] < now - self.window:
                found.prune(now - self.window)
        return found

    def fail(self, account: str, address: str, pwhash: str, t: float, attempts: int = 1) -> None:
        """Record failed attempts; without a hash each attempt is a distinct password."""
        if pwhash:
            secrets = [pwhash]
        elif attempts <= 1:
            self._secret += 1
            secrets = [f"#{self._secret}"]
        else:
            secrets = [f"#{self._next()}" for _ in range(attempts)]
        network = network_of(address)
        get = self._get
        by_address = get(self.addresses, address, t) if address else None
        by_network = get(self.networks, network, t) if network else None
        by_account = get(self.accounts, account, t) if account else None
        source = address or "?"
        for secret in secrets:
            if by_address is not None:
                by_address.add(account, secret, t)
            if by_network is not None:
                by_network.add(account, secret, t)
            if by_account is not None:
                by_account.add(source, secret, t)

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
