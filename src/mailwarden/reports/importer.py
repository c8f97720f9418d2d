"""``dmarc import``: files and folders in, reports stored, one outcome per file.

A bad file never stops the import: its error is recorded and the next file is read. Folders are
walked recursively in name order, without following symbolic links and skipping hidden files
(``.DS_Store``); a file named on the command line is always read.

Each report is stored as soon as it is read, before the next part of the file is unpacked; what
is kept of it afterwards is its listing line and, for the import's own summary, its ``digest``
(an aggregate report's records with the same outcome merged). A dry run (no store) keeps the
reports whole: they are its result.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mailwarden.reports.errors import ReportError
from mailwarden.reports.limits import DEFAULT, Limits
from mailwarden.reports.model import (
    AggregateReport,
    FailureReport,
    Record,
    Report,
    TlsReport,
    describe,
)
from mailwarden.reports.reader import Outcome, outcomes
from mailwarden.store.reports_store import ReportsStore

log = logging.getLogger(__name__)


@dataclass
class Item:
    """One report found in a file, and what became of it."""

    name: str
    status: str  # imported, duplicate, error
    report: Report | None = None
    """The report (a dry run), or its ``digest`` once stored."""
    error: ReportError | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    """``describe`` of the whole report (the digest may have fewer records)."""

    def describe(self) -> dict[str, Any]:
        return self.facts or (describe(self.report) if self.report is not None else {})

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "status": self.status}
        if self.report is not None:
            out.update(self.describe())
            out["warnings"] = [w.to_dict() for w in self.report.warnings]
        if self.error is not None:
            out["error"] = self.error.to_dict()
        return out


@dataclass
class FileResult:
    """One file: the reports in it, or the error that kept it from being read at all."""

    path: str
    items: list[Item] = field(default_factory=list)
    error: ReportError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and all(item.status != "error" for item in self.items)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "ok": self.ok, "items": [i.to_dict() for i in self.items],
                "error": self.error.to_dict() if self.error is not None else None}


def walk(paths: Sequence[Path]) -> Iterator[Path]:
    """The files named, and the files under the folders named (sorted, no hidden files)."""
    for path in paths:
        if not path.is_dir():
            yield path
            continue
        for folder, dirs, names in os.walk(path, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                if not name.startswith("."):
                    yield Path(folder) / name


def read_file(path: Path, limits: Limits = DEFAULT) -> bytes:
    """The file's bytes, refusing one larger than ``max_file`` before reading it whole."""
    try:
        with path.open("rb") as handle:
            # read(n) sets aside n bytes first: ask for what the file holds, not max_file
            want = min(os.fstat(handle.fileno()).st_size, limits.max_file) + 1
            data = handle.read(want)
            if len(data) == want:  # it grew, or is not a regular file
                data += handle.read(limits.max_file + 1 - len(data))
    except OSError as exc:
        raise ReportError("file.unreadable", detail=exc.strerror or str(exc)) from None
    if len(data) > limits.max_file:
        raise ReportError("file.too_large", limit=limits.max_file)
    return data


def digest(report: Report) -> Report:
    """What the import's own summary needs of a stored report: an aggregate report's records
    with the same source and outcome merged (counts summed, envelope addresses dropped)."""
    if not isinstance(report, AggregateReport):
        return report
    merged: dict[Record, int] = {}
    for record in report.records:
        key = dataclasses.replace(record, count=0, envelope_from="", envelope_to="")
        merged[key] = merged.get(key, 0) + record.count
    return dataclasses.replace(report, records=tuple(
        dataclasses.replace(key, count=count) for key, count in merged.items()))


def _item(outcome: Outcome, store: ReportsStore | None, source: str, now: float) -> Item:
    """Store one outcome's report (``store=None``: a dry run) and keep what is listed of it."""
    report = outcome.report
    if report is None:
        return Item(outcome.name, "error", error=outcome.error)
    if store is None:
        return Item(outcome.name, "imported", report=report)
    stored = store.save(report, source, now)
    return Item(outcome.name, "imported" if stored else "duplicate", report=digest(report),
                facts=describe(report))


def import_file(path: Path, store: ReportsStore | None, now: float,
                limits: Limits = DEFAULT) -> FileResult:
    """Read one file and store its reports one by one (``store=None`` only reads: a dry run).

    An error of the whole file (unreadable, too large, over its budget) ends it; the reports
    stored before it stay stored and listed."""
    result = FileResult(str(path))
    for found in _read(path, limits):
        if isinstance(found, ReportError):
            result.error = found
        else:
            result.items.append(_item(found, store, str(path), now))
    return result


def _read(path: Path, limits: Limits) -> Iterator[Outcome | ReportError]:
    """The file's outcomes one at a time, then the error that ended it, if one did (a store
    error while saving is not caught here: it is not the file's fault)."""
    try:
        yield from outcomes(read_file(path, limits), path.name, limits)
    except ReportError as exc:
        yield exc
    except Exception as exc:  # a reader bug must cost one file, never the whole import
        log.exception("reading %s failed", path)
        yield ReportError("file.internal", detail=f"{type(exc).__name__}: {exc}")


def import_paths(paths: Sequence[Path], store: ReportsStore | None, now: float,
                 limits: Limits = DEFAULT) -> list[FileResult]:
    return [import_file(path, store, now, limits) for path in walk(paths)]


def totals(results: Sequence[FileResult]) -> dict[str, int]:
    items = [item for result in results for item in result.items]
    return {"files": len(results),
            "imported": sum(item.status == "imported" for item in items),
            "duplicate": sum(item.status == "duplicate" for item in items),
            "errors": sum(not result.ok for result in results)}


def reports_of(results: Sequence[FileResult]) -> list[Report]:
    """Every report read, imported or already stored, each once (the same report may come as
    .xml, .xml.gz and .zip): for the import's own summary."""
    seen: dict[tuple[str, Any], Report] = {}
    for result in results:
        for item in result.items:
            if item.report is not None:
                seen.setdefault((item.report.kind, item.report.key), item.report)
    return list(seen.values())


def tls_rows(reports: Sequence[Report]) -> list[dict[str, Any]]:
    """The rows ``ReportsStore.tls_rows`` returns, from reports in memory."""
    return [{"org_name": r.org_name, "report_id": r.report_id, "date_begin": r.begin,
             "date_end": r.end, "policy_type": p.policy_type,
             "policy_domain": p.policy_domain, "successful": p.successful,
             "failed": p.failed, "failures": [asdict(f) for f in p.failures]}
            for r in reports if isinstance(r, TlsReport) for p in r.policies]


def failure_rows(reports: Sequence[Report]) -> list[dict[str, Any]]:
    return [asdict(r) for r in reports if isinstance(r, FailureReport)]


def aggregate_reports(reports: Sequence[Report]) -> list[AggregateReport]:
    return [r for r in reports if isinstance(r, AggregateReport)]
