"""``mailwarden config``: check a configuration, print the reference."""

from __future__ import annotations

import dataclasses
import json

import typer

from mailwarden.cli.common import App, ConfigOpt, DataDirOpt, settings, tr

app = App(help=tr("Configuration.", "設定。"))


@app.command("docs", help=tr(
    "Print the reference of every setting (Markdown); --config is checked if given.",
    "すべての設定項目の説明を表示します（Markdown、英語）。--config を指定すると、その設定"
    "ファイルも検査します。"))
def docs(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    from mailwarden.config import documentation

    if config is not None:
        settings(config, data_dir)
    typer.echo(documentation())


@app.command("show", help=tr(
    "Check the configuration and print the settings in effect (JSON).",
    "設定を検査し、実際に使われる設定値を表示します（JSON）。"))
def show(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    from mailwarden.config import section_names

    cfg = settings(config, data_dir)
    out = {name: dataclasses.asdict(getattr(cfg, name)) for name in section_names()}
    out["data_dir"] = str(cfg.data_dir)  # type: ignore[assignment]
    typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
