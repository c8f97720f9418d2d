"""``mailwarden replay``: would Mailwarden have caught it?"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from mailwarden.cli.common import CLI_LANG, ConfigOpt, DataDirOpt, JsonOpt, LangOpt, settings, tr
from mailwarden.cli.logs import FilesArg, YearOpt, log_file_error

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
    lang: LangOpt = CLI_LANG,
) -> None:
    """The ``replay`` command (help: ``REPLAY_HELP``)."""
    from mailwarden.replay import Replay
    from mailwarden.sources.logs.files import LogFileError

    cfg = settings(config, data_dir, lang)
    replay = Replay(cfg, release_after=release_after * 3600)
    try:
        for record in replay.run(files, year):
            if as_json:
                typer.echo(json.dumps(record, ensure_ascii=False))
            elif record["type"] in ("incident", "summary"):
                typer.echo(_line(record, lang))
    except LogFileError as exc:
        raise log_file_error(exc, lang) from None


def _line(record: dict[str, Any], lang: str) -> str:
    """The text line of an incident or of the summary, in ``lang``."""
    from mailwarden import i18n

    if record["type"] == "incident":
        key, joint = ("ja", "。") if lang == "ja" else ("en", "; ")
        return i18n.render("cli.replay.incident", lang, opened_at=record["opened_at"],
                           id=record["id"], account=record["account"],
                           reasons=joint.join(r[key] for r in record["reasons"]))
    return i18n.render("cli.replay.summary", lang, messages=record["messages"],
                       held=record["held"], incidents=record["incidents"],
                       accounts=record["accounts"], start=record["from"], end=record["to"])
