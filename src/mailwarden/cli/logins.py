"""``mailwarden logins``: what the login guard found."""

from __future__ import annotations

import json
from typing import Annotated

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

app = App(help=tr("The login guard's findings.", "ログイン監視の検知結果。"))


@app.command("findings", help=tr(
    "List the login guard's findings (brute force, spraying, suspicious logins, ...).",
    "ログイン監視の検知結果を一覧表示します（総当たり、パスワードスプレー、不審なログイン"
    "など）。"))
def findings(
    config: ConfigOpt = None, data_dir: DataDirOpt = None, as_json: JsonOpt = False,
    lang: LangOpt = CLI_LANG,
    account: Annotated[str | None, typer.Option(help=tr(
        "Only this account.", "このアカウントの結果だけ。"))] = None,
    limit: Annotated[int, typer.Option(help=tr(
        "At most this many, newest first.", "最大件数（新しいものから）。"))] = 200,
) -> None:
    from mailwarden import i18n
    from mailwarden.store.store import Store

    cfg = settings(config, data_dir, lang)
    rows = Store(cfg.store_url).findings(account=account.lower() if account else None,
                                         limit=limit)
    for row in rows:
        row.pop("epoch", None)
        if as_json:
            typer.echo(json.dumps(row, ensure_ascii=False))
        else:
            reason = row["reasons"][0]["ja" if lang == "ja" else "en"] if row["reasons"] else ""
            typer.echo(f"{row['time']}  {row['severity']:<6} {row['signal']:<22} "
                       f"{row['account'] or '-'}  {row['address'] or '-'}  {reason}")
    if not rows and not as_json:
        typer.echo(i18n.render("cli.logins.none", lang))
