"""``mailwarden logs``: learn from mail logs."""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Iterable
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
    from mailwarden.sources.logs.files import LogFileError

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
                   year: YearOpt = None, as_json: JsonOpt = False,
                   lang: LangOpt = CLI_LANG) -> None:
    from mailwarden import i18n
    from mailwarden.replay import import_logs
    from mailwarden.sources.logs.files import LogFileError

    cfg = settings(config, data_dir, lang)
    try:
        summary = import_logs(cfg, files, year)
    except LogFileError as exc:
        raise log_file_error(exc, lang) from None
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        typer.echo(i18n.render("cli.logs.learned", lang, messages=summary["messages"],
                               accounts=summary["accounts"], start=summary["from"],
                               end=summary["to"]))


def log_file_error(exc: LogFileError, lang: str) -> typer.Exit:
    """Say which log file could not be read (the reason as the system gave it); exit 1."""
    from mailwarden import i18n

    key = "cli.log_file.error_at" if exc.line else "cli.log_file.error"
    text = i18n.render(key, lang, path=exc.path, reason=exc.reason, line=exc.line)
    typer.echo(f"mailwarden: {text}", err=True)
    return typer.Exit(1)


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
    lang: LangOpt = CLI_LANG,
) -> None:
    from mailwarden.scan import scan, scan_json
    from mailwarden.sources.logs.files import LogFileError

    cfg = settings(config, data_dir, lang)
    _few_collections()
    try:
        if as_json:
            _print_lines(scan_json(files, cfg, year, events))
            return
        for rec in scan(files, cfg, year, events):
            line = _scan_line(rec, lang)
            if line is not None:
                typer.echo(line)
    except LogFileError as exc:
        raise log_file_error(exc, lang) from None


def _scan_line(rec: dict[str, Any], lang: str) -> str | None:
    """The text line of one ``scan`` record in ``lang``; None for a record not shown."""
    from mailwarden import i18n

    if rec["type"] == "finding":
        key = "ja" if lang == "ja" else "en"
        return i18n.render("cli.logs.finding", lang, time=rec["time"], signal=rec["signal"],
                           severity=rec["severity"], account=rec["account"] or "-",
                           address=rec["address"] or "-",
                           reason=rec["reasons"][0][key] if rec["reasons"] else "")
    if rec["type"] == "login":
        ok = i18n.render("cli.logs.login_ok" if rec["success"] else "cli.logs.login_failed",
                         lang)
        return i18n.render("cli.logs.login", lang, time=rec["time"], ok=ok,
                           account=rec["account"] or "-", address=rec["address"],
                           country=rec["country"] or "?", protocol=rec["protocol"])
    if rec["type"] == "summary":
        return i18n.render("cli.logs.summary", lang, logins=rec["logins"],
                           submissions=rec["submissions"], deliveries=rec["deliveries"],
                           findings=rec["findings"])
    return None


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
