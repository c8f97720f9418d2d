"""The login engine: findings about logins, the auth policy's answer, and account risk.

Pure like the outbound engine: the clock is the event's timestamp. ``observe`` takes what
happened (a Dovecot ``report``, a log line); ``allow`` answers Dovecot's question before (or
after) the password check from what has been observed so far. Both take every address as
:func:`~mailwarden.engine.logins.tracker.plain_address` gives it (``::ffff:a.b.c.d`` is
``a.b.c.d``), whatever the source.

Only a wrong password (or user name) counts as a failure: not an attempt Dovecot refused
because we answered -1 (``policy_reject``), nor one that failed for another reason Dovecot
names in ``fail_type`` (an internal error, an expired password, a disabled account). Addresses
in ``[organization] internal_networks`` are tarpitted at most by the brute-force and spray
rules, never refused; deny lists refuse them like any other.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache

from mailwarden.config import Config
from mailwarden.engine.geo import Geo
from mailwarden.engine.logins.denylist import DenyList
from mailwarden.engine.logins.profile import LoginProfile
from mailwarden.engine.logins.signals import LOGIN_SIGNALS, Finding, LoginContext, LoginSignal
from mailwarden.engine.logins.signals.spray import spraying
from mailwarden.engine.logins.tracker import (
    SWEEP_BUDGET,
    Tracker,
    network_of,
    plain_address,
    source_of,
)
from mailwarden.engine.state import AccountState, States
from mailwarden.events import Login


@dataclass(frozen=True)
class AllowAnswer:
    """Dovecot's answer: -1 reject, 0 allow, N > 0 tarpit N seconds."""

    status: int
    message: str = ""
    signal: str = ""


ALLOW = AllowAnswer(0)
SWEEP_EVERY = 1024  # observed events between two sweeps of old failures
# Dovecot's fail_type (2.4+) values that are a wrong user name or password; "" when not sent
WRONG_CREDENTIALS = frozenset({"", "credentials", "account"})
YES = frozenset({"true", "yes", "1"})


def wrong_credentials(login: Login) -> bool:
    """True when a failed login is a wrong password or user name, which counts as a guess."""
    details = login.details
    if not details:
        return True
    return (details.get("policy_reject", "").lower() not in YES
            and details.get("fail_type", "").lower() in WRONG_CREDENTIALS)


def entering(login: Login) -> Login:
    """``login`` with its address as the engine keys it (IPv4-mapped IPv6 as plain IPv4)."""
    address = plain_address(login.address)
    return login if address == login.address else replace(login, address=address)


