"""The report destinations of a DMARC record: ``rua`` present and usable, ``ruf`` noted, and
every destination outside the policy's organisation authorised by a ``v=DMARC1`` TXT record at
``<policy domain>._report._dmarc.<destination host>`` (RFC 9990's external destination
verification; RFC 7489 §7.1), without which receivers send it nothing."""

from __future__ import annotations

from typing import Any

from mailwarden.audit.dmarc_record import DmarcRecord, ReportUri, decode_txt, is_dmarc_text
from mailwarden.audit.messages import note, render
from mailwarden.audit.model import AreaResult, Record


def external(host: str, policy_domain: str, org_domain: str) -> bool:
    """Is ``host`` outside the organisation that published the policy?"""
    return not any(host == d or host.endswith("." + d) for d in (policy_domain, org_domain))


async def check_reports(result: AreaResult, dns: Any, record: DmarcRecord,
                        policy_domain: str, org_domain: str) -> None:
    rua = [u for u in record.rua if u.valid]
    if not rua:
        note(result, "dmarc.rua_missing", "warn", domain=policy_domain)
    else:
        note(result, "dmarc.rua_ok", "pass", uris=[u.raw for u in rua])
    ruf = [u for u in record.ruf if u.valid]
    if ruf:
        note(result, "dmarc.ruf_present", "info", uris=[u.raw for u in ruf])
    for tag, uris in (("rua", rua), ("ruf", ruf)):
        for uri in uris:
            if uri.scheme != "mailto":
                note(result, "dmarc.rua_non_mailto", "info", tag=tag, value=uri.raw)
        await _authorizations(result, dns, tag, uris, policy_domain, org_domain)


async def _authorizations(result: AreaResult, dns: Any, tag: str, uris: list[ReportUri],
                          policy_domain: str, org_domain: str) -> None:
    hosts = dict.fromkeys(u.host for u in uris if u.host)
    for host in hosts:
        if external(host, policy_domain, org_domain):
            await _authorized(result, dns, tag, host, policy_domain)


async def _authorized(result: AreaResult, dns: Any, tag: str, host: str,
                      policy_domain: str) -> None:
    name = f"{policy_domain}._report._dmarc.{host}"
    answer = await dns.query(name, "TXT")
    evidence = {"tag": tag, "host": host, "policy_domain": policy_domain, "name": name}
    if answer.status == "unchecked":
        note(result, "dmarc.external_unchecked", "unchecked", reason=answer.reason, **evidence)
        return
    if any(is_dmarc_text(decode_txt(t)[0]) for t in answer.texts()):
        note(result, "dmarc.external_authorized", "pass", **evidence)
        return
    note(result, "dmarc.external_unauthorized", "warn", dns_status=answer.status, **evidence)
    en, ja = render("plan.authorize", domain=policy_domain, host=host)
    result.publish.append(Record(name, "TXT", "v=DMARC1", en, ja))
