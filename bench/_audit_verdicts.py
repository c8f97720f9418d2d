"""The verdicts both tools report, read from ``mailwarden audit --json`` and checkdmarc's JSON
into one vocabulary, the disagreements between them, and why each kind of disagreement exists.

Compared (each only where both tools reached it):

| field | values |
|---|---|
| ``spf.record`` | one, none, multiple, unchecked |
| ``spf.result`` | valid, permerror, unchecked (when both found one record) |
| ``spf.lookups``, ``spf.void`` | counts (when both call the record valid) |
| ``spf.all`` | how the policy ends: fail, softfail, neutral, pass |
| ``dmarc.record`` | own, inherited, none, multiple, unchecked |
| ``dmarc.valid`` | valid, invalid (when both found a record) |
| ``dmarc.policy`` | the policy that applies to the domain (``sp`` for an inherited record) |
| ``dmarc.external_rua`` | authorized, unauthorized (report addresses at another domain) |
| ``mx.kind`` | hosts, null, none, nxdomain, unchecked |
| ``mx.hosts`` | the MX host names |
| ``mx.no_address``, ``mx.cname`` | MX hosts without an address, MX hosts that are aliases |
| ``mx.reverse_dns`` | ok, missing, mismatch (forward-confirmed reverse DNS of the addresses) |
| ``mta_sts.record`` | present, none, unchecked (the ``_mta-sts`` TXT record) |
| ``mta_sts.policy`` | fetched, not fetched |
| ``tls_rpt.record`` | valid, invalid, none, unchecked |
| ``bimi.record`` | present, none, unchecked |
| ``dnssec`` | validated, not validated, unchecked |
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

Verdicts = dict[str, Any]

SPF_PERMERROR = {"spf.syntax", "spf.too_many_lookups", "spf.too_many_void_lookups",
                 "spf.target_missing", "spf.target_multiple", "spf.target_syntax", "spf.loop",
                 "spf.mx_too_many"}
SPF_UNCHECKED = {"spf.lookups_unchecked", "spf.target_unchecked"}
_DNS_TROUBLE = ("timed out", "SERVFAIL", "failed to answer", "lifetime expired", "REFUSED")


def _checks(area: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["check"]: f for f in area.get("findings", [])}


def mailwarden(report: dict[str, Any]) -> Verdicts:
    """The compared verdicts of one domain of ``mailwarden audit --json``."""
    areas = report.get("areas", {})
    out: Verdicts = {}
    if "spf" in areas:
        out.update(_mw_spf(areas["spf"]))
    if "dmarc" in areas:
        out.update(_mw_dmarc(areas["dmarc"], report["domain"]))
    if "mx" in areas:
        out.update(_mw_mx(areas["mx"]))
    if "mta_sts" in areas:
        checks = _checks(areas["mta_sts"])
        out["mta_sts.record"] = ("present" if "mta_sts.found" in checks else
                                 "unchecked" if "mta_sts.unchecked" in checks else "none")
        if out["mta_sts.record"] == "present":
            out["mta_sts.policy"] = "fetched" if "mta_sts.policy_found" in checks \
                else "not fetched"
    if "tls_rpt" in areas:
        checks = _checks(areas["tls_rpt"])
        bad = any(f["status"] == "fail" for f in checks.values())
        out["tls_rpt.record"] = ("unchecked" if "tls_rpt.unchecked" in checks else
                                 "none" if "tls_rpt.missing" in checks else
                                 "invalid" if bad else "valid")
    if "bimi" in areas:
        checks = _checks(areas["bimi"])
        out["bimi.record"] = ("unchecked" if "bimi.unchecked" in checks else
                              "present" if "bimi.found" in checks else "none")
    if "dnssec" in areas:
        checks = _checks(areas["dnssec"])
        out["dnssec"] = ("validated" if "dnssec.validated" in checks else
                         "unchecked" if "dnssec.unchecked" in checks else "not validated")
    return out


def _mw_spf(area: dict[str, Any]) -> Verdicts:
    checks, facts = _checks(area), area.get("facts", {})
    out: Verdicts = {}
    if "spf.unchecked" in checks:
        out["spf.record"] = "unchecked"
    elif "spf.missing" in checks:
        out["spf.record"] = "none"
    elif "spf.multiple" in checks:
        out["spf.record"] = "multiple"
    else:
        out["spf.record"] = "one"
        out["spf.result"] = ("permerror" if SPF_PERMERROR & set(checks) else
                             "unchecked" if SPF_UNCHECKED & set(checks) else "valid")
        if out["spf.result"] == "valid":
            out["spf.lookups"] = facts.get("lookups")
            out["spf.void"] = len(set(facts.get("void_lookups") or []))
            out["spf.all"] = facts.get("final_all") or "neutral"
    return out


def _mw_dmarc(area: dict[str, Any], domain: str) -> Verdicts:
    checks, facts = _checks(area), area.get("facts", {})
    out: Verdicts = {}
    if "dmarc.multiple" in checks or "dmarc.parent_multiple" in checks:
        out["dmarc.record"] = "multiple"
    elif facts.get("policy_domain"):
        out["dmarc.record"] = "own" if facts["policy_domain"] == domain else "inherited"
    elif "dmarc.missing" in checks:
        out["dmarc.record"] = "none"
    else:
        out["dmarc.record"] = "unchecked"
    if out["dmarc.record"] in ("own", "inherited"):
        failed = any(f["status"] == "fail" for f in checks.values())
        out["dmarc.valid"] = "invalid" if failed else "valid"
        policy = next((c.split("_", 1)[1] for c in checks if c.startswith("dmarc.policy_")), "")
        if not failed and policy:
            out["dmarc.policy"] = policy
        for state in ("authorized", "unauthorized"):
            if f"dmarc.external_{state}" in checks:
                out["dmarc.external_rua"] = state
    return out


def _mw_mx(area: dict[str, Any]) -> Verdicts:
    checks, facts = _checks(area), area.get("facts", {})
    out: Verdicts = {}
    if "mx.nxdomain" in checks:
        out["mx.kind"] = "nxdomain"
    elif "mx.unchecked" in checks:
        out["mx.kind"] = "unchecked"
    elif "mx.null" in checks or "mx.null_preference" in checks:
        out["mx.kind"] = "null"
    elif "mx.found" in checks:
        out["mx.kind"] = "hosts"
    else:
        out["mx.kind"] = "none"
    if out["mx.kind"] != "hosts":
        return out
    out["mx.hosts"] = sorted(m.split(" ", 1)[1] for m in facts.get("mx", []))
    findings = area.get("findings", [])
    out["mx.no_address"] = sorted(f["evidence"]["host"] for f in findings
                                  if f["check"] == "mx.no_address")
    out["mx.cname"] = sorted(f["evidence"]["host"] for f in findings if f["check"] == "mx.cname")
    out["mx.reverse_dns"] = ("mismatch" if "mx.ptr_mismatch" in checks else
                             "missing" if "mx.ptr_missing" in checks else
                             "unchecked" if "mx.ptr_unchecked" in checks else
                             "ok" if "mx.fcrdns" in checks else "no address")
    return out


# -- checkdmarc --------------------------------------------------------------------------------

def _trouble(error: str) -> bool:
    return any(t in error for t in _DNS_TROUBLE)


def checkdmarc(result: dict[str, Any]) -> Verdicts:
    """The compared verdicts of one domain of checkdmarc's JSON."""
    out: Verdicts = {}
    out.update(_cd_spf(result.get("spf") or {}))
    out.update(_cd_dmarc(result.get("dmarc") or {}, result["domain"]))
    out.update(_cd_mx(result.get("mx") or {}))
    sts = result.get("mta_sts") or {}
    error = sts.get("error", "")
    out["mta_sts.record"] = ("none" if "record does not exist" in error or
                             "domain does not exist" in error else
                             "unchecked" if _trouble(error) else "present")
    if out["mta_sts.record"] == "present":
        out["mta_sts.policy"] = "fetched" if sts.get("valid") else "not fetched"
    tls = result.get("smtp_tls_reporting") or {}
    error = tls.get("error", "")
    out["tls_rpt.record"] = ("valid" if tls.get("valid") else
                             "none" if "does not exist" in error else
                             "unchecked" if _trouble(error) else "invalid")
    bimi = result.get("bimi") or {}
    error = bimi.get("error", "")
    out["bimi.record"] = ("present" if bimi.get("record") else
                          "unchecked" if _trouble(error) else "none")
    out["dnssec"] = "validated" if result.get("dnssec") else "not validated"
    return out


