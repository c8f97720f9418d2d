"""The outbound engine: signals → score → verdict, and the account's state. Pure: the clock
is the event's own timestamp, so live traffic, replay and import decide alike."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from mailwarden import i18n
from mailwarden.config import Config
from mailwarden.engine.baseline import Pending
from mailwarden.engine.geo import Geo
from mailwarden.engine.headroom import Headroom, measure
from mailwarden.engine.incident import Incident, incident_id
from mailwarden.engine.signals import OUTBOUND, Context, Reason, Signal
from mailwarden.engine.signals.base import Quiet
from mailwarden.engine.signals.rate import CHECKS, peak_key
from mailwarden.engine.signals.recipients import PEAK_KEY
from mailwarden.engine.state import MAX_PENDING, AccountState, States, bounce_window
from mailwarden.engine.windows import Totals, Windows
from mailwarden.events import Delivery, Submission
from mailwarden.timefmt import iso

SETTLE_SECONDS = 86400.0
MAX_QUEUE_IDS = 100_000
# "no such user" and "bad destination mailbox address" class bounces: harvested or guessed lists
NO_SUCH_RECIPIENT = ("5.1.1", "5.1.0", "5.1.2", "5.1.3", "5.1.6", "5.1.10")
MAX_RECIPIENTS_LEARNED = 200
MAX_DOMAINS_CACHED = 100_000
MAX_ADDRESSES_CACHED = 65_536
# (peak name, window, attribute) of every volume the rate signal checks
PEAKS = tuple((peak_key(w, a), w, a) for w, a, _metric, _floor in CHECKS)


@dataclass
class Verdict:
    """The decision on one message."""

    hold: bool
    score: float = 0.0
    reasons: list[Reason] = field(default_factory=list)
    incident: Incident | None = None
    quarantined: bool = False


ALLOW = Verdict(hold=False)


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower().rstrip(".")


class Engine:
    """Decides messages and keeps account state through the ``States`` interface."""

    def __init__(self, cfg: Config, states: States, geo: Geo | None = None,
                 signals: Sequence[Signal] = OUTBOUND, settle: float = SETTLE_SECONDS) -> None:
        self.cfg = cfg
        self.states = states
        home = cfg.organization.home_countries[0] if cfg.organization.home_countries else ""
        self.geo = geo or Geo(cfg.organization.internal_networks, home)
        self.signals = list(signals)
        quiets = [getattr(s, "quiet", None) for s in self.signals]
        # the fast path (engine/headroom.py) needs every signal to say where it stays silent
        self.quiets: list[Callable[[Context], Quiet | None]] | None = (
            [q for q in quiets if q is not None]
            if None not in quiets and cfg.outbound.hold_threshold > 0 else None)
        self.settle = settle
        self.domains = frozenset(cfg.organization.domains)
        self.exempt_accounts = frozenset(a.lower() for a in cfg.outbound.exempt_accounts)
        self.exempt_senders = frozenset(s.lower() for s in cfg.outbound.exempt_senders)
        self.exempting = bool(self.exempt_accounts or self.exempt_senders)
        self._hours: dict[int, tuple[int, int, int]] = {}
        self.queue_ids: OrderedDict[str, str] = OrderedDict()
        self._internal: dict[str, bool] = {}
        self._addresses: dict[str, tuple[str, str, bool]] = {}

    # -- facts --------------------------------------------------------------------------
    def internal(self, address: str) -> bool:
        domain = domain_of(address)
        known = self._internal.get(domain)
        if known is None:
            known = any(domain == d or domain.endswith("." + d) for d in self.domains)
            if len(self._internal) > MAX_DOMAINS_CACHED:
                self._internal.clear()
            self._internal[domain] = known
        return known

    def where(self, address: str) -> tuple[str, str, bool]:
        """(the address in lower case, its domain, whether the domain is internal); cached,
        since recipients repeat."""
        found = self._addresses.get(address)
        if found is None:
            lower = address.lower()
            found = (lower, domain_of(lower), self.internal(lower))
            if len(self._addresses) > MAX_ADDRESSES_CACHED:
                self._addresses.clear()
            self._addresses[address] = found
        return found

    def exempt(self, sub: Submission) -> bool:
        """An exempt account, or an exempt envelope sender that is the account itself.

        The envelope sender is the client's choice: a stolen login must not borrow another
        address's exemption with ``MAIL FROM:<noreply@...>``. ``exempt_senders`` therefore
        applies only when the sender is the account (unauthenticated mail tracked by its
        sender, or an account sending as itself); see docs/outbound-guard.md.
        """
        account = sub.account.lower()
        if account in self.exempt_accounts:
            return True
        sender = sub.sender.lower()
        return sender == account and (
            sender in self.exempt_senders or ("@" + domain_of(sender)) in self.exempt_senders)

    def _local(self, t: float) -> tuple[int, int, int]:
        """(hour of week, hour of day, local hour number) at ``t``, cached per minute: zones
        with half-hour (and 45-minute) offsets change hour in the middle of a UTC hour."""
        key = int(t // 60)
        found = self._hours.get(key)
        if found is None:
            local = datetime.fromtimestamp(t, self.cfg.tz)
            found = (local.weekday() * 24 + local.hour, local.hour,
                     local.toordinal() * 24 + local.hour)
            if len(self._hours) > 10000:
                self._hours.clear()
            self._hours[key] = found
        return found

    def hours(self, t: float) -> tuple[int, int]:
        """(hour of week 0..167 with Monday 00h = 0, hour of day) in the organisation's zone."""
        found = self._local(t)
        return found[0], found[1]

    def local_hour(self, t: float) -> int:
        """A number for the local clock hour of ``t`` (the fast path's hour)."""
        return self._local(t)[2]

    def _context(self, sub: Submission, state: AccountState) -> Context:
        rcpts = tuple(r.lower() for r in sub.recipients)
        external = tuple(r for r in rcpts if not self.internal(r))
        ext_count = len(external) + max(0, sub.recipient_count - len(rcpts)) * bool(external)
        domains = frozenset(domain_of(r) for r in external)
        totals: dict[str, Totals] = {}
        size = sub.size
        for name, t in state.windows.totals(sub.time).items():
            new_domains = 0
            if domains:
                window = state.windows.by_name[name]
                horizon = sub.time - window.span
                new_domains = sum(1 for d in domains if window.domains.get(d, -1e18) < horizon)
            totals[name] = Totals(t.messages + 1, t.recipients + size,
                                  t.external + ext_count, t.domains + new_domains)
        how, hod = self.hours(sub.time)
        warm = state.baseline.warm(self.cfg.baseline.warm_messages, self.cfg.baseline.warm_days)
        return Context(sub, state, self.cfg, self.geo.lookup(sub.client_address), totals,
                       external, how, hod, warm)

    # -- decisions ----------------------------------------------------------------------
    def check(self, sub: Submission) -> Verdict:
        """Decide a message (at RCPT time: its recipients so far). Learns nothing."""
        if not sub.account:
            return ALLOW
        state = self.states.get(sub.account)
        if self.exempting and not state.quarantined and self.exempt(sub):
            return ALLOW  # a quarantined account is held, exempt or not
        room = state.headroom
        if room is not None and self._fits(room, state, sub):
            return ALLOW  # what the full check would say: nothing found
        self._settle(state, sub.time)
        if state.quarantined:
            facts = {"since": iso(state.quarantine_since), "incident": state.quarantine_incident}
            reason = Reason("quarantined", 0.0, i18n.render("quarantined", "en", **facts),
                            i18n.render("quarantined", "ja", **facts), facts)
            return Verdict(True, 0.0, [reason], quarantined=True)
        ctx = self._context(sub, state)
        reasons = [r for s in self.signals if (r := s.evaluate(ctx)) is not None]
        score = sum(r.weight for r in reasons)
        if not reasons and self.quiets is not None:
            state.headroom = room = measure(ctx, [quiet(ctx) for quiet in self.quiets])
            if room is not None:
                room.hour = self.local_hour(sub.time)
        if score < self.cfg.outbound.hold_threshold:
            return Verdict(False, score, reasons)
        incident = self._open(ctx, score, reasons)
        if self.cfg.outbound.quarantine and self.cfg.outbound.mode != "warn":
            state.headroom = None
            state.quarantined = True
            state.quarantine_since = sub.time
            state.quarantine_incident = incident.id
            self.states.changed(state)
        return Verdict(True, score, reasons, incident)

    def _fits(self, room: Headroom, state: AccountState, sub: Submission) -> bool:
        """The message is like the one the headroom was measured on and fits in it."""
        t = sub.time
        if (t < room.since or self._local(t)[2] != room.hour or sub.client_address != room.client
                or sub.sender != room.sender or state.quarantined):
            return False
        pending = state.pending
        if pending and (pending[0].hour + 1) * 3600 <= t - self.settle:
            return False  # an hour is due to be learned: the baseline is about to change
        external: list[str] = []
        domains: set[str] = set()
        where = self.where
        for rcpt in sub.recipients:
            lower, domain, internal = where(rcpt)
            if not internal:
                external.append(lower)
                domains.add(domain)
        rcpts = len(sub.recipients)
        ext_count = len(external) + max(0, sub.recipient_count - rcpts) * bool(external)
        if not room.fits(sub.size, ext_count, len(domains)):
            return False
        if room.known and external:
            known = state.baseline.correspondents
            for rcpt in external:
                if rcpt not in known:
                    return False
        return all(still(state, t) for still in room.still)

    def _open(self, ctx: Context, score: float, reasons: list[Reason]) -> Incident:
        sub, facts = ctx.sub, ctx.facts
        evidence = {
            "message": {"time": iso(sub.time), "sender": sub.sender, "queue_id": sub.queue_id,
                        "instance": sub.instance, "recipients": list(sub.recipients[:50]),
                        "recipient_count": sub.size},
            "client": {"address": facts.address, "country": facts.country, "asn": facts.asn,
                       "network": facts.network},
            "windows": {n: _totals(t) for n, t in ctx.totals.items()},
            "baseline": {"warm": ctx.warm, "messages": ctx.state.baseline.messages,
                         "countries": sorted(ctx.state.baseline.countries)},
        }
        severity = "high" if any(r.signal == "foreign_country" for r in reasons) else "medium"
        return Incident(incident_id(sub.account, sub.time), sub.time, sub.account,
                        "outbound_anomaly", severity, score, reasons, evidence)

    def commit(self, sub: Submission, held: bool) -> None:
        """Count a message that was accepted (or held) into the windows; learn it later."""
        if not sub.account:
            return
        state = self.states.get(sub.account)
        self._settle(state, sub.time)
        facts = [self.where(r) for r in sub.recipients]
        rcpts = tuple(lower for lower, _domain, _internal in facts)
        external = [domain for _lower, domain, internal in facts if not internal]
        ext_count = len(external) + max(0, sub.recipient_count - len(rcpts)) * bool(external)
        domains = frozenset(external)
        state.windows.add(sub.time, sub.size, ext_count, domains)
        state.commits += 1
        if state.headroom is not None:
            state.headroom.spend(sub.size, ext_count, len(domains))
        if not held:
            self._remember(state, sub, rcpts)
        if sub.queue_id:
            self.queue_ids[sub.queue_id] = sub.account
            if len(self.queue_ids) > MAX_QUEUE_IDS:
                self.queue_ids.popitem(last=False)
        self.states.changed(state)

    def bounce(self, delivery: Delivery) -> str:
        """Count a non-existent-recipient bounce against the account that sent it.

        Returns the account, or '' when the bounce is of another kind or its message unknown.
        """
        if delivery.status != "bounced" or not delivery.dsn.startswith(NO_SUCH_RECIPIENT):
            return ""
        account = self.queue_ids.get(delivery.queue_id, "")
        if not account:
            return ""
        state = self.states.get(account)
        if state.bounces is None:
            state.bounces = bounce_window()
        state.bounces.add(delivery.time, 1, 1, frozenset())
        state.headroom = None
        self.states.changed(state)
        return account

    def _remember(self, state: AccountState, sub: Submission, rcpts: tuple[str, ...]) -> None:
        """Add the message to its hour's pending record (learned once settled)."""
        peaks = {PEAK_KEY: sub.size}
        totals = state.windows.totals(sub.time)
        for key, window, attr in PEAKS:
            peaks[key] = getattr(totals[window], attr)
        facts = self.geo.lookup(sub.client_address)
        hour = int(sub.time // 3600)
        pending = state.pending
        if not pending or pending[-1].hour < hour:
            how, hod = self.hours(sub.time)
            pending.append(Pending(hour, sub.time, how, hod))
            if len(pending) > MAX_PENDING:
                self._learn(state, pending.pop(0))
        record = pending[-1]
        if record.hour != hour:  # a message older than the newest pending hour
            record = next((p for p in reversed(pending) if p.hour == hour), record)
        record.add(sub.time, sub.sender.lower(), facts.network, facts.asn, facts.country,
                   rcpts[:MAX_RECIPIENTS_LEARNED], peaks, self.cfg.baseline.max_addresses)

    def _learn(self, state: AccountState, p: Pending) -> None:
        b = self.cfg.baseline
        state.headroom = None  # the baseline changes: signals must look again
        state.baseline.learn(p, half_life=b.peak_half_life_days * 86400, cap=b.max_addresses,
                             max_correspondents=b.max_correspondents)

    def _settle(self, state: AccountState, now: float) -> None:
        """Learn the pending hours that ended more than the settle period ago."""
        pending = state.pending
        if not pending or (pending[0].hour + 1) * 3600 > now - self.settle:
            return
        horizon = now - self.settle
        n = 0
        while n < len(pending) and (pending[n].hour + 1) * 3600 <= horizon:
            self._learn(state, pending[n])
            n += 1
        del pending[:n]
        self.states.changed(state)

    def learn(self, sub: Submission) -> None:
        """Learning only (``logs import``): count and remember without deciding."""
        self.commit(sub, held=False)

    def settle_all(self, now: float) -> None:
        """Learn every pending message older than the settle period, for all accounts."""
        for state in self.states:
            self._settle(state, now)

    def commits(self, account: str) -> int:
        """Messages of the account counted since its state was made or loaded: the guard
        decides a message again at its end only when others were counted meanwhile."""
        return self.states.get(account).commits

    def quarantined(self, account: str) -> bool:
        return self.states.get(account).quarantined

    def release(self, account: str) -> bool:
        """Lift an account's quarantine; True when it was quarantined.

        A release means an administrator secured the account: the attack's burst must not
        count against the owner's own mail, and the suspicious login that led to it must not
        hold the owner's next message and open a new incident. Both are reset on every
        release, also when the state came back from the store with its quarantine already
        lifted there (the store's release writes the flag, not the windows)."""
        state = self.states.get(account)
        was = state.quarantined
        state.quarantined = False
        state.quarantine_incident = ""
        state.headroom = None
        state.windows = Windows()
        state.bounces = None
        if state.logins is not None:
            state.logins.risk_until = 0.0
            state.logins.risk_reasons = []
        self.states.changed(state)
        return was

    def quarantine(self, account: str, incident: str, since: float) -> bool:
        """Hold every later message of an account (set by the response, not by a message);
        True when it was not quarantined yet."""
        state = self.states.get(account)
        if state.quarantined:
            return False
        state.quarantined = True
        state.quarantine_since = since
        state.quarantine_incident = incident
        self.states.changed(state)
        return True


def _totals(t: Totals) -> dict[str, int]:
    return {"messages": t.messages, "recipients": t.recipients, "external": t.external,
            "domains": t.domains}
