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
SWEEP_BUDGET = 2048  # entries a sweep looks at, at most, per call


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"({_OCTET}\.{_OCTET}\.{_OCTET}\.){_OCTET}", re.ASCII)  # as ipaddress reads it


@lru_cache(maxsize=65536)
def plain_address(address: str) -> str:
    """An address as the login engine keys it: an IPv4-mapped IPv6 address
    (``::ffff:203.0.113.9``) as plain IPv4, other IPv6 addresses in their canonical form,
    anything else (IPv4, not an address) unchanged."""
    if ":" not in address:
        return address  # the common case: IPv4 (or no address at all)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


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
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ipaddress.ip_network(f"{ip}/{24 if ip.version == 4 else 64}", strict=False))


def source_of(address: str) -> str:
    """What the per-address limits count by: an IPv4 address itself, an IPv6 address's /64
    (whose owner has billions of addresses to rotate through)."""
    if ":" not in address:
        return address
    return network_of(address) or address


class Failures:
    """For one source: account → {password id → last time}, pruned to the window.

    ``by_account`` is in order of the last failure: when it holds ``MAX_KEYS`` keys, the key
    that failed longest ago leaves for a new one (a flood of decoys cannot keep out the
    address that matters, nor freeze the record).

    A heap of ``(time, account, password id)`` finds what the window drops without looking at
    everything else: an entry whose secret has been seen again since (or whose key left) is
    stale and skipped.
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
        seen = by_account.pop(account, None)
        if seen is None:
            seen = {}
            if len(by_account) >= MAX_KEYS:
                self._evict_oldest()
        by_account[account] = seen  # (again) the most recent key
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

    def _evict_oldest(self) -> None:
        """Forget the key that failed longest ago (its heap entries become stale)."""
        by_account = self.by_account
        oldest = next(iter(by_account))
        size = len(by_account.pop(oldest))
        if size:
            self.total -= size
            self.sizes[size] -= 1

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
    """Failures per source, per network and per account, in bounded LRUs.

    ``addresses`` is keyed by :func:`source_of` (an IPv4 address, an IPv6 /64), ``networks``
    by :func:`network_of`, ``accounts`` by account, each of those keyed by full address.
    """

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

    def by_source(self, address: str, now: float) -> Failures | None:
        """The failures counted against ``address``'s source (itself, or its IPv6 /64)."""
        return self.peek(self.addresses, source_of(address), now) if address else None

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
        by_address = get(self.addresses, source_of(address), t) if address else None
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

    def sweep(self, now: float, budget: int = SWEEP_BUDGET) -> int:
        """Forget entries whose last failure (or finding) is older than the window, looking at
        ``budget`` entries at most, least recently touched first; the number forgotten.

        An entry still in the window stops the walk of its table (what follows it was touched
        later); its own old secrets are pruned when it is next looked at.
        """
        horizon = now - self.window
        removed = 0
        for table in (self.addresses, self.networks, self.accounts):
            while budget > 0 and table:
                budget -= 1
                key, found = next(iter(table.items()))
                if found.last >= horizon:
                    break
                del table[key]
                removed += 1
        fired = self.fired
        while budget > 0 and fired:
            budget -= 1
            key2, t = next(iter(fired.items()))
            if t >= horizon:
                break
            del fired[key2]
            removed += 1
        return removed