def _cd_spf(spf: dict[str, Any]) -> Verdicts:
    error = spf.get("error", "")
    out: Verdicts = {}
    if spf.get("record"):
        out["spf.record"] = "one"
    elif "multiple SPF" in error:
        out["spf.record"] = "multiple"
    elif _trouble(error):
        out["spf.record"] = "unchecked"
    else:
        out["spf.record"] = "none"
    if out["spf.record"] != "one":
        return out
    out["spf.result"] = ("valid" if spf.get("valid") else
                         "unchecked" if _trouble(error) else "permerror")
    if out["spf.result"] == "valid":
        out["spf.lookups"] = spf.get("dns_lookups")
        out["spf.void"] = spf.get("void_dns_lookups")
        out["spf.all"] = (spf.get("parsed") or {}).get("all") or "neutral"
    return out


def _cd_dmarc(dmarc: dict[str, Any], domain: str) -> Verdicts:
    error = dmarc.get("error", "")
    out: Verdicts = {}
    if dmarc.get("record") and dmarc.get("location"):
        out["dmarc.record"] = "own" if dmarc["location"] == domain else "inherited"
    elif "Multiple DMARC" in error:
        out["dmarc.record"] = "multiple"
    elif _trouble(error):
        out["dmarc.record"] = "unchecked"
    else:
        out["dmarc.record"] = "none"
    if out["dmarc.record"] not in ("own", "inherited"):
        return out
    out["dmarc.valid"] = "valid" if dmarc.get("valid") else "invalid"
    tags = dmarc.get("tags") or {}
    tag = "p" if out["dmarc.record"] == "own" else "sp"
    if dmarc.get("valid") and tag in tags:
        out["dmarc.policy"] = tags[tag]["value"]
    rua = (tags.get("rua") or {}).get("value") or []
    location = dmarc["location"]
    external = [u["address"] for u in rua if isinstance(u, dict) and
                not u.get("address", "").lower().endswith("@" + location)]
    if external:
        refused = any("does not indicate that it accepts DMARC reports" in w
                      for w in dmarc.get("warnings", []))
        out["dmarc.external_rua"] = "unauthorized" if refused else "authorized"
    return out


