"""``mailwarden evidence verify`` and ``mailwarden incidents export``: evidence bundles."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
    from mailwarden.response.custody import Report

app = App(help=tr("Evidence bundles: check their integrity.",
                  "証拠一式: 改ざんされていないかを確認します。"))

EXPORT_HELP = tr(
    "Write the incident's evidence bundle: records, log excerpts, held messages, custody.",
    "インシデントの証拠一式を書き出します: 記録、ログの抜粋、保留メール、証拠保全記録。")


def export_command(
    incident_id: Annotated[str, typer.Argument(help=tr(
        "The incident id (INC-...).", "インシデント ID（INC-...）。"))],
    out: Annotated[Path, typer.Option("--out", help=tr(
        "The zip to write (never overwritten).",
        "書き出す zip ファイル（既存のファイルは上書きしません）。"))],
    postqueue_config: Annotated[Path | None, typer.Option("--postqueue-config", help=tr(
        "Postfix configuration folder (postcat/postqueue -c DIR); "
        "default: \\[response] postfix_config_dir.",
        "Postfix の設定フォルダ（postcat/postqueue -c DIR）。既定: 設定ファイルの "
        "\\[response] postfix_config_dir。"), show_default=False)] = None,
    log: Annotated[list[Path] | None, typer.Option("--log", help=tr(
        "A log file to excerpt (plain, gzip, bzip2, xz); repeat for several.",
        "抜粋するログファイル（無圧縮、gzip、bzip2、xz）。複数指定可。"),
        show_default=False)] = None,
    by: Annotated[str | None, typer.Option("--by", help=tr(
        "The collector named in the chain of custody (default: the OS user).",
        "証拠保全記録に収集者として記す名前（既定: OS のユーザー名）。"),
        show_default=False)] = None,
    margin: Annotated[float, typer.Option(help=tr(
        "Minutes of log kept before and after the incident.",
        "インシデントの前後に残すログの長さ（分）。"))] = 60.0,
    max_messages: Annotated[int, typer.Option(help=tr(
        "Copy at most this many held messages.", "写す保留メールの最大数。"))] = 500,
    config: ConfigOpt = None, data_dir: DataDirOpt = None, as_json: JsonOpt = False,
    lang: LangOpt = CLI_LANG,
) -> None:
    """``incidents export`` (help: ``EXPORT_HELP``)."""
    from mailwarden import i18n
    from mailwarden.response.evidence import ExportError, ExportOptions, Tools, export
    from mailwarden.store.store import Store

    cfg = settings(config, data_dir, lang)
    configured = cfg.response.postfix_config_dir
    tools = Tools.find(postqueue_config or (Path(configured) if configured else None))
    opts = ExportOptions(out, by or getpass.getuser(), tuple(log or ()), tools,
                         max(0.0, margin) * 60, max(0, max_messages))
    try:
        result = export(Store(cfg.store_url), incident_id, opts, cfg.tz)
    except ExportError as exc:
        typer.echo(f"mailwarden: {exc.text(lang)}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps({
            "path": str(result.path), "sha256": result.sha256, "chain_head": result.head,
            "files": list(result.files),
            "not_collected": [{"item": i, "en": en, "ja": ja} for i, en, ja in result.missing]},
            ensure_ascii=False))
        return
    typer.echo(i18n.render("evidence.exported", lang, path=result.path, files=len(result.files),
                           sha256=result.sha256, head=result.head))
    for item, en, ja in result.missing:
        typer.echo(i18n.render("evidence.not_collected", lang, item=item,
                               reason=ja if lang == "ja" else en))


@app.command("verify", help=tr(
    "Re-compute every hash and check the chain of custody; never extracts anything.\n\n"
    "Exits 0 when the bundle is intact, 1 when a file was changed, removed or added, or the "
    "chain of custody was edited. (--config and --data-dir are accepted like everywhere, "
    "unused: a bundle carries everything needed to check it.)",
    "すべてのハッシュを計算し直し、証拠保全記録の連鎖を確認します。ファイルを展開することは"
    "ありません。\n\n"
    "改ざんがなければ終了コード 0、ファイルの変更・削除・追加や証拠保全記録の編集があれば 1 "
    "で終了します（--config と --data-dir は他のコマンドと同じく指定できますが使いません。"
    "確認に必要なものはすべて証拠一式に入っています）。"))
def verify_command(
    bundle: Annotated[Path, typer.Argument(help=tr(
        "The evidence bundle (.zip) to check.", "確認する証拠一式（.zip）。"))],
    expect: Annotated[str | None, typer.Option("--expect", help=tr(
        "The chain head noted at export; it must match.",
        "書き出しのときに控えた証拠保全記録の末尾ハッシュ。一致しなければなりません。"),
        show_default=False)] = None,
    config: ConfigOpt = None, data_dir: DataDirOpt = None, as_json: JsonOpt = False,
    lang: LangOpt = CLI_LANG,
) -> None:
    from mailwarden import i18n
    from mailwarden.response.custody import verify

    report = verify(bundle, expect)
    if as_json:
        typer.echo(json.dumps(_as_dict(report), ensure_ascii=False))
    elif report.intact:
        first = report.entries[0]
        typer.echo(i18n.render("evidence.intact", lang, files=report.files,
                               entries=len(report.entries), collector=first.get("collector"),
                               at=first.get("time"), head=report.head))
    else:
        for problem in report.problems:
            where = f"{problem.file}: " if problem.file else ""
            typer.echo(f"mailwarden: {bundle.name}: {where}{problem.text(lang)}", err=True)
    if not report.intact:
        raise typer.Exit(1)


def _as_dict(report: Report) -> dict[str, object]:
    return {"intact": report.intact, "files": report.files, "entries": len(report.entries),
            "chain_head": report.head,
            "problems": [{"key": p.key, "file": p.file, "en": p.text("en"), "ja": p.text("ja")}
                         for p in report.problems]}
