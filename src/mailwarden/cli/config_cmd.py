"""``mailwarden config``: check a configuration, print the reference."""

from __future__ import annotations

import dataclasses
import json

import typer

from mailwarden.cli.common import ConfigOpt, DataDirOpt, settings

app = typer.Typer(help="Configuration.", no_args_is_help=True)


@app.command("docs")
def docs(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Print the reference of every setting (Markdown); --config is checked if given."""
    from mailwarden.config import documentation

    if config is not None:
        settings(config, data_dir)
    typer.echo(documentation())


@app.command("show")
def show(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Check the configuration and print the settings in effect (JSON)."""
    from mailwarden.config import section_names

    cfg = settings(config, data_dir)
    out = {name: dataclasses.asdict(getattr(cfg, name)) for name in section_names()}
    out["data_dir"] = str(cfg.data_dir)  # type: ignore[assignment]
    typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