_NO_ADDRESS = re.compile(r"^The domain (\S+) does not exist\.$|^(\S+) does not have any A or "
                         r"AAAA DNS records")
_CNAME = re.compile(r"points at (\S+), which is a CNAME alias")


def _cd_mx(mx: dict[str, Any]) -> Verdicts:
    error = mx.get("error", "")
    warnings = mx.get("warnings", [])
    out: Verdicts = {}
    hosts = [h["hostname"] for h in mx.get("hosts", [])]
    if "does not exist" in error:
        out["mx.kind"] = "nxdomain"
    elif error:
        out["mx.kind"] = "unchecked"
    elif any("null MX" in w for w in warnings):
        out["mx.kind"] = "null"
    elif hosts:
        out["mx.kind"] = "hosts"
    else:
        out["mx.kind"] = "none"
    if out["mx.kind"] != "hosts":
        return out
    out["mx.hosts"] = sorted(set(hosts))
    missing = set()
    for text in warnings:
        match = _NO_ADDRESS.search(text)
        if match and (match.group(1) or match.group(2)) in hosts:
            missing.add(match.group(1) or match.group(2))
    out["mx.no_address"] = sorted(missing)
    out["mx.cname"] = sorted({m.group(1) for w in warnings if (m := _CNAME.search(w))})
    out["mx.reverse_dns"] = ("mismatch" if any("do not resolve to" in w for w in warnings) else
                             "missing" if any("does not have any reverse DNS" in w
                                              for w in warnings) else
                             "no address" if len(missing) == len(set(hosts)) else "ok")
    return out


# -- comparing ---------------------------------------------------------------------------------

@dataclass
class Disagreement:
    """One kind of disagreement: a field, each tool's value, the domains and their scenarios."""

    field: str
    mailwarden: str
    checkdmarc: str
    domains: list[str] = field(default_factory=list)
    scenarios: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(value) if value else "—"
    return str(value)


def compare(mw: dict[str, Verdicts], cd: dict[str, Verdicts],
            scenario: dict[str, str]) -> tuple[int, int, list[Disagreement]]:
    """Verdicts compared, verdicts agreed on, and the disagreements grouped by kind."""
    compared = agreed = 0
    groups: dict[tuple[str, str, str], Disagreement] = {}
    for domain in sorted(set(mw) & set(cd)):
        ours, theirs = mw[domain], cd[domain]
        for name in sorted(set(ours) & set(theirs)):
            compared += 1
            if ours[name] == theirs[name]:
                agreed += 1
                continue
            values = (name, _kind(name, ours[name]), _kind(name, theirs[name]))
            group = groups.setdefault(values, Disagreement(*values))
            group.domains.append(domain)
            group.scenarios[scenario.get(domain, "?")] += 1
    return compared, agreed, sorted(groups.values(), key=lambda g: (g.field, -len(g.domains)))


def _kind(name: str, value: Any) -> str:
    """Counts and host lists are grouped by what they are, not each value."""
    if name in ("mx.no_address", "mx.cname", "mx.hosts"):
        return "some" if value else "none"
    return _text(value)
