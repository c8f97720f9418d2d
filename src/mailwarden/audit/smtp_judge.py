"""What the observations of the SMTP probe mean: findings with a status, and a summary of each
server for the report's facts.

Status choices: no STARTTLS, a STARTTLS that does not work, AUTH with passwords before TLS, an
expired certificate and an open relay fail. A certificate that is untrusted, self-signed or
for another name is a warning, reported each on its own: senders that verify (MTA-STS) refuse
it, opportunistic senders still encrypt. A timeout or a connection that fails is
``unchecked``, never a missing feature.
"""

from __future__ import annotations

import errno as errnos
from datetime import datetime
from typing import Any

from mailwarden.audit.der import DerError
from mailwarden.audit.model import AreaResult
from mailwarden.audit.smtp_messages import note
from mailwarden.audit.smtp_probe import Observation
from mailwarden.audit.smtp_reply import auth_mechanisms, cleartext
from mailwarden.audit.smtp_tls import LEGACY, SELF_SIGNED, VERSIONS, label
from mailwarden.audit.x509 import Certificate, matches, parse_certificate

EXPIRY_WARNING_DAYS = 14
NO_LOCAL_ROUTE = {errnos.ENETUNREACH, errnos.EHOSTUNREACH, errnos.EADDRNOTAVAIL,
                  errnos.EAFNOSUPPORT}
ERROR_IDS = {"timeout": "smtp.timeout", "closed": "smtp.closed", "protocol": "smtp.bad_reply",
             "connect": "smtp.connect_failed"}


def judge(result: AreaResult, seen: Observation, now: datetime,
          reached_otherwise: bool = False) -> None:
    """Add the findings of one probed address. ``reached_otherwise``: another address of the
    same host answered (an IPv6 address this machine has no route to is then information)."""
    where = {"host": seen.host, "address": seen.address, "port": seen.port}
    if _unreachable(result, seen, where, reached_otherwise):
        return
    if _greeting(result, seen, where):
        _starttls(result, seen, where, now)
        _auth(result, seen, where)
    _relay(result, seen, where)
    if seen.over_budget:
        note(result, "smtp.probe_budget", "unchecked", seconds=seen.budget, **where)


def _unreachable(result: AreaResult, seen: Observation, where: dict[str, Any],
                 reached_otherwise: bool) -> bool:
    """Findings for a server that never greeted; True when there is nothing more to say."""
    error = seen.error
    if seen.banner is not None:
        return False
    if error is None:  # the budget ran out first
        note(result, "smtp.probe_budget", "unchecked", seconds=seen.budget, **where)
    elif error.step == "connect":
        if (":" in seen.address and error.errno in NO_LOCAL_ROUTE and reached_otherwise):
            note(result, "smtp.ipv6_unreachable", "info", reason=error.reason, **where)
        else:
            note(result, "smtp.connect_failed", "unchecked", reason=error.reason, **where)
    elif error.kind == "timeout":
        note(result, "smtp.no_banner", "unchecked", reason=error.reason, **where)
    else:
        note(result, ERROR_IDS.get(error.kind, "smtp.closed"), "unchecked", step=error.step,
             reason=error.reason, **where)
    return True


def _greeting(result: AreaResult, seen: Observation, where: dict[str, Any]) -> bool:
    """Banner and EHLO; True when the server speaks ESMTP (STARTTLS and AUTH can be judged)."""
    assert seen.banner is not None
    if seen.banner.code != 220:
        note(result, "smtp.refused", "unchecked", reply=str(seen.banner), **where)
        return False
    note(result, "smtp.banner", "info", reply=str(seen.banner), **where)
    error = seen.error
    if error is not None and not (error.step == "tls" and error.kind == "tls"):
        note(result, ERROR_IDS.get(error.kind, "smtp.closed"), "unchecked", step=error.step,
             reason=error.reason, **where)
    if seen.greeting is None:
        return False
    if not seen.esmtp:
        check = "smtp.no_esmtp" if seen.greeting.ok else "smtp.helo_refused"
        note(result, check, "fail" if seen.greeting.ok else "unchecked",
             reply=str(seen.greeting), **where)
        return False
    return True


def _starttls(result: AreaResult, seen: Observation, where: dict[str, Any],
              now: datetime) -> None:
    if "STARTTLS" not in seen.plain:
        note(result, "smtp.starttls_missing", "fail", **where)
        return
    if seen.starttls is None:
        return  # the session stopped at STARTTLS: reported as such
    if seen.starttls.code != 220:
        note(result, "smtp.starttls_refused", "fail", reply=str(seen.starttls), **where)
        return
    if seen.tls is None:
        if seen.error is not None and seen.error.step == "tls" and seen.error.kind == "tls":
            note(result, "smtp.tls_failed", "fail", reason=seen.error.reason, **where)
        return
    note(result, "smtp.starttls", "pass", version=label(seen.tls.version),
         cipher=seen.tls.cipher, **where)
    _certificate(result, seen, where, now)
    _versions(result, seen, where)


def _certificate(result: AreaResult, seen: Observation, where: dict[str, Any],
                 now: datetime) -> None:
    assert seen.tls is not None
    host = {"host": seen.host, "address": seen.address}
    try:
        cert = parse_certificate(seen.tls.certificate)
    except DerError as exc:
        reason = str(exc) if seen.tls.certificate else "the server sent no certificate"
        note(result, "smtp.cert_unreadable", "unchecked", reason=reason, **host)
        return
    _chain(result, seen, cert, host)
    if matches(cert, seen.host):
        note(result, "smtp.cert_name", "pass", names=list(cert.dns_names[:20]), **host)
    else:
        note(result, "smtp.cert_name_mismatch", "warn", subject=cert.subject,
             names=list(cert.dns_names[:20]) or [f"CN={cert.subject}"], **host)
    _dates(result, cert, host, now)


