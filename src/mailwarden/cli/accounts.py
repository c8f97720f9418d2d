"""``mailwarden accounts``: quarantined accounts and their release."""

from __future__ import annotations

import getpass
import json
import time
from typing import Annotated

import typer

from mailwarden.cli.common import ConfigOpt, DataDirOpt, JsonOpt, LangOpt, settings

app = typer.Typer(help="Accounts: quarantine and release.", no_args_is_help=True)


@app.command("quarantined")
def quarantined(config: ConfigOpt = None, data_dir: DataDirOpt = None,
                as_json: JsonOpt = False, lang: LangOpt = "en") -> None:
    """List quarantined accounts (their outbound mail is held)."""
    from mailwarden import i18n
    from mailwarden.store.store import Store
    from mailwarden.timefmt import iso

    cfg = settings(config, data_dir)
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


@app.command("release")
def release(
    account: Annotated[str, typer.Argument(help="The SASL account to release.")],
    config: ConfigOpt = None, data_dir: DataDirOpt = None, lang: LangOpt = "en",
    note: Annotated[str, typer.Option(help="Why (kept in the incident timeline).")] = "",
) -> None:
    """Lift an account's quarantine: its next messages are decided normally again.

    Mail already in Postfix's hold queue stays there: release it with ``postsuper -H``.
    """
    from mailwarden import i18n
    from mailwarden.store.store import Store

    cfg = settings(config, data_dir)
    by = getpass.getuser()
    incident = Store(cfg.store_url).release(account.lower(), time.time(), by, note)
    if incident is None:
        typer.echo("mailwarden: " + i18n.render("cli.accounts.not_quarantined", lang,
                                                account=account), err=True)
        raise typer.Exit(1)
    typer.echo(i18n.render("cli.accounts.released", lang, account=account, incident=incident,
                           seconds=f"{cfg.store.flush_interval:g}"))
