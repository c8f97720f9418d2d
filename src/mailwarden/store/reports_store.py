"""Queries for DMARC aggregate and failure reports and SMTP TLS reports.

A report is stored once: ``(org_name, report_id, domain)`` for an aggregate report,
``(org_name, report_id)`` for a TLS report and a digest of its fields for a failure report.
Saving one that is already there changes nothing and says so (re-importing a folder, or the
same report as .xml, .xml.gz and .zip, is harmless).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select
from sqlalchemy.exc import IntegrityError

from mailwarden.reports.model import AggregateReport, FailureReport, Report, TlsReport
from mailwarden.store import schema
from mailwarden.store.store import Store

CHUNK = 5000  # records per INSERT statement


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start:start + CHUNK]


def _record_rows(report: AggregateReport, pk: int) -> list[dict[str, Any]]:
    return [{"report": pk, "source_ip": r.source_ip, "count": r.count,
             "disposition": r.disposition, "dkim": r.dkim, "spf": r.spf,
             "header_from": r.header_from, "envelope_from": r.envelope_from,
             "envelope_to": r.envelope_to, "reasons": _json(r.reasons),
             "dkim_results": _json([[a.domain, a.result, a.selector] for a in r.dkim_results]),
             "spf_results": _json([[a.domain, a.result, a.scope] for a in r.spf_results])}
            for r in report.records]


class ReportsStore:
    """The ``dmarc_*`` and ``tlsrpt_*`` tables."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def save(self, report: Report, source: str, now: float) -> bool:
        """Store a report; False if it was already stored (nothing is changed then)."""
        try:
            with self.store.lock, self.store.engine.begin() as conn:
                if isinstance(report, AggregateReport):
                    return self._aggregate(conn, report, source, now)
                if isinstance(report, TlsReport):
                    return self._tls(conn, report, source, now)
                return self._failure(conn, report, source, now)
        except IntegrityError:  # another importer stored it between our check and insert
            return False

    def _aggregate(self, conn: Connection, report: AggregateReport, source: str,
                   now: float) -> bool:
        t = schema.dmarc_reports
        org, report_id, domain = report.key
        if conn.execute(select(t.c.id).where(t.c.org_name == org, t.c.report_id == report_id,
                                             t.c.domain == domain)).first() is not None:
            return False
        meta = {"namespace": report.namespace, "version": report.version,
                "extra_contact_info": report.extra_contact_info,
                "generator": report.generator, "errors": list(report.errors)}
        key = conn.execute(insert(t).values(
            org_name=org, report_id=report_id, domain=domain, schema=report.schema,
            email=report.email, date_begin=report.begin, date_end=report.end,
            policy=_json(asdict(report.policy)), meta=_json(meta),
            warnings=_json([w.to_dict() for w in report.warnings]),
            records=len(report.records), messages=report.messages, source=source,
            imported_at=now)).inserted_primary_key
        pk = int(key[0]) if key is not None else 0
        for chunk in _chunks(_record_rows(report, pk)):
            conn.execute(insert(schema.dmarc_records), chunk)
        return True

    def _tls(self, conn: Connection, report: TlsReport, source: str, now: float) -> bool:
        t = schema.tlsrpt_reports
        org, report_id = report.key
        if conn.execute(select(t.c.id).where(t.c.org_name == org,
                                             t.c.report_id == report_id)).first() is not None:
            return False
        key = conn.execute(insert(t).values(
            org_name=org, report_id=report_id, contact_info=report.contact_info,
            date_begin=report.begin, date_end=report.end,
            warnings=_json([w.to_dict() for w in report.warnings]), source=source,
            imported_at=now)).inserted_primary_key
        pk = int(key[0]) if key is not None else 0
        rows = [{"report": pk, "policy_type": p.policy_type, "policy_domain": p.policy_domain,
                 "successful": p.successful, "failed": p.failed,
                 "policy_string": _json(p.policy_string), "mx_host": _json(p.mx_host),
                 "failures": _json([asdict(f) for f in p.failures])} for p in report.policies]
        for chunk in _chunks(rows):
            conn.execute(insert(schema.tlsrpt_policies), chunk)
        return True

    def _failure(self, conn: Connection, report: FailureReport, source: str,
                 now: float) -> bool:
        t = schema.dmarc_failures
        if conn.execute(select(t.c.id).where(t.c.key == report.key)).first() is not None:
            return False
        data = {k: v for k, v in asdict(report).items() if k not in ("key", "warnings")}
        data["warnings"] = [w.to_dict() for w in report.warnings]
        conn.execute(insert(t).values(
            key=report.key, format=report.format, reporter=report.reporter,
            domain=report.domain, source_ip=report.source_ip, arrival=report.arrival,
            time=report.time, data=_json(data), source=source, imported_at=now))
        return True

    # -- reading --------------------------------------------------------------------------
    def aggregate_rows(self, domains: Sequence[str] = (), since: float = 0.0) -> list[
            dict[str, Any]]:
        """Records with the same outcome summed: one row per domain, source, verdicts and
        authentication results (what the summary needs, however many reports there are)."""
        r, d = schema.dmarc_reports, schema.dmarc_records
        query = (select(r.c.domain, d.c.source_ip, d.c.header_from, d.c.disposition, d.c.dkim,
                        d.c.spf, d.c.reasons, d.c.dkim_results, d.c.spf_results,
                        func.sum(d.c.count).label("count"))
                 .select_from(d.join(r, d.c.report == r.c.id))
                 .where(r.c.date_end >= since)
                 .group_by(r.c.domain, d.c.source_ip, d.c.header_from, d.c.disposition,
                           d.c.dkim, d.c.spf, d.c.reasons, d.c.dkim_results, d.c.spf_results))
        if domains:
            query = query.where(r.c.domain.in_(list(domains)))
        with self.store.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [{**row, "count": int(row["count"] or 0),
                 "reasons": json.loads(row["reasons"]),
                 "dkim_results": json.loads(row["dkim_results"]),
                 "spf_results": json.loads(row["spf_results"])} for row in rows]

    def report_counts(self, domains: Sequence[str] = (), since: float = 0.0) -> dict[str, int]:
        """How many aggregate reports each domain has."""
        r = schema.dmarc_reports
        query = (select(r.c.domain, func.count()).where(r.c.date_end >= since)
                 .group_by(r.c.domain))
        if domains:
            query = query.where(r.c.domain.in_(list(domains)))
        with self.store.engine.connect() as conn:
            return {str(domain): int(n) for domain, n in conn.execute(query).all()}

    def tls_rows(self, domains: Sequence[str] = (), since: float = 0.0) -> list[dict[str, Any]]:
        r, p = schema.tlsrpt_reports, schema.tlsrpt_policies
        query = (select(r.c.org_name, r.c.report_id, r.c.date_begin, r.c.date_end,
                        p.c.policy_type, p.c.policy_domain, p.c.successful, p.c.failed,
                        p.c.failures)
                 .select_from(p.join(r, p.c.report == r.c.id))
                 .where(r.c.date_end >= since).order_by(r.c.date_end, p.c.id))
        if domains:
            query = query.where(p.c.policy_domain.in_(list(domains)))
        with self.store.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [{**row, "failures": json.loads(row["failures"])} for row in rows]

    def failure_rows(self, domains: Sequence[str] = (), since: float = 0.0) -> list[
            dict[str, Any]]:
        """Failure reports by arrival time (import time when the arrival date was unreadable)."""
        t = schema.dmarc_failures
        query = select(t.c.data).where(or_(t.c.time >= since, and_(
            t.c.time == 0.0, t.c.imported_at >= since))).order_by(t.c.time, t.c.id)
        if domains:
            query = query.where(t.c.domain.in_(list(domains)))
        with self.store.engine.connect() as conn:
            return [json.loads(row[0]) for row in conn.execute(query).all()]
