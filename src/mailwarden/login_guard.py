"""The login guard: Dovecot auth policy requests and log events → the login engine.

Turns Dovecot's attributes into ``Login`` events, answers ``allow`` from the engine, feeds
``report`` and log events to it, and collects findings and incidents for the store.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from mailwarden import i18n
from mailwarden.config import Config
from mailwarden.engine.incident import Incident, incident_id
from mailwarden.engine.logins.engine import LoginEngine, entering
from mailwarden.engine.logins.signals import Finding
from mailwarden.events import Login
from mailwarden.sources.dovecot_policy import BadRequest
from mailwarden.store.store import Batch

log = logging.getLogger("mailwarden.login")

TLS_YES = {"tls", "yes", "true", "1", "secured", "ssl"}


MAX_FIELD = 320  # characters of a login or address kept (the store's columns; log parsers cut
# their fields the same way)


def login_from_attrs(attrs: dict[str, str], now: float, success: bool) -> Login:
    """A Login from Dovecot's auth policy attributes; BadRequest naming a missing one."""
    for required in ("login", "remote"):
        if required not in attrs:
            raise BadRequest(400, f"missing attribute {required!r}")
    tls = attrs.get("tls")
    return Login(
        time=now, account=attrs["login"].strip().lower()[:MAX_FIELD],
        address=attrs["remote"].strip()[:MAX_FIELD],
        success=success, protocol=attrs.get("protocol", "").lower(),
        mechanism=attrs.get("mechanism", attrs.get("mech", "")), source="dovecot-policy",
        details={k: v for k, v in attrs.items() if k in ("session_id", "fail_type",
                                                        "policy_reject")},
        pwhash=attrs.get("pwhash", ""), device=attrs.get("device_id", ""),
        tls="" if tls is None else ("yes" if tls.lower() in TLS_YES else "no"),
    )


class LoginGuard:
    """The auth policy handler and the sink of login events from logs."""

    def __init__(self, cfg: Config, engine: LoginEngine,
                 clock: Callable[[], float] = time.time) -> None:
        self.cfg = cfg
        self.engine = engine
        self.clock = clock
        self.batch = Batch()
        self.counters = {"allow": 0, "report": 0, "rejected": 0, "tarpitted": 0}
        self.last_report = 0.0  # wall clock of the last Dovecot report

    def __call__(self, command: str, attrs: dict[str, str]) -> tuple[int, str]:
        now = self.clock()
        self.counters[command] += 1
        if command == "allow":
            answer = self.engine.allow(login_from_attrs(attrs, now, False))
            if answer.status < 0:
                self.counters["rejected"] += 1
            elif answer.status > 0:
                self.counters["tarpitted"] += 1
            return answer.status, answer.message
        self.last_report = time.time()
        success = attrs.get("success", "").lower() == "true"
        self.observe(login_from_attrs(attrs, now, success))
        return 0, ""

    def observe(self, login: Login) -> list[Finding]:
        login = entering(login)  # (the engine does it too) the incident names the plain address
        findings = self.engine.observe(login)
        for finding in findings:
            self.record(finding)
        if login.success and findings and self.engine.at_risk(login.account, login.time):
            weight = sum(f.weight for f in findings)
            if weight >= self.cfg.login.risk_threshold:
                self._incident(login, findings, weight)
        return findings

    def record(self, finding: Finding) -> None:
        self.batch.findings.append({**finding.to_dict(), "epoch": finding.time})
        if finding.severity == "high":
            log.warning("%s %s %s: %s", finding.signal, finding.account, finding.address,
                        finding.reasons[0].en if finding.reasons else "")

    def _incident(self, login: Login, findings: list[Finding], weight: float) -> None:
        inc = Incident(incident_id(login.account, login.time), login.time, login.account,
                       "suspicious_login", "high", weight,
                       [r for f in findings for r in f.reasons],
                       {"login": {"address": login.address, "protocol": login.protocol,
                                  "source": login.source, "device": login.device},
                        "findings": [f.signal for f in findings]})
        inc.title_key = "login.incident.title"
        self.batch.incidents.append(inc)
        self.batch.events.append((inc.id, login.time, "opened",
                                  {"findings": [f.signal for f in findings]}))
        log.warning("incident %s: %s", inc.id, i18n.render("login.incident.title", "en",
                                                           account=login.account))

    def take_batch(self) -> Batch:
        """What to write to the store; also, at each flush, forget old failures (bounded)."""
        try:
            self.engine.sweep(self.clock())
        except Exception:  # forgetting later is harmless; losing the batch is not
            log.exception("sweeping old login failures failed")
        batch, self.batch = self.batch, Batch()
        return batch

