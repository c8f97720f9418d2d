"""SPF evaluation: RFC 7208's ``check_host()`` for one client address, over the audit's DNS
client.

Limits (RFC 7208 4.6.4): at most 10 mechanisms and modifiers that query DNS per check (include,
a, mx, ptr, exists, redirect), at most 2 void lookups (NXDOMAIN or no answer), at most 10 MX
hosts per ``mx`` (more is a permerror) and the first 10 PTR names per ``ptr`` or ``%{p}``; the
whole check is bounded in time. A DNS failure (the DNS client's ``unchecked``: timeout,
SERVFAIL, malformed reply) is a temperror, never a "no record".
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import dns.reversename as dns_reversename

from mailwarden.audit.dns import Answer, valid_name
from mailwarden.audit.spf_lookup import (
    ask,
    client_address,
    name_text,
    query_name,
    spf_records,
    split_sender,
    usable_domain,
)
from mailwarden.audit.spf_macro import (
    IPAddress,
    MacroEnv,
    MacroString,
    SpfSyntaxError,
    expand,
    expand_domain,
    parse_macro_string,
)
from mailwarden.audit.spf_parse import Mechanism, SpfRecord, parse_record
from mailwarden.audit.spf_result import RESULTS, Reason, SpfResult

__all__ = ["DEFAULT_EXPLANATION", "MAX_DNS_TERMS", "MAX_NAMES", "MAX_VOID_LOOKUPS", "RESULTS",
           "Reason", "SpfResult", "check_host"]

MAX_DNS_TERMS = 10
MAX_VOID_LOOKUPS = 2
MAX_NAMES = 10  # MX hosts per mx, PTR names per ptr or %{p}
MAX_REASONS = 200
DEFAULT_TIMEOUT = 20.0
T = TypeVar("T")
DEFAULT_EXPLANATION = "the domain's SPF policy does not authorise this host to send its mail"


class _Stop(Exception):
    """Ends the whole check with a permerror or temperror."""

    def __init__(self, result: str, en: str, ja: str) -> None:
        super().__init__(en)
        self.result, self.en, self.ja = result, en, ja


@dataclass(frozen=True)
class _Outcome:
    result: str
    domain: str
    record: SpfRecord | None = None
    mechanism: str = ""


async def check_host(ip: str | IPAddress, domain: str, sender: str, helo: str, dns: Any, *,
                     receiver: str = "unknown", timeout: float = DEFAULT_TIMEOUT,
                     now: int | None = None) -> SpfResult:
    """Evaluate the SPF policy of ``domain`` for a client at ``ip`` (RFC 7208 4).

    ``sender`` is MAIL FROM (empty for bounces), ``helo`` the HELO/EHLO name; ``dns`` is a
    :class:`mailwarden.audit.dns.DnsClient`. Raises ValueError only for an invalid ``ip``."""
    local, sender_domain = split_sender(sender, helo)
    env = MacroEnv(f"{local}@{sender_domain}", local, sender_domain, domain, client_address(ip),
                   helo, receiver=receiver, timestamp=int(time.time()) if now is None else now)
    run = _Run(dns, env)
    try:
        async with asyncio.timeout(timeout):
            outcome = await run.evaluate(domain, top=True)
    except _Stop as stop:
        run.note(stop.en, stop.ja)
        return run.result(_Outcome(stop.result, domain))
    except TimeoutError:
        run.note(f"the check took longer than {timeout:g} s",
                 f"検査が {timeout:g} 秒以内に終わりませんでした")
        return run.result(_Outcome("temperror", domain))
    explanation = ""
    if outcome.result == "fail":
        try:
            async with asyncio.timeout(timeout):
                explanation = await run.explain(outcome)
        except TimeoutError:
            explanation = DEFAULT_EXPLANATION
    return run.result(outcome, explanation)


class _Run:
    """The state of one check_host() call: counters, reasons, the macro values."""

    def __init__(self, dns: Any, env: MacroEnv) -> None:
        self.dns = dns
        self.env = env
        self.ip = env.ip
        self.lookups = 0
        self.void_lookups = 0
        self.reasons: list[Reason] = []
        self._ptr: list[str] | None = None

    # -- bookkeeping ---------------------------------------------------------------------
    def note(self, en: str, ja: str) -> None:
        if len(self.reasons) < MAX_REASONS:
            self.reasons.append(Reason(en, ja))

    def result(self, outcome: _Outcome, explanation: str = "") -> SpfResult:
        return SpfResult(outcome.result, explanation, tuple(self.reasons), self.lookups,
                         self.void_lookups, outcome.domain, outcome.mechanism)

    def count(self, term: str, domain: str) -> None:
        self.lookups += 1
        if self.lookups > MAX_DNS_TERMS:
            raise _Stop("permerror",
                        f"{domain}: {term!r} is DNS lookup {self.lookups}; at most"
                        f" {MAX_DNS_TERMS} are allowed",
                        f"{domain}: {term!r} は {self.lookups} 回目の DNS 参照です。上限は"
                        f" {MAX_DNS_TERMS} 回です")

    def void(self, term: str, name: str) -> None:
        self.void_lookups += 1
        self.note(f"{term!r}: {name} does not exist or has no such record (void lookup)",
                  f"{term!r}: {name} は存在しないか該当レコードがありません（void lookup）")
        if self.void_lookups > MAX_VOID_LOOKUPS:
            raise _Stop("permerror",
                        f"more than {MAX_VOID_LOOKUPS} void lookups (names that do not exist)",
                        "存在しない名前への参照（void lookup）が"
                        f" {MAX_VOID_LOOKUPS} 回を超えました")

    async def ask(self, name: str, rtype: str) -> Answer:
        return await ask(self.dns, name, rtype)

    def _dns_failed(self, answer: Answer, term: str) -> _Stop:
        reason = answer.reason or "no answer"
        return _Stop("temperror",
                     f"{term}: the {answer.rtype} query for {answer.name} failed ({reason})",
                     f"{term}: {answer.name} の {answer.rtype} 問い合わせに失敗しました"
                     f"（{reason}）")

    # -- records -------------------------------------------------------------------------
    async def evaluate(self, domain: str, top: bool = False) -> _Outcome:
        """check_host() for ``domain``: none, or the record's result."""
        domain = domain[:-1] if domain.endswith(".") else domain
        record = await self.record(domain)
        if record is None:
            return _Outcome("none", domain)
        for mechanism in record.mechanisms:
            if await self.matches(mechanism, domain):
                self.note(f"{domain}: {mechanism.text!r} matches: {mechanism.qualifier}",
                          f"{domain}: {mechanism.text!r} に一致しました: {mechanism.qualifier}")
                return _Outcome(mechanism.qualifier, domain, record, mechanism.text)
        if record.redirect is None:
            self.note(f"{domain}: nothing matched: neutral",
                      f"{domain}: どのメカニズムにも一致しないため neutral です")
            return _Outcome("neutral", domain, record)
        self.count(record.redirect.text, domain)
        target = await self.target(record.redirect.value, domain)
        outcome = await self.evaluate(target) if usable_domain(target) else _Outcome("none", "")
        if outcome.result == "none":
            raise _Stop("permerror", f"{domain}: {record.redirect.text!r}: {target or '?'} has no"
                        " SPF record", f"{domain}: {record.redirect.text!r}: {target or '?'} に SPF"
                        " レコードがありません")
        return outcome

    async def record(self, domain: str) -> SpfRecord | None:
        """The one SPF record of ``domain``, None when it has none."""
        if not usable_domain(domain):
            self.note(f"{domain!r} is not a valid multi-label domain name: none",
                      f"{domain!r} は有効な複数ラベルのドメイン名ではないため none です")
            return None
        answer = await self.ask(domain, "TXT")
        if answer.status == "unchecked":
            raise self._dns_failed(answer, domain)
        found = spf_records(answer.texts()) if answer.ok else []
        if not found:
            self.note(f"{domain} has no SPF record ({answer.status})",
                      f"{domain} に SPF レコードがありません（{answer.status}）")
            return None
        if len(found) > 1:
            raise _Stop("permerror", f"{domain} has {len(found)} SPF records; exactly one is"
                        " allowed", f"{domain} に SPF レコードが {len(found)} 件あります。1件だけに"
                        "してください")
        try:
            record = parse_record(found[0])
        except SpfSyntaxError as exc:
            raise _Stop("permerror", f"{domain}: {exc.en}", f"{domain}: {exc.ja}") from None
        self.note(f"{domain}: {record.text}", f"{domain}: {record.text}")
        return record

    async def target(self, spec: MacroString, domain: str) -> str:
        """A domain-spec expanded for ``domain`` (``%{p}`` resolved only when used)."""
        env = replace(self.env, domain=domain)
        if "p" in spec.letters:
            env = replace(env, validated=await self.validated_name(domain))
        return expand_domain(spec, env)

    # -- mechanisms ----------------------------------------------------------------------
    async def matches(self, mechanism: Mechanism, domain: str) -> bool:
        kind = mechanism.kind
        if kind == "all":
            return True
        if kind in ("ip4", "ip6"):
            network = mechanism.network
            return network is not None and network.version == self.ip.version \
                and self.ip in network
        self.count(mechanism.text, domain)
        target = domain
        if mechanism.domain is not None:
            target = await self.target(mechanism.domain, domain)
        if kind == "include":
            return await self._include(mechanism, target)
        if not valid_name(query_name(target)) or not target:
            self.note(f"{mechanism.text!r}: {target!r} is not a valid domain name: no match",
                      f"{mechanism.text!r}: {target!r} は有効なドメイン名ではないため一致しません")
            return False
        matcher = {"a": self._a, "mx": self._mx, "ptr": self._ptr_match, "exists": self._exists}
        return await matcher[kind](mechanism, target)

    async def _include(self, mechanism: Mechanism, target: str) -> bool:
        outcome = await self.evaluate(target) if usable_domain(target) else _Outcome("none", "")
        if outcome.result == "none":
            raise _Stop("permerror", f"{mechanism.text!r}: {target or '?'} has no SPF record",
                        f"{mechanism.text!r}: {target or '?'} に SPF レコードがありません")
        return outcome.result == "pass"

    async def addresses(self, name: str, term: str, void: bool) -> list[IPAddress]:
        """The addresses of ``name`` in the client's family (A or AAAA)."""
        answer = await self.ask(name, "A" if self.ip.version == 4 else "AAAA")
        if answer.status == "unchecked":
            raise self._dns_failed(answer, term)
        if answer.status in ("nxdomain", "nodata") and void:
            self.void(term, name)
        return [ipaddress.ip_address(rr.address) for rr in answer.rrs if hasattr(rr, "address")]

    def _in_cidr(self, addresses: list[IPAddress], mechanism: Mechanism) -> bool:
        length = mechanism.cidr4 if self.ip.version == 4 else mechanism.cidr6
        return any(self.ip in ipaddress.ip_network(f"{address}/{length}", strict=False)
                   for address in addresses if address.version == self.ip.version)

    async def _a(self, mechanism: Mechanism, target: str) -> bool:
        return self._in_cidr(await self.addresses(target, mechanism.text, True), mechanism)

    async def _mx(self, mechanism: Mechanism, target: str) -> bool:
        answer = await self.ask(target, "MX")
        if answer.status == "unchecked":
            raise self._dns_failed(answer, mechanism.text)
        if answer.status in ("nxdomain", "nodata"):
            self.void(mechanism.text, target)
        hosts = [h for h in (name_text(rr.exchange) for rr in answer.rrs) if h]
        if len(hosts) > MAX_NAMES:
            raise _Stop("permerror",
                        f"{mechanism.text!r}: {target} has {len(hosts)} MX hosts; at most"
                        f" {MAX_NAMES} may be looked up",
                        f"{mechanism.text!r}: {target} の MX ホストは {len(hosts)} 件です。"
                        f"参照できるのは {MAX_NAMES} 件までです")
        found = await _gather([self.addresses(host, mechanism.text, False) for host in hosts])
        return self._in_cidr([address for group in found for address in group], mechanism)

    async def _exists(self, mechanism: Mechanism, target: str) -> bool:
        answer = await self.ask(target, "A")
        if answer.status == "unchecked":
            raise self._dns_failed(answer, mechanism.text)
        if answer.status in ("nxdomain", "nodata"):
            self.void(mechanism.text, target)
        return answer.ok

    async def _ptr_match(self, mechanism: Mechanism, target: str) -> bool:
        wanted = target.lower()
        names = [n for n in await self.ptr_names(mechanism.text)
                 if n == wanted or n.endswith("." + wanted)]
        for name in names:
            if await self.validates(name):
                return True
        return False

    async def ptr_names(self, term: str | None) -> list[str]:
        """The first 10 PTR names of the client address (none on a DNS error)."""
        reverse = dns_reversename.from_address(str(self.ip)).to_text(omit_final_dot=True)
        answer = await self.ask(reverse, "PTR")
        if answer.status in ("nxdomain", "nodata") and term is not None:
            self.void(term, reverse)
        return [name_text(rr.target) for rr in answer.rrs][:MAX_NAMES]

    async def validates(self, name: str) -> bool:
        """The name's addresses include the client (DNS errors: skip the name)."""
        answer = await self.ask(name, "A" if self.ip.version == 4 else "AAAA")
        return any(hasattr(rr, "address") and ipaddress.ip_address(rr.address) == self.ip
                   for rr in answer.rrs)

    async def validated_name(self, domain: str) -> str:
        """``%{p}``: a validated PTR name, preferring ``domain`` and then its subdomains."""
        if self._ptr is None:
            names = await self.ptr_names(None)
            checks = await _gather([self.validates(name) for name in names])
            self._ptr = [name for name, ok in zip(names, checks, strict=True) if ok]
        wanted = domain.lower()
        for name in self._ptr:
            if name == wanted:
                return name
        return next((n for n in self._ptr if n.endswith("." + wanted)),
                    self._ptr[0] if self._ptr else "unknown")

    # -- explanation ---------------------------------------------------------------------
    async def explain(self, outcome: _Outcome) -> str:
        """The exp= text of the record that failed, or the default (RFC 7208 6.2)."""
        record = outcome.record
        if record is None or record.exp is None:
            return DEFAULT_EXPLANATION
        try:
            name = await self.target(record.exp.value, outcome.domain)
            answer = await self.ask(name, "TXT") if valid_name(query_name(name)) else None
            texts = answer.texts() if answer is not None and answer.ok else []
            if len(texts) != 1:
                return DEFAULT_EXPLANATION
            parsed = parse_macro_string(texts[0].decode("ascii"), explanation=True)
            env = replace(self.env, domain=outcome.domain)
            if "p" in parsed.letters:
                env = replace(env, validated=await self.validated_name(outcome.domain))
            return expand(parsed, env)
        except (SpfSyntaxError, UnicodeDecodeError, _Stop):
            return DEFAULT_EXPLANATION


async def _gather(jobs: list[Awaitable[T]]) -> list[T]:
    """Run jobs together; the first error is raised after all have finished."""
    results = await asyncio.gather(*jobs, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return [r for r in results if not isinstance(r, BaseException)]
