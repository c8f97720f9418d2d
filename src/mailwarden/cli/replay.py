"""``mailwarden replay``: would Mailwarden have caught it?"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from mailwarden.cli.common import ConfigOpt, DataDirOpt, JsonOpt, settings, tr
from mailwarden.cli.logs import FilesArg, YearOpt

REPLAY_HELP = tr(
    "Run the engine over old Postfix logs in log time and report what it would have held.",
    "過去の Postfix のログを、ログの時刻どおりに判定エンジンにかけ、保留していたはずのメールを"
    "報告します。")


def replay_command(
    files: FilesArg, config: ConfigOpt = None, data_dir: DataDirOpt = None,
    year: YearOpt = None, as_json: JsonOpt = False,
    release_after: Annotated[float, typer.Option(help=tr(
        "Hours after which an administrator would have released a quarantined account "
        "(0: never).",
        "隔離したアカウントを管理者が解除したと見なすまでの時間数（0: 解除しない）。"))
    ] = 0.0,
) -> None:
    """The ``replay`` command (help: ``REPLAY_HELP``)."""
    from mailwarden.replay import Replay
    from mailwarden.sources.logs.files import LogFileError

    cfg = settings(config, data_dir)
    replay = Replay(cfg, release_after=release_after * 3600)
    try:
        for record in replay.run(files, year):
            if as_json:
                typer.echo(json.dumps(record, ensure_ascii=False))
            elif record["type"] == "incident":
                typer.echo(f"{record['opened_at']}  incident {record['id']}  "
                           f"{record['account']}: "
                           + "; ".join(r["en"] for r in record["reasons"]))
            elif record["type"] == "summary":
                typer.echo(f"{record['messages']} messages, {record['held']} held, "
                           f"{record['incidents']} incidents, {record['accounts']} accounts "
                           f"({record['from']} .. {record['to']})")
    except LogFileError as exc:
        typer.echo(f"mailwarden: {exc}", err=True)
        raise typer.Exit(1) from None
