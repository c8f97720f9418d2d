"""``mailwarden logins``: what the login guard found."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from mailwarden.cli.common import ConfigOpt, DataDirOpt, JsonOpt, LangOpt, settings

app = typer.Typer(help="The login guard's findings.", no_args_is_help=True)


@app.command("findings")
def findings(
    config: ConfigOpt = None, data_dir: DataDirOpt = None, as_json: JsonOpt = False,
    lang: LangOpt = "en",
    account: Annotated[str | None, typer.Option(help="Only this account.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 200,
) -> None:
    """List the login guard's findings (brute force, spraying, suspicious logins, ...)."""
    from mailwarden.store.store import Store

    cfg = settings(config, data_dir)
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
        typer.echo("no findings")
