"""The SPF area: is there exactly one valid record, how does the policy end, how many DNS
lookups and void lookups may it cost a receiver, does it use ptr, is it too large, is the
retired SPF record type still around; with the exact record to publish.

``audit_spf(domain, ctx)`` is the area check; ``check_host`` (RFC 7208 evaluation of one
address) and ``parse_record`` are re-exported for other callers.
"""

from __future__ import annotations

import asyncio

from mailwarden.audit.dns import Answer
from mailwarden.audit.model import AreaResult, AuditContext, Record
from mailwarden.audit.spf_eval import check_host
from mailwarden.audit.spf_lookup import ask, spf_records
from mailwarden.audit.spf_messages import note, render
from mailwarden.audit.spf_parse import SpfRecord, SpfSyntaxError, parse_record
from mailwarden.audit.spf_result import SpfResult
from mailwarden.audit.spf_walk import MAX_NAME_CHECKS, MAX_RECORDS, Walk, walk_policy

__all__ = ["SpfResult", "audit_spf", "check_host", "parse_record", "txt_presentation",
           "txt_strings"]

MAX_RECORD_SIZE = 450  # RFC 7208 3.4: keep the answer within one UDP packet
MAX_STRING = 255  # one TXT character-string
ALL_STATUS = {"pass": ("spf.all_pass", "fail"), "neutral": ("spf.all_neutral", "warn"),
              "softfail": ("spf.all_softfail", "info"), "fail": ("spf.all_fail", "pass")}


def txt_strings(text: str) -> list[str]:
    """The character-strings a TXT value is published as: one TXT string holds at most 255
    characters, receivers join them without spaces."""
    return [text[i:i + MAX_STRING] for i in range(0, len(text), MAX_STRING)] or [""]


def txt_presentation(text: str) -> str:
    """The value as a zone file writes it: quoted strings of at most 255 characters."""
    return " ".join('"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
                    for s in txt_strings(text))


def _publish(domain: str, value: str, en: str, ja: str) -> Record:
    """A TXT record to publish; ``value`` is the whole text. Over 255 characters the sentence
    says it must be split (txt_presentation shows how)."""
    if len(value) > MAX_STRING:
        extra_en, extra_ja = render("publish.split", size=len(value),
                                    count=len(txt_strings(value)))
        en, ja = f"{en}. {extra_en}", f"{ja}。{extra_ja}"
    return Record(domain, "TXT", value, en, ja)


async def audit_spf(domain: str, ctx: AuditContext) -> AreaResult:
    """Audit the SPF policy of ``domain``."""
    result = AreaResult("spf")
    domain = domain.strip().rstrip(".").lower()
    txt, spf_type = await asyncio.gather(ask(ctx.dns, domain, "TXT"),
                                         ask(ctx.dns, domain, "SPF"))
    if spf_type.ok:
        note(result, "spf.deprecated_rr", "warn", domain=domain, records=_texts(spf_type))
    if txt.status in ("unchecked", "invalid"):
        note(result, "spf.unchecked", "unchecked", domain=domain, reason=txt.reason or txt.status)
        return result
    found = spf_records(txt.texts()) if txt.ok else []
    if not found:
        await _missing(result, ctx, domain, txt)
        return result
    texts = [raw.decode("ascii", "backslashreplace") for raw in found]
    if len(texts) > 1:
        _multiple(result, domain, texts)
        return result
    await _one_record(result, ctx, domain, found[0], texts[0])
    return result


def _texts(answer: Answer) -> list[str]:
    return [raw.decode("ascii", "backslashreplace") for raw in answer.texts()]


async def _missing(result: AreaResult, ctx: AuditContext, domain: str, txt: Answer) -> None:
    note(result, "spf.missing", "fail", domain=domain, dns=txt.status,
         other_txt=len(txt.texts()))
    mx = await ask(ctx.dns, domain, "MX")
    hosts = sorted({h for h in (rr.exchange.to_text().rstrip(".") for rr in mx.rrs) if h})
    if hosts:
        en, ja = render("publish.mx", domain=domain, hosts=hosts)
        result.publish.append(Record(domain, "TXT", "v=spf1 mx -all", en, ja))
        return
    why = {"nxdomain": "the domain does not exist", "unchecked": "its MX could not be checked"}
    en, ja = render("publish.none", domain=domain,
                    why=why.get(mx.status, "no MX record, or a null MX"))
    result.publish.append(Record(domain, "TXT", "v=spf1 -all", en, ja))


def _multiple(result: AreaResult, domain: str, texts: list[str]) -> None:
    note(result, "spf.multiple", "fail", domain=domain, count=len(texts), records=texts)
    terms: list[str] = []
    endings: set[str] = set()
    for text in texts:
        for term in text.split(" ")[1:]:
            low = term.lower()
            if low.lstrip("+-~?") == "all":
                endings.add(low)
            elif term and "=" not in term and low not in (t.lower() for t in terms):
                terms.append(term)
    ending = "~all" if "~all" in endings and "-all" not in endings else "-all"
    en, ja = render("publish.multiple", domain=domain, count=len(texts))
    merged = " ".join(["v=spf1", *terms, ending])
    result.publish.append(_publish(domain, merged, en, ja))


