"""``mailwarden logs``: learn from mail logs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from mailwarden.cli.common import ConfigOpt, DataDirOpt, JsonOpt, settings
from mailwarden.replay import import_logs
from mailwarden.sources.logs.files import LogFileError

app = typer.Typer(help="Mail logs: learn baselines from history.", no_args_is_help=True)

FilesArg = Annotated[list[Path], typer.Argument(
    help="Postfix log files (plain or gzip, rotated ones in any order).")]
YearOpt = Annotated[int | None, typer.Option(
    help="Year of the oldest line for timestamps without one (default: from the files).")]


@app.command("import")
def import_command(files: FilesArg, config: ConfigOpt = None, data_dir: DataDirOpt = None,
                   year: YearOpt = None, as_json: JsonOpt = False) -> None:
    """Learn each account's baseline from Postfix logs, without deciding anything."""
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