def _chain(result: AreaResult, seen: Observation, cert: Certificate,
           host: dict[str, Any]) -> None:
    chain = seen.chain
    if chain is None:
        return  # the budget ran out: reported once for the address
    if chain.status == "ok":
        note(result, "smtp.cert_trusted", "pass", issuer=cert.issuer, **host)
    elif chain.status == "verify" and (cert.self_issued or chain.verify_code in SELF_SIGNED):
        note(result, "smtp.cert_self_signed", "warn", subject=cert.subject,
             reason=chain.reason, **host)
    elif chain.status == "verify":
        note(result, "smtp.cert_untrusted", "warn", reason=chain.reason, issuer=cert.issuer,
             code=chain.verify_code, **host)
    else:
        reason = chain.reason
        if chain.status == "refused":
            reason = f"a client at this system's security level could not connect: {reason}"
        note(result, "smtp.cert_chain_unchecked", "unchecked", reason=reason, **host)


def _dates(result: AreaResult, cert: Certificate, host: dict[str, Any],
           now: datetime) -> None:
    dates = {"not_before": cert.not_before.isoformat(), "not_after": cert.not_after.isoformat()}
    if now > cert.not_after:
        note(result, "smtp.cert_expired", "fail", days=(now - cert.not_after).days, **dates,
             **host)
    elif now < cert.not_before:
        note(result, "smtp.cert_not_yet_valid", "fail", **dates, **host)
    elif (days := (cert.not_after - now).days) < EXPIRY_WARNING_DAYS:
        note(result, "smtp.cert_expiring", "warn", days=days, **dates, **host)
    else:
        note(result, "smtp.cert_dates", "pass", days=days, **dates, **host)


def _versions(result: AreaResult, seen: Observation, where: dict[str, Any]) -> None:
    outcomes = seen.versions
    if not outcomes:
        return
    for version in VERSIONS:
        outcome = outcomes.get(version)
        if outcome is None or outcome.status not in ("untestable", "unchecked"):
            continue
        check = f"smtp.tls_version_{outcome.status}"
        note(result, check, "info" if outcome.status == "untestable" else "unchecked",
             version=label(version), reason=outcome.reason, **where)
    accepted = [v for v in VERSIONS if v in outcomes and outcomes[v].status == "ok"]
    refused = [v for v in VERSIONS if v in outcomes and outcomes[v].status == "refused"]
    note(result, "smtp.tls_versions", "info", accepted=[label(v) for v in accepted] or "-",
         refused=[label(v) for v in refused] or "-", **where)
    legacy = [label(v) for v in accepted if v in LEGACY]
    if legacy:
        note(result, "smtp.tls_legacy", "warn", versions=legacy, **where)
    if "TLSv1.2" in refused and "TLSv1.3" in refused:
        note(result, "smtp.tls_modern_missing", "fail", **where)
    elif "TLSv1.3" in refused:
        note(result, "smtp.tls13_missing", "info", **where)


def _auth(result: AreaResult, seen: Observation, where: dict[str, Any]) -> None:
    before = auth_mechanisms(seen.plain)
    inside = auth_mechanisms(seen.secured or {})
    if before:
        status = "fail" if cleartext(before) else "warn"
        check = "smtp.auth_before_tls" if "STARTTLS" in seen.plain else "smtp.auth_without_tls"
        note(result, check, status, mechanisms=list(before), **where)
    elif inside:
        note(result, "smtp.auth_tls_only", "pass", mechanisms=list(inside), **where)


def _relay(result: AreaResult, seen: Observation, where: dict[str, Any]) -> None:
    relay = seen.relay
    if relay is None:
        return
    parties = {"sender": relay.sender, "recipient": relay.recipient}
    if relay.status == "open":
        note(result, "smtp.relay_open", "fail", reply=relay.rcpt, **parties, **where)
    elif relay.status == "refused":
        note(result, "smtp.relay_refused", "pass", reply=relay.rcpt, **parties, **where)
    else:
        note(result, "smtp.relay_unchecked", "unchecked",
             reason="; ".join(x for x in (relay.reason, relay.mail, relay.rcpt) if x),
             **parties, **where)


def summary(seen: Observation) -> dict[str, Any]:
    """One server as the report's facts show it."""
    facts: dict[str, Any] = {"host": seen.host, "address": seen.address, "port": seen.port,
                             "banner": str(seen.banner) if seen.banner else None,
                             "extensions": sorted(seen.plain),
                             "auth_before_tls": list(auth_mechanisms(seen.plain)),
                             "auth_in_tls": list(auth_mechanisms(seen.secured or {}))}
    if seen.error is not None:
        facts["stopped"] = {"step": seen.error.step, "kind": seen.error.kind,
                            "reason": seen.error.reason}
    if seen.tls is not None:
        facts["tls"] = {"version": label(seen.tls.version), "cipher": seen.tls.cipher}
        try:
            cert = parse_certificate(seen.tls.certificate)
            facts["certificate"] = {"subject": cert.subject, "issuer": cert.issuer,
                                    "names": list(cert.dns_names[:20]),
                                    "not_after": cert.not_after.isoformat()}
        except DerError:
            pass
    facts["versions"] = {label(v): seen.versions[v].status for v in VERSIONS
                         if v in seen.versions}
    if seen.chain is not None:
        facts["chain"] = seen.chain.status
    if seen.relay is not None:
        facts["relay"] = seen.relay.status
    return facts
