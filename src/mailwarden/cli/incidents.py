"""``mailwarden incidents``: list and show incidents, their checklist, their evidence."""

from __future__ import annotations

import getpass
import json
from typing import Annotated

import typer

from mailwarden.cli.common import (
    CLI_LANG,
    App,
    ConfigOpt,
    DataDirOpt,
    JsonOpt,
    LangOpt,
    settings,
    tr,
)
from mailwarden.cli.evidence import EXPORT_HELP, export_command
from mailwarden.cli.response import (
    ACTIONS_HELP,
    DELETE_HELD_HELP,
    PLAN_HELP,
    RESPOND_HELP,
    UNDO_HELP,
    IncidentArg,
    actions_command,
    delete_held_command,
    plan_command,
    respond_command,
    undo_command,
)

app = App(help=tr("Incidents opened by the guards.",
                  "監視機能が検知したインシデント。"))
app.command("export", help=EXPORT_HELP)(export_command)
app.command("plan", help=PLAN_HELP)(plan_command)
app.command("respond", help=RESPOND_HELP)(respond_command)
app.command("actions", help=ACTIONS_HELP)(actions_command)
app.command("undo", help=UNDO_HELP)(undo_command)
app.command("delete-held", help=DELETE_HELD_HELP)(delete_held_command)


@app.command("list", help=tr("List incidents, newest first.",
                             "インシデントを新しい順に一覧表示します。"))
def list_incidents(
    config: ConfigOpt = None, data_dir: DataDirOpt = None, as_json: JsonOpt = False,
    lang: LangOpt = CLI_LANG,
    status: Annotated[str | None, typer.Option(help=tr(
        "Only this status (open, closed).", "この状態のものだけ（open、closed）。"))] = None,
    limit: Annotated[int, typer.Option(help=tr(
        "At most this many, newest first.", "最大件数（新しいものから）。"))] = 100,
) -> None:
    from mailwarden import i18n
    from mailwarden.store.store import Store

    cfg = settings(config, data_dir, lang)
    rows = Store(cfg.store_url).incidents(limit, status)
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    if not rows:
        typer.echo(i18n.render("cli.incidents.none", lang))
        return
    for row in rows:
        title = row["title_ja"] if lang == "ja" else row["title_en"]
        typer.echo(f"{row['id']}  {row['opened_at']}  {row['status']:<6} "
                   f"{row['severity']:<6} {row['account']}  {title}")


@app.command("show", help=tr("Show one incident: reasons, evidence and timeline.",
                             "インシデントを1件表示します: 理由、証拠、タイムライン。"))
def show_incident(
    incident_id: IncidentArg,
    config: ConfigOpt = None, data_dir: DataDirOpt = None, as_json: JsonOpt = False,
    lang: LangOpt = CLI_LANG,
) -> None:
    from mailwarden import i18n
    from mailwarden.store.store import Store
    from mailwarden.timefmt import iso

    cfg = settings(config, data_dir, lang)
    row = Store(cfg.store_url).incident(incident_id)
    if row is None:
        typer.echo("mailwarden: " + i18n.render("cli.incidents.unknown", lang,
                                                incident=repr(incident_id)), err=True)
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps(row, ensure_ascii=False))
        return
    key = "ja" if lang == "ja" else "en"
    typer.echo(i18n.render("cli.incidents.heading", lang, id=row["id"], status=row["status"],
                           severity=row["severity"], score=row["score"]))
    typer.echo(row[f"title_{key}"])
    typer.echo(i18n.render("cli.incidents.account", lang, account=row["account"],
                           opened=row["opened_at"]))
    typer.echo(i18n.render("cli.incidents.reasons", lang))
    for reason in row["reasons"]:
        typer.echo(f"  [{reason['signal']} +{reason['weight']}] {reason[key]}")
    typer.echo(i18n.render("cli.incidents.evidence", lang))
    typer.echo("  " + json.dumps(row["evidence"], ensure_ascii=False))
    typer.echo(i18n.render("cli.incidents.timeline", lang))
    for event in row["timeline"]:
        rest = {k: v for k, v in event.items() if k not in ("time", "kind")}
        details = json.dumps(rest, ensure_ascii=False)
        typer.echo(f"  {iso(event['time'])}  {event['kind']}  {details}")


@app.command("checklist", help=tr(
    "Show the incident's response checklist, or change one step with --set.",
    "インシデントの対応チェックリストを表示します。--set で項目を1つ更新します。"))
def checklist_command(
    incident_id: IncidentArg,
    config: ConfigOpt = None, data_dir: DataDirOpt = None, as_json: JsonOpt = False,
    lang: LangOpt = CLI_LANG,
    assignment: Annotated[str | None, typer.Option("--set", help=tr(
        "Change one step: STEP=STATE (todo, done, skipped, n/a).",
        "項目を1つ更新します: STEP=STATE（todo、done、skipped、n/a）。"),
        show_default=False)] = None,
    by: Annotated[str | None, typer.Option("--by", help=tr(
        "Who made the change (default: the OS user).",
        "更新した人（既定: OS のユーザー名）。"), show_default=False)] = None,
    note: Annotated[str, typer.Option(help=tr(
        "A note kept with the step and in the timeline.",
        "項目とタイムラインに残すメモ。"))] = "",
) -> None:
    from mailwarden.response.checklist import (
        Checklist,
        ChecklistError,
        parse_assignment,
        render,
    )
    from mailwarden.store.store import Store

    cfg = settings(config, data_dir, lang)
    checklist = Checklist(Store(cfg.store_url))
    try:
        if assignment is not None:
            step, state = parse_assignment(assignment)
            checklist.set(incident_id, step, state, by or getpass.getuser(), note)
        entries = checklist.entries(incident_id)
    except ChecklistError as exc:
        typer.echo(f"mailwarden: {exc.text(lang)}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps({"incident": incident_id, "steps": [e.to_dict() for e in entries]},
                              ensure_ascii=False))
        return
    for line in render(incident_id, entries, "ja" if lang == "ja" else "en"):
        typer.echo(line)
