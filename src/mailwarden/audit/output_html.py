"""The audit as one self-contained HTML page: no script, no external file, every text from
the DNS escaped (a TXT record is attacker-controlled), in Japanese or English."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

from mailwarden.audit.messages import ui
from mailwarden.audit.model import DomainReport, Record
from mailwarden.audit.output import area_names, error_text, ordered, record_line

STYLE = """
body{font-family:system-ui,"Hiragino Sans","Noto Sans JP",sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.3em .6em;
text-align:left;vertical-align:top}.g{font-weight:bold;text-align:center}
.gA{background:#d9f2d9}.gB{background:#fff3c4}.gC{background:#e4e4f7}.gF{background:#f8d0d0}
.s-fail{color:#a00}.s-warn{color:#8a5a00}.s-unchecked{color:#446}.s-info{color:#555}
.s-pass{color:#070}code,pre{background:#f4f4f4;padding:.2em .4em;white-space:pre-wrap;
word-break:break-all}section{margin-top:2em}small{color:#666}
"""


def _grade(grade: str) -> str:
    return f'<td class="g g{escape(grade)}">{escape(grade)}</td>'


def _summary(reports: Sequence[DomainReport], lang: str) -> list[str]:
    areas = area_names(reports)
    head = "".join(f"<th>{escape(a)}</th>" for a in areas)
    rows = [f"<table><tr><th>{escape(ui('domain', lang))}</th>{head}</tr>"]
    for report in reports:
        link = f'<a href="#d-{escape(report.domain)}">{escape(report.domain)}</a>'
        if report.error:
            rows.append(f"<tr><td>{link}</td><td colspan=\"{len(areas) or 1}\">"
                        f"{escape(ui('error', lang))}</td></tr>")
            continue
        cells = "".join(_grade(report.areas[a].grade) if a in report.areas else "<td>-</td>"
                        for a in areas)
        rows.append(f"<tr><td>{link}</td>{cells}</tr>")
    rows.append("</table>")
    return rows


def _records(records: Sequence[Record], lang: str) -> list[str]:
    if not records:
        return []
    out = [f"<p><b>{escape(ui('publish', lang))}</b></p><ul>"]
    for record in records:
        why = record.ja if lang == "ja" else record.en
        out.append(f"<li><pre>{escape(record_line(record))}</pre><small>{escape(why)}"
                   "</small></li>")
    out.append("</ul>")
    return out


def _domain(report: DomainReport, lang: str) -> list[str]:
    out = [f'<section id="d-{escape(report.domain)}"><h2>{escape(report.domain)}</h2>',
           f"<p><small>{escape(ui('checked_at', lang))}: {escape(report.checked_at)}"
           "</small></p>"]
    if report.error:
        return [*out, f"<p>{escape(error_text(report, lang))}</p></section>"]
    for name in area_names([report]):
        area = report.areas[name]
        out.append(f'<h3>{escape(name)} <span class="g{escape(area.grade)}">'
                   f"{escape(area.grade)}</span></h3><table>")
        for finding in ordered(area.findings):
            out.append(f'<tr><td class="s-{escape(finding.status)}">'
                       f"{escape(ui(finding.status, lang))}</td>"
                       f"<td>{escape(finding.text(lang))}<br><small>"
                       f"{escape(finding.check)}</small></td></tr>")
        out.append("</table>")
        out.extend(_records(area.publish, lang))
    out.append("</section>")
    return out


def html_report(reports: Sequence[DomainReport], lang: str) -> str:
    """The whole report as one HTML document."""
    title = escape(ui("title", lang))
    generated = datetime.now(UTC).isoformat(timespec="seconds")
    body = [f"<h1>{title}</h1>", f"<p><small>{escape(generated)} · "
            f"{escape(ui('summary', lang, count=len(reports)))}</small></p>",
            f"<p>{escape(ui('legend', lang))}</p>", *_summary(reports, lang)]
    for report in reports:
        body.extend(_domain(report, lang))
    return (f'<!DOCTYPE html>\n<html lang="{"ja" if lang == "ja" else "en"}"><head>'
            f'<meta charset="utf-8"><title>{title}</title><style>{STYLE}</style></head>'
            "<body>\n" + "\n".join(body) + "\n</body></html>\n")
