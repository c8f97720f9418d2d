"""``mailwarden logs``: learn from mail logs."""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer

from mailwarden.cli.common import App, ConfigOpt, DataDirOpt, JsonOpt, settings, tr

app = App(help=tr("Mail logs: learn baselines from history.",
                  "メールログ: 過去のログから通常の送信パターン（ベースライン）を学習します。"))

FilesArg = Annotated[list[Path], typer.Argument(help=tr(
    "Postfix log files (plain or gzip, rotated ones in any order).",
    "Postfix のログファイル（無圧縮または gzip。ローテートされたファイルは順不同で可）。"))]
YearOpt = Annotated[int | None, typer.Option(help=tr(
    "Year of the oldest line for timestamps without one (default: from the files).",
    "年の書かれていないタイムスタンプに使う、最も古い行の年（既定: ファイルから判断）。"))]


@app.command("import", help=tr(
    "Learn each account's baseline from Postfix logs, without deciding anything.",
    "Postfix のログから各アカウントのベースラインを学習します。判定は行いません。"))
def import_command(files: FilesArg, config: ConfigOpt = None, data_dir: DataDirOpt = None,
                   year: YearOpt = None, as_json: JsonOpt = False) -> None:
    from mailwarden.replay import import_logs
    from mailwarden.sources.logs.files import LogFileError

    cfg = settings(config, data_dir)
    try:
        summary = import_logs(cfg, files, year)
    except LogFileError as exc:
        typer.echo(f"mailwarden: {exc}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        typer.echo(f"learned {summary['messages']} messages of {summary['accounts']} accounts "
                   f"from {summary['from']} to {summary['to']}")


@app.command("scan", help=tr(
    "Forensics: who logged in from where and when, and what the login guard finds.\n\n"
    "Reads Postfix, Dovecot and Exim logs (plain or compressed, rotated files in any order) in "
    "time order. With --json, one JSON line per event and per finding, then a summary.",
    "調査用: 誰がいつどこからログインしたか、ログイン監視が何を検知するかを示します。\n\n"
    "Postfix、Dovecot、Exim のログ（無圧縮または圧縮。ローテートされたファイルは順不同で可）を"
    "時刻順に読みます。--json を付けると、イベントと検知結果ごとに JSON を1行ずつ出力し、最後に"
    "集計を出力します。"))
def scan_command(
    files: FilesArg, config: ConfigOpt = None, data_dir: DataDirOpt = None,
    year: YearOpt = None, as_json: JsonOpt = False,
    events: Annotated[bool, typer.Option("--events/--findings-only", help=tr(
        "Print the events too, or only the findings.",
        "イベントも表示するか、検知結果だけを表示するか。"))] = True,
) -> None:
    from mailwarden.scan import scan, scan_json
    from mailwarden.sources.logs.files import LogFileError

    cfg = settings(config, data_dir)
    _few_collections()
    try:
        if as_json:
            _print_lines(scan_json(files, cfg, year, events))
            return
        for rec in scan(files, cfg, year, events):
            if rec["type"] == "finding":
                typer.echo(f"{rec['time']}  FINDING {rec['signal']} {rec['severity']} "
                           f"{rec['account'] or '-'} {rec['address'] or '-'}: "
                           f"{rec['reasons'][0]['en'] if rec['reasons'] else ''}")
            elif rec["type"] == "login":
                ok = "ok  " if rec["success"] else "FAIL"
                typer.echo(f"{rec['time']}  login {ok} {rec['account'] or '-'} from "
                           f"{rec['address']} ({rec['country'] or '?'}) {rec['protocol']}")
            elif rec["type"] == "summary":
                typer.echo(f"{rec['logins']} logins, {rec['submissions']} submissions, "
                           f"{rec['deliveries']} deliveries, {rec['findings']} findings")
    except LogFileError as exc:
        typer.echo(f"mailwarden: {exc}", err=True)
        raise typer.Exit(1) from None


def _few_collections() -> None:
    """A scan allocates millions of objects and frees few: let the cycle collector run rarely
    (what is loaded so far is never collected)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 1000)


def _print_lines(lines: Iterable[str], batch: int = 4096) -> None:
    """Print many lines a write at a time (``typer.echo`` flushes after every one)."""
    out = sys.stdout
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= batch:
            out.write("\n".join(chunk) + "\n")
            chunk.clear()
    if chunk:
        out.write("\n".join(chunk) + "\n")
    out.flush()
