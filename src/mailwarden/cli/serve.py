"""``mailwarden serve``: run the services."""

from __future__ import annotations

import asyncio
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
) -> None:
    """Run Mailwarden: the Postfix policy server and the store behind it."""
    cfg = settings(config, data_dir)
    try:
        listen = parse_listen(policy_listen or cfg.policy.listen, "policy")
    except ValueError as exc:
        typer.echo(f"mailwarden: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        asyncio.run(serve(cfg, listen))
    except OSError as exc:
        typer.echo(f"mailwarden: cannot listen: {exc}", err=True)
        raise typer.Exit(1) from None