class LoginEngine:
    """Tracks failures, learns login habits, raises account risk."""

    def __init__(self, cfg: Config, states: States, geo: Geo,
                 signals: Sequence[LoginSignal] = LOGIN_SIGNALS,
                 deny: DenyList | None = None) -> None:
        self.cfg = cfg
        self.states = states
        self.geo = geo
        self.signals = tuple(signals)  # fixed: which are asked about what is worked out once
        # the signals asked about a successful login, and about a failed one (in registry order)
        self._asked = {
            outcome: [s.evaluate for s in self.signals if getattr(s, "on", kind) == kind]
            for outcome, kind in ((True, "success"), (False, "failure"))
        }
        self.deny = deny or DenyList.load(cfg.login.deny_files)
        self.tracker = Tracker(cfg.login.window_minutes * 60.0)  # wrong passwords
        self.refused = Tracker(cfg.login.window_minutes * 60.0)  # attempts refused on our answer
        self._hours: dict[int, int] = {}  # minute (epoch // 60) → local hour, where it is one
        self._internal = [ipaddress.ip_network(n, strict=False)
                          for n in cfg.organization.internal_networks]
        self.trusted = lru_cache(maxsize=65536)(self._trusted)
        self._until_sweep = SWEEP_EVERY

    def _trusted(self, address: str) -> bool:
        """True for an address in ``[organization] internal_networks``."""
        if not self._internal or not address:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self._internal)

    def _hour(self, t: float) -> int:
        """The local hour of ``t``; cached per minute when the whole minute has that hour."""
        minute = int(t // 60)
        hour = self._hours.get(minute)
        if hour is None:
            tz = self.cfg.tz
            start = datetime.fromtimestamp(minute * 60, tz)
            offset = start.utcoffset()
            exact = datetime.fromtimestamp(t, tz).hour
            if (offset is None or offset.seconds % 60 or start.hour != exact
                    or datetime.fromtimestamp(minute * 60 + 59, tz).utcoffset() != offset):
                return exact  # an offset with seconds, or a change within the minute: no cache
            if len(self._hours) >= 4096:
                self._hours.clear()
            hour = self._hours[minute] = exact
        return hour

    def _context(self, login: Login, state: AccountState | None) -> LoginContext:
        address = login.address
        return LoginContext(login, self.cfg, self.geo.lookup(address),
                            state.logins if state is not None else None, self.tracker,
                            self._hour(login.time),
                            bool(self.deny.networks) and address in self.deny, self.refused)

    def observe(self, login: Login) -> list[Finding]:
        """Take a login attempt that happened; return the findings it completes."""
        login = entering(login)
        success = login.success
        if not success:
            counted = wrong_credentials(login)
            if counted or login.details.get("policy_reject", "").lower() in YES:
                (self.tracker if counted else self.refused).fail(
                    login.account, login.address, login.pwhash, login.time, login.attempts)
        # only successes need (and load or create) the account's state: failures, often with
        # made-up names, must not fill memory and the store with states of nobody
        state = self.states.get(login.account) if success and login.account else None
        ctx = self._context(login, state)
        findings = [f for evaluate in self._asked[success] if (f := evaluate(ctx)) is not None]
        if success and state is not None:
            self._success(ctx, state, findings)
        self._until_sweep -= 1
        if self._until_sweep <= 0:
            self.sweep(login.time)
        return findings

    def sweep(self, now: float, budget: int | None = None) -> int:
        """Forget failures older than the window (a bounded amount of work); how many went."""
        self._until_sweep = SWEEP_EVERY
        budget = SWEEP_BUDGET if budget is None else budget
        return self.tracker.sweep(now, budget) + self.refused.sweep(now, budget)

    def _success(self, ctx: LoginContext, state: AccountState, findings: list[Finding]) -> None:
        risk = sum(f.weight for f in findings)
        if state.logins is None:
            state.logins = LoginProfile()
        if risk >= self.cfg.login.risk_threshold:
            state.logins.risk_until = ctx.login.time + self.cfg.login.risk_hours * 3600
            state.logins.risk_reasons = [f.signal for f in findings if f.weight > 0]
        else:  # a risky login teaches nothing
            state.logins.learn(ctx.login.time, ctx.facts.country, ctx.facts.asn,
                               ctx.login.device, ctx.hour, ctx.address)
        self.states.changed(state)

    def at_risk(self, account: str, t: float) -> bool:
        profile = self.states.get(account).logins
        return profile is not None and profile.risk_until > t

    def _known_at_risk(self, account: str, t: float) -> bool:
        """Like ``at_risk`` for an account whose state is in memory; creates none (an allow
        question may name anyone). A state that left memory is judged at its next success."""
        peek = getattr(self.states, "peek", None)
        state = peek(account) if peek is not None else self.states.get(account)
        profile = state.logins if state is not None else None
        return profile is not None and profile.risk_until > t

    def _refuse(self, address: str, signal: str) -> AllowAnswer:
        """Refuse for a brute-force or spray rule; only tarpit an internal address."""
        if self.trusted(address):
            return AllowAnswer(self.cfg.login.tarpit_seconds, "", signal)
        return AllowAnswer(-1, "Too many failed logins", signal)

    def allow(self, login: Login) -> AllowAnswer:
        """Dovecot asks whether to let this attempt go on (before or after the password)."""
        login = entering(login)
        t, address = login.time, login.address
        if address and address in self.deny:
            return AllowAnswer(-1, "Access denied", "denied_address")
        tracker = self.tracker
        failures = tracker.by_source(address, t)
        count = failures.distinct() if failures else 0
        lc = self.cfg.login
        if count >= lc.reject_after:
            return self._refuse(address, "brute_force_address")
        ctx = LoginContext(login, self.cfg, self.geo.lookup(address), None, tracker, 0, False)
        for table, key in (("addresses", source_of(address)), ("networks", network_of(address))):
            if spraying(ctx, table, key):
                return self._refuse(address, "password_spray")
        if count >= lc.tarpit_after:
            return AllowAnswer(lc.tarpit_seconds, "", "brute_force_address")
        if login.account and failures is not None and failures.distinct(login.account):
            attacked = tracker.peek(tracker.accounts, login.account, t)
            if attacked is not None and attacked.distinct() >= lc.account_brute_force:
                return AllowAnswer(lc.tarpit_seconds, "", "brute_force_account")
        if lc.reject_high_risk and login.account and self._known_at_risk(login.account, t):
            return AllowAnswer(-1, "Account locked after a suspicious login", "login_risk")
        return ALLOW
