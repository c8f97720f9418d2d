"""Options every command accepts, and loading the configuration from them.

Start-up: every ``mailwarden`` command, even ``--help``, imports ``cli.main`` and so every
command module. These modules import only the standard library, typer and ``cli.common`` at
module level; a command imports what it needs (the store, DNS, the analyser...) when it runs.
``tests/unit/test_cli_startup.py`` checks it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from mailwarden.config import Config

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", envvar="MAILWARDEN_CONFIG",
                 help="TOML configuration file.", show_default=False),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", envvar="MAILWARDEN_DATA_DIR",
                 help="Data folder (default ./mailwarden-data).", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON output.")]
LangOpt = Annotated[str, typer.Option("--lang", help="Language of sentences: ja or en.")]


def settings(config: Path | None, data_dir: Path | None) -> Config:
    """The configuration, or a clear error and exit code 2."""
    from mailwarden.config import ConfigError, load

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    try:
        return load(config, data_dir)
    except ConfigError as exc:
        typer.echo(f"mailwarden: configuration error: {exc}", err=True)
        raise typer.Exit(2) from None
