"""Who sends as the domain, and which of them fail DMARC alignment: a spoofer, or a legitimate
service to fix.

Each record's messages fall in one class, from DMARC's own verdicts (``policy_evaluated``,
which count a pass only when the authenticated domain is aligned with the From domain) and the
raw results (``auth_results``, whatever domain passed):

- ``pass``: DKIM or SPF passed *and* aligned: DMARC passes;
- ``spf_unaligned``: SPF passed for another domain (a service's bounce domain), DKIM did not;
- ``dkim_unaligned``: a DKIM signature passed for another domain, SPF did not;
- ``both_unaligned``: both passed, neither for the From domain;
- ``no_auth``: nothing passed: a spoofer, or a server of yours missing from SPF and unsigned.

Per source address the verdict follows: all passes; ``forwarded`` when the reporter says every
failing message was forwarded or came through a list; ``mixed`` when the same address also sends
mail that passes; ``service`` when the failing mail authenticates as some other domain; else
``spoofing``. Addresses are described offline (country, AS name) by ``engine.geo``; reverse
names are not looked up (that would be a DNS query per address).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mailwarden.engine.geo import UNKNOWN, IpFacts
from mailwarden.reports.errors import shown
from mailwarden.reports.messages import render
from mailwarden.reports.model import FORWARDING_REASONS, AggregateReport

CLASSES = ("pass", "spf_unaligned", "dkim_unaligned", "both_unaligned", "no_auth")
FAILING = CLASSES[1:]
Lookup = Callable[[str], IpFacts]


def rows_from_reports(reports: Iterable[AggregateReport]) -> list[dict[str, Any]]:
    """The same rows the store returns, from reports in memory (the import's own summary)."""
    return [{"domain": report.policy.domain, "source_ip": r.source_ip, "count": r.count,
             "header_from": r.header_from, "disposition": r.disposition, "dkim": r.dkim,
             "spf": r.spf, "reasons": [list(x) for x in r.reasons],
             "dkim_results": [[a.domain, a.result, a.selector] for a in r.dkim_results],
             "spf_results": [[a.domain, a.result, a.scope] for a in r.spf_results]}
            for report in reports for r in report.records]


def classify(row: dict[str, Any]) -> str:
    """The class of a record's messages (see the module's description)."""
    if row["dkim"] == "pass" or row["spf"] == "pass":
        return "pass"
    spf = any(result == "pass" for _domain, result, *_ in row["spf_results"])
    dkim = any(result == "pass" for _domain, result, *_ in row["dkim_results"])
    if spf and dkim:
        return "both_unaligned"
    return "spf_unaligned" if spf else "dkim_unaligned" if dkim else "no_auth"


def _related(one: str, other: str) -> bool:
    """The same domain, or one under the other (what relaxed alignment would usually accept)."""
    return one == other or one.endswith("." + other) or other.endswith("." + one)


def _forwarded(row: dict[str, Any]) -> bool:
    return any(reason[0] in FORWARDING_REASONS for reason in row["reasons"] if reason)


@dataclass
class Source:
    """One sending address and what happened to its mail."""

    address: str
    counts: Counter[str] = field(default_factory=Counter)
    forwarded: int = 0
    domains: set[str] = field(default_factory=set)
    header_from: set[str] = field(default_factory=set)
    spf_domains: set[str] = field(default_factory=set)
    dkim_domains: set[str] = field(default_factory=set)
    dispositions: Counter[str] = field(default_factory=Counter)

    def add(self, row: dict[str, Any]) -> None:
        kind, count = classify(row), row["count"]
        self.counts[kind] += count
        self.dispositions[row["disposition"]] += count
        self.domains.add(row["domain"])
        self.header_from.add(row["header_from"])
        if kind == "pass":
            return
        self.forwarded += count if _forwarded(row) else 0
        self.spf_domains.update(d or "?" for d, res, *_ in row["spf_results"] if res == "pass")
        self.dkim_domains.update(d or "?" for d, res, *_ in row["dkim_results"] if res == "pass")

    @property
    def failing(self) -> int:
        return sum(self.counts[k] for k in FAILING)

    @property
    def verdict(self) -> str:
        if not self.failing:
            return "pass"
        if self.forwarded >= self.failing:
            return "forwarded"
        if self.counts["pass"]:
            return "mixed"
        authenticated = self.failing - self.counts["no_auth"]
        return "service" if authenticated else "spoofing"

    def hint(self, lang: str) -> str:
        """What to do about this source, from its verdict and the domains that passed."""
        domain = shown(", ".join(sorted(self.domains)))
        parts = []
        if self.verdict in ("service", "mixed"):
            for method, passed in (("spf", self.spf_domains), ("dkim", self.dkim_domains)):
                own = sorted(d for d in passed if any(_related(d, p) for p in self.domains))
                other = sorted(passed.difference(own))
                if other:
                    parts.append(render(f"hint.{method}", lang, domain=domain,
                                        domains=shown(", ".join(other[:5]))))
                if own:
                    parts.append(render("hint.own", lang, method=method.upper(),
                                        domains=shown(", ".join(own[:5]))))
        parts.append(render(f"hint.{self.verdict}", lang, domain=domain))
        return "; ".join(parts) if lang != "ja" else "。".join(parts)

    def to_dict(self, facts: IpFacts) -> dict[str, Any]:
        return {"source_ip": self.address, "country": facts.country, "asn": facts.asn,
                "network": facts.network, "domains": sorted(self.domains),
                "header_from": sorted(self.header_from)[:20],
                "messages": sum(self.counts.values()), "pass": self.counts["pass"],
                **{k: self.counts[k] for k in FAILING}, "failing": self.failing,
                "forwarded": self.forwarded,
                "spf_pass_domains": sorted(self.spf_domains)[:20],
                "dkim_pass_domains": sorted(self.dkim_domains)[:20],
                "dispositions": dict(self.dispositions), "verdict": self.verdict,
                "hint": {"en": self.hint("en"), "ja": self.hint("ja")}}


def _domains(rows: Sequence[dict[str, Any]], reports: dict[str, int]) -> list[dict[str, Any]]:
    totals: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        totals[row["domain"]][classify(row)] += row["count"]
    out = []
    for domain in sorted(set(totals) | set(reports)):
        counts = totals[domain]
        messages = sum(counts.values())
        out.append({"domain": domain, "reports": reports.get(domain, 0), "messages": messages,
                    "pass": counts["pass"], "failing": messages - counts["pass"],
                    **{k: counts[k] for k in FAILING}})
    return out


def _networks(sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for src in sources:
        key = src["asn"] or "?"
        group = groups.setdefault(key, {"asn": key, "sources": 0, "messages": 0, "pass": 0,
                                        "failing": 0, "verdicts": Counter()})
        group["sources"] += 1
        for name in ("messages", "pass", "failing"):
            group[name] += src[name]
        group["verdicts"][src["verdict"]] += 1
    out = sorted(groups.values(), key=lambda g: (-g["failing"], -g["messages"], g["asn"]))
    return [{**g, "verdicts": dict(g["verdicts"])} for g in out]


def aggregate_summary(rows: Sequence[dict[str, Any]], reports: dict[str, int],
                      lookup: Lookup | None = None) -> dict[str, Any]:
    """Totals per domain, every source (failing first) and the same by network (AS)."""
    sources: dict[str, Source] = {}
    for row in rows:
        sources.setdefault(row["source_ip"], Source(row["source_ip"])).add(row)
    described = [s.to_dict(lookup(s.address) if lookup else UNKNOWN) for s in sources.values()]
    described.sort(key=lambda s: (-s["failing"], -s["messages"], s["source_ip"]))
    return {"domains": _domains(rows, reports), "sources": described,
            "networks": _networks(described)}


def tls_summary(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per policy domain and type: reports, sessions that succeeded and failed, failure kinds."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["policy_domain"], row["policy_type"])
        group = groups.setdefault(key, {"policy_domain": key[0], "policy_type": key[1],
                                        "reports": 0, "successful": 0, "failed": 0,
                                        "result_types": Counter(), "reporters": set()})
        group["reports"] += 1
        group["successful"] += row["successful"]
        group["failed"] += row["failed"]
        group["reporters"].add(row["org_name"])
        for detail in row["failures"]:
            group["result_types"][detail["result_type"]] += detail["failed_sessions"]
    return [{**g, "result_types": dict(g["result_types"].most_common()),
             "reporters": sorted(g["reporters"])} for _k, g in sorted(groups.items())]


def failure_summary(rows: Sequence[dict[str, Any]],
                    lookup: Lookup | None = None) -> list[dict[str, Any]]:
    """Failure reports per source address and domain, with the subjects seen (the campaign)."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row.get("source_ip", ""), row.get("domain", ""))
        group = groups.setdefault(key, {"source_ip": key[0], "domain": key[1], "reports": 0,
                                        "subjects": [], "header_from": [], "reporters": set()})
        group["reports"] += 1
        group["reporters"].add(row.get("reporter", ""))
        for name, values in (("subject", group["subjects"]), ("header_from",
                                                             group["header_from"])):
            if row.get(name) and row[name] not in values and len(values) < 5:
                values.append(row[name])
    out = []
    for group in sorted(groups.values(), key=lambda g: (-g["reports"], g["source_ip"])):
        facts = lookup(group["source_ip"]) if lookup and group["source_ip"] else UNKNOWN
        out.append({**group, "reporters": sorted(group["reporters"]),
                    "country": facts.country, "asn": facts.asn})
    return out


def build(aggregate: Sequence[dict[str, Any]], reports: dict[str, int],
          tls: Sequence[dict[str, Any]], failures: Sequence[dict[str, Any]],
          lookup: Lookup | None = None) -> dict[str, Any]:
    """The whole summary: aggregate sources and networks, TLS sessions, failure reports."""
    return {**aggregate_summary(aggregate, reports, lookup), "tls": tls_summary(tls),
            "failures": failure_summary(failures, lookup)}
