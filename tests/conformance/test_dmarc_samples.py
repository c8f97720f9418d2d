"""parsedmarc's report samples (``$MAILWARDEN_CORPORA/dmarc/samples``): every valid file imports,
every invalid one gets a clear error.

The folders say what each file is: ``aggregate/`` and ``extract_report/`` hold aggregate reports
(XML, .xml.gz, .zip and mails carrying them, RFC 7489 and RFC 9990, some damaged in ways that
are repaired with a warning); ``aggregate_invalid/`` and ``empty.xml`` must be refused;
``failure/`` holds DMARC failure reports (imported as such); ``smtp_tls/`` holds TLS reports.
The corpus is found through ``MAILWARDEN_CORPORA`` (default ``../shared/corpora``); without it
these tests skip, and fail under ``MAILWARDEN_STRICT=1``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mailwarden.cli.main import app
from mailwarden.reports.importer import import_file, import_paths, totals
from mailwarden.reports.model import AggregateReport
from mailwarden.store.reports_store import ReportsStore
from mailwarden.store.store import Store

ROOT = Path(__file__).resolve().parents[2]
CORPORA = Path(os.environ.get("MAILWARDEN_CORPORA", ROOT.parent / "shared" / "corpora"))
SAMPLES = CORPORA / "dmarc" / "samples"
STRICT = os.environ.get("MAILWARDEN_STRICT") == "1"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
KINDS = {"aggregate": "aggregate", "extract_report": "aggregate", "failure": "failure",
         "smtp_tls": "tls"}
INVALID = ("aggregate_invalid",)


def need_corpus() -> Path:
    if not SAMPLES.is_dir():
        message = f"corpus not found: {SAMPLES} (set MAILWARDEN_CORPORA)"
        if STRICT:
            pytest.fail(message)
        pytest.skip(message)
    return SAMPLES


def files(*folders: str) -> list[str]:
    """Sample paths relative to the samples folder ("-" when the corpus is absent)."""
    if not SAMPLES.is_dir():
        return ["-"]
    return sorted(str(p.relative_to(SAMPLES)) for folder in folders
                  for p in (SAMPLES / folder).iterdir() if p.is_file())


def store(tmp_path: Path) -> ReportsStore:
    return ReportsStore(Store(f"sqlite:///{tmp_path / 'reports.db'}"))


def test_corpus_is_present():
    """The samples are there (a missing corpus fails under MAILWARDEN_STRICT=1)."""
    need_corpus()


@pytest.mark.parametrize("name", files(*KINDS))
def test_valid_sample_imports(name, tmp_path):
    """Each valid sample imports into an empty store as the kind its folder names."""
    path = need_corpus() / name
    result = import_file(path, store(tmp_path), 1.0)
    assert result.ok, result.to_dict()
    assert result.items and all(item.status == "imported" for item in result.items)
    assert {item.report.kind for item in result.items if item.report} == {
        KINDS[name.split("/")[0]]}


@pytest.mark.parametrize("name", [*files(*INVALID), "empty.xml"])
def test_invalid_sample_gets_a_clear_error(name, tmp_path):
    """Each invalid sample is refused with a reason in English and Japanese."""
    path = need_corpus() / name
    result = import_file(path, store(tmp_path), 1.0)
    errors = [result.error] if result.error else [i.error for i in result.items if i.error]
    assert not result.ok and errors and not any(i.status == "imported" for i in result.items)
    for error in errors:
        assert error.note.key and error.text("en") and JAPANESE.search(error.text("ja"))


def test_what_each_damaged_sample_needed():
    """The samples that need leniency get it, and say so: repaired XML, replaced bytes, text
    around the root, bytes after gzip, an empty org_name; RFC 9990 ones are recognised."""
    samples = need_corpus() / "aggregate"
    expected = {
        "invalid_xml.xml": "warn.repaired", "invalid_utf_8.xml": "warn.encoding_replaced",
        "ikea.com!example.de!1538690400!1538776800.xml": "warn.extracted",
        "mimecast-weird-gzip.eml": "warn.gzip_trailing",
        "!example.com!1538204542!1538463818.xml": "warn.org_from_email"}
    for name, warning in expected.items():
        [item] = import_file(samples / name, None, 1.0).items
        assert item.report is not None and warning in {w.key for w in item.report.warnings}
    for name in ("rfc9990-sample.xml", "rfc9990-example.net!example.com!1700000000!1700086399.xml"):
        [item] = import_file(samples / name, None, 1.0).items
        assert isinstance(item.report, AggregateReport) and item.report.schema == "rfc9990"
    [item] = import_file(samples / "!large-example.com!1711897200!1711983600.xml", None, 1.0).items
    assert isinstance(item.report, AggregateReport) and len(item.report.records) == 2286


def test_whole_folder_imports_once_and_summarises(tmp_path):
    """The folder imports with errors for exactly the invalid files; a second import stores
    nothing new; the summary command reads the store back."""
    samples = need_corpus()
    reports = store(tmp_path)
    first = import_paths([samples], reports, 1.0)
    failed = sorted(str(Path(r.path).relative_to(samples)) for r in first if not r.ok)
    assert failed == sorted([*files(*INVALID), "empty.xml"])
    counts = totals(first)
    again = totals(import_paths([samples], reports, 2.0))
    assert again["imported"] == 0 and again["duplicate"] == counts["imported"] + counts[
        "duplicate"]
    done = CliRunner().invoke(app, ["dmarc", "summary", "--data-dir", str(tmp_path / "cli"),
                                    "--json"])
    assert done.exit_code == 0 and json.loads(done.output)["sources"] == []
    done = CliRunner().invoke(app, ["dmarc", "import", str(samples / "smtp_tls"),
                                    "--data-dir", str(tmp_path / "cli"), "--lang", "ja"])
    assert done.exit_code == 0 and "SMTP TLSレポート" in done.output
