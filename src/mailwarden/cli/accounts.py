"""``mailwarden accounts``: quarantined accounts and their release."""

from __future__ import annotations

import getpass
import json
import time
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

app = App(help=tr("Accounts: quarantine and release.", "アカウント: 隔離と解除。"))


@app.command("quarantined", help=tr(
    "List quarantined accounts (their outbound mail is held).",
    "隔離中のアカウントを一覧表示します（送信メールは保留されています）。"))
def quarantined(config: ConfigOpt = None, data_dir: DataDirOpt = None,
                as_json: JsonOpt = False, lang: LangOpt = CLI_LANG) -> None:
    from mailwarden import i18n
    from mailwarden.store.store import Store
    from mailwarden.timefmt import iso

    cfg = settings(config, data_dir, lang)
    rows = Store(cfg.store_url).quarantined()
    for row in rows:
        if as_json:
            typer.echo(json.dumps({"account": row["account"], "since": iso(row["since"]),
                                   "incident": row["incident_id"]}))
        else:
            typer.echo(i18n.render("cli.accounts.quarantined_line", lang, account=row["account"],
                                   since=iso(row["since"]), incident=row["incident_id"]))
    if not rows and not as_json:
        typer.echo(i18n.render("cli.accounts.none_quarantined", lang))


@app.command("release", help=tr(
    "Lift an account's quarantine: its next messages are decided normally again.\n\n"
    "Mail already in Postfix's hold queue stays there: release it with ``postsuper -H``.",
    "アカウントの隔離を解除します。以降のメールは通常どおり判定されます。\n\n"
    "Postfix の保留キューにすでにあるメールはそのまま残ります。``postsuper -H`` で解放して"
    "ください。"))
def release(
    account: Annotated[str, typer.Argument(help=tr(
        "The SASL account to release.", "隔離を解除する SASL アカウント。"))],
    config: ConfigOpt = None, data_dir: DataDirOpt = None, lang: LangOpt = CLI_LANG,
    note: Annotated[str, typer.Option(help=tr(
        "Why (kept in the incident timeline).",
        "理由（インシデントのタイムラインに記録されます）。"))] = "",
) -> None:
    from mailwarden import i18n
    from mailwarden.store.store import Store

    cfg = settings(config, data_dir, lang)
    by = getpass.getuser()
    incident = Store(cfg.store_url).release(account.lower(), time.time(), by, note)
    if incident is None:
        typer.echo("mailwarden: " + i18n.render("cli.accounts.not_quarantined", lang,
                                                account=account), err=True)
        raise typer.Exit(1)
    typer.echo(i18n.render("cli.accounts.released", lang, account=account, incident=incident,
                           seconds=f"{cfg.store.flush_interval:g}"))
