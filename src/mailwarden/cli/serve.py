"""``mailwarden serve``: run the services."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from mailwarden.cli.common import ConfigOpt, DataDirOpt, settings
from mailwarden.service import parse_listen, serve


def serve_command(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    policy_listen: Annotated[
        str | None,
        typer.Option("--policy-listen", help="Postfix policy server: HOST:PORT or off "
                     "(default: [policy] listen, 127.0.0.1:10040)."),
    ] = None,
    auth_policy_listen: Annotated[
        str | None,
        typer.Option("--auth-policy-listen", help="Dovecot auth policy server: HOST:PORT or "
                     "off (default: [login] listen, 127.0.0.1:10041)."),
    ] = None,
    api_listen: Annotated[
        str | None,
        typer.Option("--api-listen", help="Administrators' HTTP API: HOST:PORT or off "
                     "(default: [api] listen, 127.0.0.1:10042)."),
    ] = None,
    follow: Annotated[
        list[Path] | None,
        typer.Option("--follow", help="Follow this log file (repeatable); survives rotation "
                     "and restarts from its saved position."),
    ] = None,
    journald: Annotated[bool, typer.Option("--journald", help="Follow the systemd journal.")]
        = False,
    journald_unit: Annotated[
        list[str] | None,
        typer.Option("--journald-unit", help="Only these units (repeatable), e.g. postfix@-."),
    ] = None,
) -> None:
    """Run Mailwarden: the Postfix policy server, the Dovecot auth policy server, the
    administrators' API, the store, and the log watcher."""
    cfg = settings(config, data_dir)
    try:
        listen = parse_listen(policy_listen or cfg.policy.listen, "policy")
        auth = parse_listen(auth_policy_listen or cfg.login.listen, "auth-policy")
        api = parse_listen(api_listen or cfg.api.listen, "api")
    except ValueError as exc:
        typer.echo(f"mailwarden: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        asyncio.run(serve(cfg, listen, auth, follow=follow or [], journald=journald,
                          journald_units=journald_unit or [], api_listen=api))
    except OSError as exc:
        typer.echo(f"mailwarden: cannot listen: {exc}", err=True)
        raise typer.Exit(1) from None
