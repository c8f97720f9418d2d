"""``mailwarden accounts``: quarantined accounts and their release."""

from __future__ import annotations

import getpass
import json
import time
from typing import Annotated

import typer

from mailwarden.cli.common import ConfigOpt, DataDirOpt, JsonOpt, settings

app = typer.Typer(help="Accounts: quarantine and release.", no_args_is_help=True)


@app.command("quarantined")
def quarantined(config: ConfigOpt = None, data_dir: DataDirOpt = None,
                as_json: JsonOpt = False) -> None:
    """List quarantined accounts (their outbound mail is held)."""
    from mailwarden.store.store import Store
    from mailwarden.timefmt import iso

    cfg = settings(config, data_dir)
    rows = Store(cfg.store_url).quarantined()
    for row in rows:
        if as_json:
            typer.echo(json.dumps({"account": row["account"], "since": iso(row["since"]),
                                   "incident": row["incident_id"]}))
        else:
            typer.echo(f"{row['account']}  since {iso(row['since'])}  {row['incident_id']}")
    if not rows and not as_json:
        typer.echo("no quarantined accounts")


@app.command("release")
def release(
    account: Annotated[str, typer.Argument(help="The SASL account to release.")],
    config: ConfigOpt = None, data_dir: DataDirOpt = None,
    note: Annotated[str, typer.Option(help="Why (kept in the incident timeline).")] = "",
) -> None:
    """Lift an account's quarantine: its next messages are decided normally again.

    Mail already in Postfix's hold queue stays there: release it with ``postsuper -H``.
    """
    from mailwarden.store.store import Store

    cfg = settings(config, data_dir)
    by = getpass.getuser()
    incident = Store(cfg.store_url).release(account.lower(), time.time(), by, note)
    if incident is None:
        typer.echo(f"mailwarden: {account} is not quarantined", err=True)
        raise typer.Exit(1)
    typer.echo(f"released {account} (incident {incident}); a running serve applies it within "
               f"{cfg.store.flush_interval:g}s")
