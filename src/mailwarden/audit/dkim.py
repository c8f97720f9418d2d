"""The DKIM area: the selectors the administrator gave plus a list of common ones, each key
record checked (syntax, version, key type and size, revoked, testing, hash and service
restrictions).

Selectors cannot be listed from the DNS, so a selector that is not there is not a failure by
itself: the audit says which selectors it tried. A selector given with ``--dkim-selector`` that
has no key is a warning. ``audit_dkim(domain, ctx)`` is the area check the runner calls.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from mailwarden.audit.dkim_record import DkimKey, key_info, parse_dkim_key
from mailwarden.audit.dmarc_record import decode_txt
from mailwarden.audit.messages import note
from mailwarden.audit.model import AreaResult, AuditContext

if TYPE_CHECKING:
    from mailwarden.audit.dns import Answer

# Common selectors: Google Workspace, Microsoft 365 (selector1/2), cPanel/Plesk (default),
# Mailchimp/Mandrill (k1-k3, mandrill), Fastmail (fm1-3), Proton (protonmail*), SendGrid and
# others (s1/s2), HubSpot (hs1/hs2), Zendesk, Mailjet, Everlytic, MxVault, generic names.
COMMON_SELECTORS = (
    "default", "google", "selector1", "selector2", "k1", "k2", "k3", "mail", "dkim", "dkim1",
    "s1", "s2", "smtp", "mx", "key1", "key2", "sig1", "mandrill", "fm1", "fm2", "fm3",
    "protonmail", "protonmail2", "protonmail3", "hs1", "hs2", "zendesk1", "zendesk2",
    "mailjet", "everlytickey1", "everlytickey2", "mxvault",
)
MAX_SELECTORS = 64
# asked first, with _domainkey.DOMAIN itself: the providers most domains use
FIRST_SELECTORS = frozenset({"default", "google", "selector1", "selector2", "k1", "s1"})
# key-record problem code -> (finding id, status)
PROBLEMS = {
    "tag_syntax": ("dkim.tag_syntax", "fail"), "duplicate_tag": ("dkim.duplicate_tag", "fail"),
    "version": ("dkim.version", "fail"), "no_key": ("dkim.key_invalid", "fail"),
    "key_type_unknown": ("dkim.key_type_unknown", "fail"),
    "sha1_only": ("dkim.sha1_only", "warn"), "service": ("dkim.service", "fail"),
    "unknown_tag": ("dkim.unknown_tag", "info"),
}


def selectors_for(given: tuple[str, ...]) -> list[str]:
    """The given selectors first, then the common ones, without repeats."""
    names = [s.strip().lower().rstrip(".") for s in given if s.strip()]
    return list(dict.fromkeys([*names, *COMMON_SELECTORS]))[:MAX_SELECTORS]


def looks_like_key(text: str) -> bool:
    """A TXT string that is meant as a DKIM key (not, say, a wildcard SPF record)."""
    key = parse_dkim_key(text)
    return "p" in key.tags or key.version == "DKIM1" or text.lstrip().startswith("v=DKIM")


async def audit_dkim(domain: str, ctx: AuditContext) -> AreaResult:
    """Audit the DKIM keys of ``domain`` under the given and the common selectors."""
    result = AreaResult("dkim")
    given = {s.strip().lower().rstrip(".") for s in ctx.options.dkim_selectors if s.strip()}
    selectors = selectors_for(ctx.options.dkim_selectors)
    answers = await _ask(ctx.dns, domain, selectors, given)
    names = [f"{s}._domainkey.{domain}" for s in selectors]
    found: dict[str, list[str]] = {}
    unchecked: list[str] = []
    for selector, name in zip(selectors, names, strict=True):
        answer = answers.get(selector)
        if answer is None:  # not asked: nothing exists under _domainkey (see _ask)
            continue
        texts = [decode_txt(t)[0] for t in answer.texts()]
        keys = [t for t in texts if looks_like_key(t)]
        if answer.status in ("unchecked", "invalid") and selector in given:
            note(result, "dkim.unchecked", "unchecked", selector=selector, name=name,
                 reason=answer.reason)
        elif answer.status == "unchecked":
            unchecked.append(selector)
        if keys:
            found[selector] = _audit_selector(result, selector, name, keys)
        elif selector in given and answer.status not in ("unchecked", "invalid"):
            note(result, "dkim.given_missing", "warn", selector=selector, name=name,
                 dns_status=answer.status)
    asked = [s for s in selectors if s in answers]
    await _summary(result, ctx.dns, domain, asked, found, unchecked)
    return result


async def _ask(dns: Any, domain: str, selectors: list[str],
               given: set[str]) -> dict[str, Answer]:
    """The TXT answers under the selectors. ``_domainkey.DOMAIN`` is asked with the given and
    the most common selectors; when it does not exist (NXDOMAIN: nothing below it exists,
    RFC 8020) and none of those has a record, the other common selectors are not asked. A
    server that wrongly answers NXDOMAIN for a name with names below it is caught when one of
    the first selectors answers: then every selector is asked."""
    first = [s for s in selectors if s in given or s in FIRST_SELECTORS]
    parent, *answers = await asyncio.gather(
        dns.query(f"_domainkey.{domain}", "TXT"),
        *(dns.query(f"{s}._domainkey.{domain}", "TXT") for s in first))
    found = dict(zip(first, answers, strict=True))
    if parent.status == "nxdomain" and all(a.status == "nxdomain" for a in answers):
        return found
    rest = [s for s in selectors if s not in found]
    more = await asyncio.gather(*(dns.query(f"{s}._domainkey.{domain}", "TXT") for s in rest))
    found.update(zip(rest, more, strict=True))
    return found


def _audit_selector(result: AreaResult, selector: str, name: str, texts: list[str]) -> list[str]:
    if len(texts) > 1:
        note(result, "dkim.multiple", "warn", selector=selector, name=name, count=len(texts))
    return [t for t in (_audit_key(result, selector, parse_dkim_key(x)) for x in texts) if t]


def _audit_key(result: AreaResult, selector: str, key: DkimKey) -> str:
    """Findings for one key record; returns its key type ("" when unusable or revoked)."""
    for problem in key.problems:
        check, status = PROBLEMS[problem.code]
        reason = "no p= tag" if problem.code == "no_key" else ""
        note(result, check, status, selector=selector, tag=problem.tag, value=problem.value,
             offset=problem.offset, reason=reason)
    if not key.valid or key.key_type not in ("rsa", "ed25519"):
        return ""
    if key.revoked:
        note(result, "dkim.revoked", "info", selector=selector)
        return ""
    if key.testing:
        note(result, "dkim.testing", "warn", selector=selector, flags=key.flags)
    info = key_info(key)
    if info.error:
        note(result, "dkim.key_invalid", "fail", selector=selector, reason=info.error)
        return ""
    if info.key_type != key.key_type:
        note(result, "dkim.key_mismatch", "fail", selector=selector, value=key.key_type,
             found=info.key_type)
        return ""
    if info.key_type == "ed25519":
        _ed25519(result, selector, info.form)
    else:
        _rsa(result, selector, info.bits, info.form)
    return info.key_type


def _ed25519(result: AreaResult, selector: str, form: str) -> None:
    if form == "spki":
        note(result, "dkim.ed25519_spki", "fail", selector=selector)
    else:
        note(result, "dkim.ed25519", "pass", selector=selector, key_type="Ed25519", bits=256)


def _rsa(result: AreaResult, selector: str, bits: int, form: str) -> None:
    if form == "pkcs1":
        note(result, "dkim.pkcs1", "warn", selector=selector, bits=bits)
    if bits < 1024:
        note(result, "dkim.rsa_weak", "fail", selector=selector, bits=bits)
    elif bits < 2048:
        note(result, "dkim.rsa_short", "warn", selector=selector, bits=bits)
    elif bits > 4096:
        note(result, "dkim.rsa_huge", "warn", selector=selector, bits=bits)
    else:
        note(result, "dkim.key", "pass", selector=selector, key_type="RSA", bits=bits)


async def _summary(result: AreaResult, dns: Any, domain: str, selectors: list[str],
                   found: dict[str, list[str]], unchecked: list[str]) -> None:
    result.facts = {"selectors_tried": selectors, "selectors_found": sorted(found),
                    "selectors_unchecked": unchecked}
    types = {t for kinds in found.values() for t in kinds}
    if types == {"ed25519"}:
        note(result, "dkim.ed25519_only", "info")
    if found:
        return
    if unchecked:
        note(result, "dkim.unchecked", "unchecked", selector=", ".join(unchecked[:8]),
             reason="no answer")
        return
    parent = await dns.query(f"_domainkey.{domain}", "TXT")
    if parent.status == "nxdomain":
        note(result, "dkim.none_published", "warn", domain=domain)
    else:
        note(result, "dkim.none_found", "info", count=len(selectors), selectors=selectors)
