"""The login engine: findings about logins, the auth policy's answer, and account risk.

Pure like the outbound engine: the clock is the event's timestamp. ``observe`` takes what
happened (a Dovecot ``report``, a log line); ``allow`` answers Dovecot's question before (or
after) the password check from what has been observed so far.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from mailwarden.config import Config
from mailwarden.engine.geo import Geo
from mailwarden.engine.logins.denylist import DenyList
from mailwarden.engine.logins.profile import LoginProfile
from mailwarden.engine.logins.signals import LOGIN_SIGNALS, Finding, LoginContext, LoginSignal
from mailwarden.engine.logins.signals.spray import spraying
from mailwarden.engine.logins.tracker import Tracker, network_of
from mailwarden.engine.state import AccountState, States
from mailwarden.events import Login


@dataclass(frozen=True)
class AllowAnswer:
    """Dovecot's answer: -1 reject, 0 allow, N > 0 tarpit N seconds."""

    status: int
    message: str = ""
    signal: str = ""


ALLOW = AllowAnswer(0)


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
        self.tracker = Tracker(cfg.login.window_minutes * 60.0)
        self._hours: dict[int, int] = {}  # minute (epoch // 60) → local hour, where it is one

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
                            bool(self.deny.networks) and address in self.deny)

    def observe(self, login: Login) -> list[Finding]:
        """Take a login attempt that happened; return the findings it completes."""
        success = login.success
        if not success:
            self.tracker.fail(login.account, login.address, login.pwhash, login.time,
                              login.attempts)
        state = self.states.get(login.account) if login.account else None
        ctx = self._context(login, state)
        findings = [f for evaluate in self._asked[success] if (f := evaluate(ctx)) is not None]
        if success and state is not None:
            self._success(ctx, state, findings)
        return findings

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

    def allow(self, login: Login) -> AllowAnswer:
        """Dovecot asks whether to let this attempt go on (before or after the password)."""
        t = login.time
        if login.address and login.address in self.deny:
            return AllowAnswer(-1, "Access denied", "denied_address")
        tracker = self.tracker
        failures = tracker.peek(tracker.addresses, login.address, t) if login.address else None
        count = failures.distinct() if failures else 0
        lc = self.cfg.login
        if count >= lc.reject_after:
            return AllowAnswer(-1, "Too many failed logins", "brute_force_address")
        ctx = LoginContext(login, self.cfg, self.geo.lookup(login.address), None, tracker,
                           0, False)
        for table, key in (("addresses", login.address),
                           ("networks", network_of(login.address))):
            if spraying(ctx, table, key):
                return AllowAnswer(-1, "Too many failed logins", "password_spray")
        if count >= lc.tarpit_after:
            return AllowAnswer(lc.tarpit_seconds, "", "brute_force_address")
        if login.account and failures is not None and failures.distinct(login.account):
            attacked = tracker.peek(tracker.accounts, login.account, t)
            if attacked is not None and attacked.distinct() >= lc.account_brute_force:
                return AllowAnswer(lc.tarpit_seconds, "", "brute_force_account")
        if lc.reject_high_risk and login.account and self.at_risk(login.account, t):
            return AllowAnswer(-1, "Account locked after a suspicious login", "login_risk")
        return ALLOW
