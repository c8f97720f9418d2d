"""Import outcomes and summaries as terminal text, in English or Japanese."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from mailwarden.reports.errors import note_text, shown
from mailwarden.reports.importer import FileResult, totals
from mailwarden.reports.messages import render

COLUMNS = ("source", "country", "network", "messages", "pass", "spf_unaligned",
           "dkim_unaligned", "both_unaligned", "no_auth", "verdict")
SELF_EVIDENT = frozenset({"spoofing", "pass"})
NUMERIC = frozenset({"messages", "pass", "spf_unaligned", "dkim_unaligned", "both_unaligned",
                     "no_auth"})


def _say(key: str, lang: str, **params: Any) -> str:
    """A sentence whose values (from reports: untrusted) are made printable first."""
    return render(key, lang, **{k: shown(v) if isinstance(v, str) else v
                                for k, v in params.items()})


def width(text: str) -> int:
    """Columns a terminal uses for ``text`` (East Asian wide characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, size: int, right: bool = False) -> str:
    fill = " " * max(0, size - width(text))
    return fill + text if right else text + fill


def _clip(text: str, size: int) -> str:
    while width(text) > size:
        text = text[:-2] + "…"
    return text


def import_lines(results: Sequence[FileResult], lang: str) -> list[str]:
    """One line per report (or per file that could not be read), warnings below, totals last."""
    lines = []
    for result in results:
        path = shown(result.path)
        if result.error is not None:
            lines.append(f"{render('status.error', lang)}: {path}: {result.error.text(lang)}")
        for item in result.items:
            status = render(f"status.{item.status}", lang)
            if item.error is not None:
                lines.append(f"{status}: {shown(item.name)}: {item.error.text(lang)}")
                continue
            assert item.report is not None
            facts = item.describe()
            lines.append(f"{status}: {render('kind.' + facts['kind'], lang)} "
                         f"{shown(facts['org'])} {shown(facts['domain'])} "
                         f"{shown(facts['report_id'])}  ({path})")
            lines.extend(f"    ! {note_text(w, lang)}" for w in item.report.warnings)
    lines.append(render("import.totals", lang, **totals(results)))
    return lines


def _rate(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _row(src: dict[str, Any], lang: str) -> dict[str, str]:
    return {"source": src["source_ip"], "country": src["country"] or "-",
            "network": _clip(src["asn"] or "-", 28),
            **{k: str(src[k]) for k in NUMERIC if k != "messages"},
            "messages": str(src["messages"]), "verdict": render(f"verdict.{src['verdict']}", lang)}


def _table(sources: Sequence[dict[str, Any]], lang: str) -> list[str]:
    rows = [_row(src, lang) for src in sources]
    heads = {c: render(f"col.{c}", lang) for c in COLUMNS}
    sizes = {c: max([width(heads[c])] + [width(r[c]) for r in rows]) for c in COLUMNS}
    lines = ["  ".join(pad(heads[c], sizes[c], c in NUMERIC) for c in COLUMNS).rstrip()]
    for src, row in zip(sources, rows, strict=True):
        lines.append("  ".join(pad(row[c], sizes[c], c in NUMERIC) for c in COLUMNS).rstrip())
        if src["verdict"] not in SELF_EVIDENT:  # their hint is the legend below the table
            lines.append(f"    → {src['hint']['ja' if lang == 'ja' else 'en']}")
    if any(src["verdict"] in SELF_EVIDENT for src in sources):
        lines.append(render("summary.legend", lang))
    return lines


def _networks(networks: Sequence[dict[str, Any]], lang: str, limit: int) -> list[str]:
    lines = ["", render("summary.networks", lang)]
    for net in networks[:limit]:
        lines.append("  " + render("summary.network_line", lang, asn=net["asn"],
                                   sources=net["sources"], messages=net["messages"],
                                   passed=net["pass"], failed=net["failing"]))
    return lines


def _domain_lines(domains: Sequence[dict[str, Any]], lang: str) -> list[str]:
    lines = []
    for dom in domains:
        lines.append(_say("summary.domain", lang, domain=dom["domain"],
                            reports=dom["reports"], messages=dom["messages"],
                            passed=dom["pass"], rate=_rate(dom["pass"], dom["messages"]),
                            failed=dom["failing"]))
        if dom["failing"]:
            lines.append(_say("summary.fail_kinds", lang, **dom))
    return lines


def _source_lines(summary: dict[str, Any], lang: str, limit: int) -> list[str]:
    sources = summary["sources"]
    lines = ["", _say("summary.sources", lang), *_table(sources[:limit], lang)]
    if len(sources) > limit:
        lines.append(_say("summary.more", lang, count=len(sources) - limit))
    if len(summary["networks"]) > 1:
        lines += _networks(summary["networks"], lang, limit)
    return lines


def _tls_lines(tls_groups: Sequence[dict[str, Any]], lang: str) -> list[str]:
    lines = ["", _say("summary.tls", lang)]
    for tls in tls_groups:
        kinds = ", ".join(f"{shown(k)} {v}" for k, v in tls["result_types"].items())
        lines.append("  " + _say("summary.tls_line", lang, domain=tls["policy_domain"],
                                   policy=tls["policy_type"], reports=tls["reports"],
                                   ok=tls["successful"], failed=tls["failed"],
                                   kinds=f" ({kinds})" if kinds else ""))
    return lines


def _failure_lines(failures: Sequence[dict[str, Any]], lang: str, limit: int) -> list[str]:
    lines = ["", _say("summary.failures", lang)]
    for item in failures[:limit]:
        where = "/".join(x for x in (item["country"], _clip(item["asn"], 28)) if x) or "-"
        subjects = "; ".join(shown(s) for s in item["subjects"][:3])
        lines.append("  " + _say("summary.failure_line", lang,
                                   source=item["source_ip"] or "?", where=where,
                                   count=item["reports"], domain=item["domain"],
                                   subjects=f": {subjects}" if subjects else ""))
    return lines


def summary_lines(summary: dict[str, Any], lang: str, limit: int = 20) -> list[str]:
    """Domain totals, the sources table (failing first, ``limit`` of them) and the same by
    network, TLS sessions, failure reports."""
    if not (summary["domains"] or summary["tls"] or summary["failures"]):
        return [_say("summary.none", lang)]
    lines = _domain_lines(summary["domains"], lang)
    if summary["sources"]:
        lines += _source_lines(summary, lang, limit)
    if summary["tls"]:
        lines += _tls_lines(summary["tls"], lang)
    if summary["failures"]:
        lines += _failure_lines(summary["failures"], lang, limit)
    return lines