async def _one_record(result: AreaResult, ctx: AuditContext, domain: str, raw: bytes,
                      text: str) -> None:
    result.facts["record"] = text
    if len(raw) > MAX_RECORD_SIZE:
        note(result, "spf.too_long", "warn", domain=domain, size=len(raw))
    try:
        record = parse_record(raw)
    except SpfSyntaxError as exc:
        note(result, "spf.syntax", "fail", domain=domain, record=text, term=exc.term,
             reason=exc.en, reason_ja=exc.ja)
        return
    note(result, "spf.present", "pass", domain=domain, record=text)
    walk = await walk_policy(ctx.dns, domain, record)
    result.facts.update(lookups=walk.lookups, void_lookups=walk.void, records=walk.records,
                        final_all=walk.final_all)
    changes = _ending(result, domain, record, walk)
    _lookups(result, domain, walk)
    for problem in walk.problems:
        note(result, problem.check, problem.status, **problem.evidence)
    _fix(result, domain, record, changes)


def _ending(result: AreaResult, domain: str, record: SpfRecord,
            walk: Walk) -> list[tuple[str, str]]:
    """Findings on how the policy ends; the changes (en, ja) a fixed record would make."""
    changes: list[tuple[str, str]] = []
    final = walk.final_all
    if final is not None:
        check, status = ALL_STATUS[final]
        where = walk.all_domain
        note(result, check, status, domain=domain, where=where,
             via="" if where == domain else f" (in the record of {where})",
             via_ja="" if where == domain else f"（{where} のレコード）")
        if final in ("pass", "neutral") and record.all is not None:
            changes.append((f"'-all' instead of '{record.all.text}'",
                            f"「{record.all.text}」を「-all」に変更"))
    elif record.redirect is None:
        note(result, "spf.no_all", "warn", domain=domain)
        changes.append(("'-all' added at the end", "末尾に「-all」を追加"))
    if record.all is not None and record.redirect is not None:
        note(result, "spf.redirect_with_all", "warn", domain=domain, all=record.all.text,
             redirect=record.redirect.text)
        changes.append((f"the unused '{record.redirect.text}' removed",
                        f"使われない「{record.redirect.text}」を削除"))
    after = _after_all(record)
    if after:
        note(result, "spf.after_all", "warn", domain=domain, terms=after,
             all=record.all.text if record.all else "all")
    return changes


def _after_all(record: SpfRecord) -> list[str]:
    if record.all is None:
        return []
    position = record.mechanisms.index(record.all)
    return [m.text for m in record.mechanisms[position + 1:]]


def _lookups(result: AreaResult, domain: str, walk: Walk) -> None:
    count = walk.lookups
    if count > 10:
        note(result, "spf.too_many_lookups", "fail", domain=domain, count=count,
             by_domain=walk.by_domain)
    elif count >= 9:
        note(result, "spf.lookups_near_limit", "warn", domain=domain, count=count,
             by_domain=walk.by_domain)
    else:
        note(result, "spf.lookups", "pass", domain=domain, count=count)
    voids = sorted(set(walk.void))
    if len(voids) > 2:
        note(result, "spf.too_many_void_lookups", "fail", domain=domain, count=len(voids),
             names=voids)
    elif voids:
        note(result, "spf.void_lookups", "warn", domain=domain, count=len(voids), names=voids)
    if walk.ptr:
        note(result, "spf.ptr", "warn", domain=domain, terms=walk.ptr)
    if walk.macros:
        note(result, "spf.macros", "info", domain=domain, terms=walk.macros)
    if walk.unchecked:
        note(result, "spf.lookups_unchecked", "unchecked", domain=domain,
             names=sorted(set(walk.unchecked)))
    if walk.truncated:
        note(result, "spf.walk_truncated", "warn", domain=domain, records=MAX_RECORDS,
             names=MAX_NAME_CHECKS)


def _fix(result: AreaResult, domain: str, record: SpfRecord,
         changes: list[tuple[str, str]]) -> None:
    """Publish the record with the changes that need no knowledge of the senders."""
    if not changes:
        return
    terms: list[str] = []
    for term in record.text.split(" ")[1:]:
        if not term:
            continue
        if record.all is not None and term == record.all.text \
                and record.all.qualifier in ("pass", "neutral"):
            term = "-all"
        if record.all is not None and record.redirect is not None \
                and term == record.redirect.text:
            continue
        terms.append(term)
    if record.all is None and record.redirect is None:
        terms.append("-all")
    en, ja = render("publish.fix", changes="; ".join(c[0] for c in changes),
                    changes_ja="、".join(c[1] for c in changes))
    result.publish.append(_publish(domain, " ".join(["v=spf1", *terms]), en, ja))

