"""``mailwarden dmarc``: import DMARC aggregate/failure and SMTP TLS reports, and summarise who
sends as the domain and fails alignment."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mailwarden.cli.common import (
    CLI_LANG,
    App,
    ConfigOpt,
    DataDirOpt,
    JsonOpt,
    LangOpt,
    settings,
    tr,
)

if TYPE_CHECKING:
    from mailwarden.config import Config
    from mailwarden.reports import summary

app = App(help=tr("DMARC and SMTP TLS reports: import them, see who fails alignment.",
                  "DMARC と SMTP TLS のレポート: 取り込んで、アラインメントに失敗している"
                  "送信元を確認します。"))

PathsArg = Annotated[list[Path], typer.Argument(help=tr(
    "Report files (.xml, .xml.gz, .zip, .json, .json.gz, .eml) or folders of them.",
    "レポートのファイル（.xml、.xml.gz、.zip、.json、.json.gz、.eml）またはそれを含むフォルダ。"),
    show_default=False)]
LimitOpt = Annotated[int, typer.Option("--limit", help=tr(
    "Sources listed in the table (--json lists all).",
    "表に載せる送信元の数（--json ではすべて出力します）。"), min=1)]
DomainOpt = Annotated[list[str] | None, typer.Option("--domain", help=tr(
    "Only reports about this domain (repeat for several).",
    "このドメインについてのレポートだけ（複数指定可）。"), show_default=False)]
SinceOpt = Annotated[int | None, typer.Option("--since", help=tr(
    "Only reports whose period ended in the last DAYS days.",
    "対象期間が直近 DAYS 日以内に終わったレポートだけ。"), min=0, show_default=False)]


def _lookup(cfg: Config) -> summary.Lookup:
    from mailwarden.engine.geo import Geo

    home = cfg.organization.home_countries[0] if cfg.organization.home_countries else ""
    return Geo(cfg.organization.internal_networks, home).lookup


def _emit(document: dict[str, Any], lines: list[str], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(document, ensure_ascii=False))
    else:
        typer.echo("\n".join(lines))


@app.command("import", help=tr(
    "Store the reports in the files and folders given, then summarise them.\n\n"
    "Each file that cannot be read is reported with the reason and skipped; the exit status is "
    "1 if any file had an error, 0 otherwise. A report already stored is listed as such and "
    "not stored twice.",
    "指定したファイルとフォルダのレポートを保存し、集計結果を表示します。\n\n"
    "読めないファイルは理由を示して飛ばします。エラーのあったファイルが1つでもあれば終了"
    "コードは 1、なければ 0 です。保存済みのレポートはその旨を示し、二重には保存しません。"))
def import_command(paths: PathsArg, config: ConfigOpt = None, data_dir: DataDirOpt = None,
                   as_json: JsonOpt = False, lang: LangOpt = CLI_LANG,
                   limit: LimitOpt = 20) -> None:
    from mailwarden.reports import importer, summary
    from mailwarden.reports.render import import_lines, summary_lines
    from mailwarden.store.reports_store import ReportsStore
    from mailwarden.store.store import Store

    cfg = settings(config, data_dir, lang)
    results = importer.import_paths(paths, ReportsStore(Store(cfg.store_url)), time.time())
    reports = importer.reports_of(results)
    aggregate = importer.aggregate_reports(reports)
    counts = Counter(r.policy.domain for r in aggregate)
    found = summary.build(summary.rows_from_reports(aggregate), dict(counts),
                          importer.tls_rows(reports), importer.failure_rows(reports),
                          _lookup(cfg))
    document = {"files": [r.to_dict() for r in results], "totals": importer.totals(results),
                "summary": found}
    lines = import_lines(results, lang)
    if reports:
        lines += ["", *summary_lines(found, lang, limit)]
    _emit(document, lines, as_json)
    if not all(result.ok for result in results):
        raise typer.Exit(1)


@app.command("summary", help=tr(
    "Who sends as the domain and fails alignment, from the stored reports.\n\n"
    "Failing sources first, each with a verdict (spoofing? a service to fix?), then the same "
    "by network, SMTP TLS results and DMARC failure reports.",
    "保存済みのレポートから、そのドメインを名乗って送信し、アラインメントに失敗している"
    "送信元を示します。\n\n"
    "まず失敗している送信元をそれぞれの判断（なりすましか、設定を直すべきサービスか）とともに"
    "示し、続いてネットワーク単位の同じ集計、SMTP TLS の結果、DMARC の失敗レポートを示します。"))
def summary_command(domain: DomainOpt = None, since: SinceOpt = None,
                    config: ConfigOpt = None, data_dir: DataDirOpt = None,
                    as_json: JsonOpt = False, lang: LangOpt = CLI_LANG,
                    limit: LimitOpt = 20) -> None:
    from mailwarden.reports import summary
    from mailwarden.reports.render import summary_lines
    from mailwarden.store.reports_store import ReportsStore
    from mailwarden.store.store import Store

    cfg = settings(config, data_dir, lang)
    store = ReportsStore(Store(cfg.store_url))
    domains = [d.strip().lower().rstrip(".") for d in domain or []]
    start = time.time() - since * 86400 if since is not None else 0.0
    found = summary.build(store.aggregate_rows(domains, start),
                          store.report_counts(domains, start), store.tls_rows(domains, start),
                          store.failure_rows(domains, start), _lookup(cfg))
    _emit({"domains": domains, "since": start, **found}, summary_lines(found, lang, limit),
          as_json)
