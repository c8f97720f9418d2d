"""The audit's reports for people and programs: a terminal table (a grade per area, then the
reasons and the records to publish), JSON, and (in :mod:`output_html`) a self-contained HTML
page. Sentences come in the language asked for (``ja`` or ``en``)."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from mailwarden.audit.messages import render, ui
from mailwarden.audit.model import AREAS, STATUSES, DomainReport, Finding, Record
from mailwarden.audit.spf import txt_presentation

STATUS_MARK = {"fail": "✗", "unchecked": "?", "warn": "!", "info": "i", "pass": "✓"}


def area_names(reports: Sequence[DomainReport]) -> list[str]:
    """Areas present in any report, in the registry's order (unknown ones after)."""
    seen = dict.fromkeys(a for r in reports for a in r.areas)
    return [a for a in AREAS if a in seen] + [a for a in seen if a not in AREAS]


def error_text(report: DomainReport, lang: str) -> str:
    """Why a domain was not audited, in ``lang``."""
    if not report.error:
        return ""
    en, ja = render("audit.invalid_domain", domain=report.domain)
    return ja if lang == "ja" else en


def ordered(findings: Sequence[Finding]) -> list[Finding]:
    """Worst first, keeping the checks' order within a status."""
    return sorted(findings, key=lambda f: STATUSES.index(f.status))


def width(text: str) -> int:
    """Columns a string takes in a terminal (East Asian wide characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, columns: int) -> str:
    return text + " " * max(0, columns - width(text))


def table(reports: Sequence[DomainReport], lang: str) -> str:
    """The grade of every area of every domain, one line per domain."""
    areas = area_names(reports)
    first = max([width(ui("domain", lang)), *(width(r.domain) for r in reports)]) + 2
    columns = {a: max(len(a), 5) + 2 for a in areas}
    lines = [pad(ui("domain", lang), first) + "".join(pad(a, columns[a]) for a in areas)]
    for report in reports:
        if report.error:
            lines.append(pad(report.domain, first) + ui("error", lang))
            continue
        grades = [pad(report.areas[a].grade if a in report.areas else "-", columns[a])
                  for a in areas]
        lines.append(pad(report.domain, first) + "".join(grades))
    return "\n".join(line.rstrip() for line in lines)


def record_line(record: Record) -> str:
    value = record.value if record.rtype != "TXT" else txt_presentation(record.value)
    return f"{record.name}. IN {record.rtype} {value}"


def details(report: DomainReport, lang: str) -> str:
    """The reasons behind each grade and the records to publish, for one domain."""
    lines = [report.domain]
    if report.error:
        return "\n".join([*lines, "  " + error_text(report, lang)])
    for name in area_names([report]):
        area = report.areas[name]
        lines.append(f"  {name}  {area.grade}")
        shown = [f for f in ordered(area.findings) if f.status != "pass"]
        for finding in shown:
            lines.append(f"    {STATUS_MARK[finding.status]} {ui(finding.status, lang)}: "
                         f"{finding.text(lang)}  [{finding.check}]")
        if not shown:
            lines.append("    " + ui("no_findings", lang))
        for record in area.publish:
            lines.append(f"    → {record_line(record)}")
            lines.append(f"      {record.ja if lang == 'ja' else record.en}")
    return "\n".join(lines)


def terminal(reports: Sequence[DomainReport], lang: str) -> str:
    """The whole terminal report: the table, the legend, then each domain's details."""
    parts = [table(reports, lang), ui("legend", lang), ""]
    parts.extend(details(r, lang) + "\n" for r in reports)
    parts.append(ui("summary", lang, count=len(reports)))
    return "\n".join(parts)


def as_json(reports: Sequence[DomainReport], lang: str) -> str:
    """Every report with every finding (both languages), for programs."""
    document: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "lang": lang,
        "domains": [r.to_dict() for r in reports],
    }
    return json.dumps(document, ensure_ascii=False, indent=2, default=str)
