"""``mailwarden incidents plan|respond|actions|undo|delete-held``: the containment playbook."""

from __future__ import annotations

import getpass
import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mailwarden.cli.common import (
    CLI_LANG,
    ConfigOpt,
    DataDirOpt,
    JsonOpt,
    LangOpt,
    settings,
    tr,
)

if TYPE_CHECKING:
    from mailwarden.config import Config
    from mailwarden.response.checklist import ChecklistError
    from mailwarden.response.playbook import UnknownStep
    from mailwarden.response.runner import Outcome, ResponseError, ResponseRunner

IncidentArg = Annotated[str, typer.Argument(help=tr(
    "The incident id (INC-...).", "インシデント ID（INC-...）。"))]
ByOpt = Annotated[str | None, typer.Option("--by", help=tr(
    "Who acts (recorded; default: the OS user).",
    "実行する人（記録されます。既定: OS のユーザー名）。"), show_default=False)]
ReasonOpt = Annotated[str, typer.Option("--reason", help=tr(
    "Why (recorded with each action).", "理由（各操作とともに記録されます）。"))]


def _runner(cfg: Config) -> ResponseRunner:
    from mailwarden.response.runner import ResponseRunner
    from mailwarden.store.store import Store

    return ResponseRunner(cfg, Store(cfg.store_url))


def _fail(exc: ChecklistError | UnknownStep | ResponseError, lang: str) -> typer.Exit:
    typer.echo(f"mailwarden: {exc.text(lang)}", err=True)
    return typer.Exit(1)


def _outcome_dict(outcome: Outcome, cfg: Config) -> dict[str, Any]:
    op = outcome.operation
    return {"action": outcome.action_id, "step": op.step, "target": op.target,
            "operation": op.operation, "status": outcome.status, "changed": outcome.changed,
            "error": outcome.error, "result": outcome.result,
            "en": op.describe(cfg, "en"), "ja": op.describe(cfg, "ja")}


def _print(outcomes: list[Outcome], cfg: Config, lang: str, as_json: bool) -> None:
    from mailwarden import i18n

    for outcome in outcomes:
        if as_json:
            typer.echo(json.dumps(_outcome_dict(outcome, cfg), ensure_ascii=False))
        else:
            number = f"#{outcome.action_id}" if outcome.action_id is not None else "-"
            changed = i18n.render("cli.response.changed", lang) if outcome.changed else ""
            typer.echo(f"{number:>6} {outcome.status:<8} [{outcome.operation.step}] "
                       f"{outcome.operation.describe(cfg, lang)}{changed}")
            if outcome.error and outcome.status == "failed":
                typer.echo(f"         {outcome.error}")
        if outcome.secret is not None:  # shown once, on the terminal only; never recorded
            typer.echo(i18n.render("playbook.secret", lang, account=outcome.operation.account,
                                   secret=outcome.secret), err=True)


PLAN_HELP = tr(
    "Show the playbook of an incident: what runs by itself and what waits for a person.",
    "インシデントの対応手順を表示します: 自動で実行するものと、担当者の判断を待つもの。")


def plan_command(incident_id: IncidentArg, config: ConfigOpt = None,
                 data_dir: DataDirOpt = None, as_json: JsonOpt = False,
                 lang: LangOpt = CLI_LANG) -> None:
    """``incidents plan`` (help: ``PLAN_HELP``)."""
    from mailwarden.response.checklist import ChecklistError

    cfg = settings(config, data_dir, lang)
    try:
        found = _runner(cfg).plan(incident_id)
    except ChecklistError as exc:
        raise _fail(exc, lang) from None
    if as_json:
        typer.echo(json.dumps({
            "incident": found.incident_id, "account": found.account,
            "severity": found.severity, "mode": found.mode,
            "automatic": [{"step": o.step, "target": o.target, "operation": o.operation,
                           "unavailable": o.unavailable} for o in found.automatic],
            "manual": [{"step": o.step, "target": o.target, "operation": o.operation,
                        "unavailable": o.unavailable} for o in found.manual]},
            ensure_ascii=False))
        return
    for line in found.lines(cfg, lang):
        typer.echo(line)


RESPOND_HELP = tr(
    "Run containment steps for an incident's account (each recorded, each with its undo).",
    "インシデントのアカウントに封じ込めの手順を実行します（それぞれ記録され、取り消しも"
    "できます）。")


def respond_command(
    incident_id: IncidentArg,
    step: Annotated[list[str] | None, typer.Option("--step", help=tr(
        "A step to run (quarantine, lock, kick, hold_queue, sieve_deactivate, "
        "reset_password); repeat for several. Default: the playbook's automatic steps.",
        "実行する手順（quarantine、lock、kick、hold_queue、sieve_deactivate、"
        "reset_password）。複数指定可。既定: 対応手順で自動実行とされている手順。"),
        show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help=tr(
        "Print what would be done; change nothing, record nothing.",
        "実行する内容を表示するだけで、何も変更せず、何も記録しません。"))] = False,
    by: ByOpt = None, reason: ReasonOpt = "", config: ConfigOpt = None,
    data_dir: DataDirOpt = None, as_json: JsonOpt = False, lang: LangOpt = CLI_LANG,
) -> None:
    """``incidents respond`` (help: ``RESPOND_HELP``)."""
    from mailwarden import i18n
    from mailwarden.response.checklist import ChecklistError
    from mailwarden.response.playbook import UnknownStep

    cfg = settings(config, data_dir, lang)
    runner = _runner(cfg)
    try:
        chosen = list(step) if step else cfg.playbook.automatic(
            str(runner.incident(incident_id)["severity"]))
        outcomes = runner.run(incident_id, chosen, actor=by or getpass.getuser(),
                              reason=reason or "administrator", dry_run=dry_run)
    except (ChecklistError, UnknownStep) as exc:
        raise _fail(exc, lang) from None
    _print(outcomes, cfg, lang, as_json)
    if dry_run and not as_json:
        typer.echo(i18n.render("playbook.dry_run", lang))
    if any(o.status == "failed" for o in outcomes):
        raise typer.Exit(1)


ACTIONS_HELP = tr(
    "List the containment actions recorded for an incident: who, when, why, result.",
    "インシデントについて記録された封じ込めの操作を一覧表示します: 誰が、いつ、なぜ、結果。")


def actions_command(incident_id: IncidentArg, config: ConfigOpt = None,
                    data_dir: DataDirOpt = None, as_json: JsonOpt = False,
                    lang: LangOpt = CLI_LANG) -> None:
    """``incidents actions`` (help: ``ACTIONS_HELP``)."""
    from mailwarden import i18n
    from mailwarden.response.checklist import ChecklistError

    cfg = settings(config, data_dir, lang)
    runner = _runner(cfg)
    try:
        runner.incident(incident_id)
    except ChecklistError as exc:
        raise _fail(exc, lang) from None
    for row in runner.actions.for_incident(incident_id):
        if as_json:
            typer.echo(json.dumps(row, ensure_ascii=False, default=str))
            continue
        typer.echo(_action_line(row, lang))
        if row["reason"]:
            typer.echo("      " + i18n.render("cli.response.why", lang, reason=row["reason"]))
        if row["error"]:
            typer.echo(f"      {row['error']}")


def _action_line(row: dict[str, Any], lang: str) -> str:
    """One recorded action of ``incidents actions``, in ``lang``."""
    from mailwarden import i18n
    from mailwarden.timefmt import iso

    undo = (i18n.render("cli.response.undone_by", lang, id=row["undone_by"])
            if row["undone_by"] else
            i18n.render("cli.response.undo", lang, operation=row["undo"]["operation"])
            if row["undo"] else
            i18n.render("cli.response.no_undo", lang, reason=row["no_undo_reason"])
            if row["status"] == "done" else "")
    undoes = (i18n.render("cli.response.undoes", lang, id=row["undo_of"])
              if row["undo_of"] else "")
    changed = i18n.render("cli.response.changed_true" if row["changed"]
                          else "cli.response.changed_false", lang)
    return i18n.render("cli.response.action", lang, id=f"{row['id']:<4}",
                       started=iso(row["started_at"]), status=f"{row['status']:<8}",
                       target=row["target"], operation=row["operation"], undoes=undoes,
                       actor=row["actor"], changed=changed, undo=undo)


UNDO_HELP = tr(
    "Undo containment actions of an incident (restore service).",
    "インシデントの封じ込めの操作を取り消します（サービスを復旧します）。")


def undo_command(
    incident_id: IncidentArg,
    action: Annotated[int | None, typer.Option("--action", help=tr(
        "Undo this action only (default: every action that can be undone, newest first).",
        "この操作だけを取り消します（既定: 取り消せるすべての操作を新しいものから）。"),
        show_default=False)] = None,
    by: ByOpt = None, reason: ReasonOpt = "", config: ConfigOpt = None,
    data_dir: DataDirOpt = None, as_json: JsonOpt = False, lang: LangOpt = CLI_LANG,
) -> None:
    """``incidents undo`` (help: ``UNDO_HELP``)."""
    from mailwarden.response.checklist import ChecklistError
    from mailwarden.response.runner import ResponseError

    cfg = settings(config, data_dir, lang)
    runner = _runner(cfg)
    actor, why = by or getpass.getuser(), reason or "administrator: undo"
    try:
        outcomes = ([runner.undo(incident_id, action, actor=actor, reason=why)]
                    if action is not None else runner.undo_all(incident_id, actor=actor,
                                                               reason=why))
    except (ChecklistError, ResponseError) as exc:
        raise _fail(exc, lang) from None
    _print(outcomes, cfg, lang, as_json)
    if any(o.status == "failed" for o in outcomes):
        raise typer.Exit(1)


DELETE_HELD_HELP = tr(
    "Delete the account's held mail, after copying each message into the evidence folder.",
    "アカウントの保留メールを、1通ずつ証拠フォルダに写してから削除します。")


def delete_held_command(
    incident_id: IncidentArg,
    yes: Annotated[bool, typer.Option("--yes", help=tr(
        "Really delete (the messages are copied into the evidence first).",
        "本当に削除します（メールは先に証拠フォルダへ写します）。"))] = False,
    queue_id: Annotated[list[str] | None, typer.Option("--queue-id", help=tr(
        "Only this held message; repeat for several.",
        "この保留メールだけ（キュー ID）。複数指定可。"), show_default=False)] = None,
    by: ByOpt = None, reason: ReasonOpt = "", config: ConfigOpt = None,
    data_dir: DataDirOpt = None, as_json: JsonOpt = False, lang: LangOpt = CLI_LANG,
) -> None:
    """``incidents delete-held`` (help: ``DELETE_HELD_HELP``)."""
    from mailwarden import i18n
    from mailwarden.response.checklist import ChecklistError

    cfg = settings(config, data_dir, lang)
    if not yes:
        typer.echo("mailwarden: " + i18n.render("cli.response.needs_yes", lang), err=True)
        raise typer.Exit(2)
    try:
        outcome = _runner(cfg).delete_held(incident_id, actor=by or getpass.getuser(),
                                           reason=reason or "administrator: delete held mail",
                                           queue_ids=list(queue_id) if queue_id else None)
    except ChecklistError as exc:
        raise _fail(exc, lang) from None
    if as_json:
        typer.echo(json.dumps(_outcome_dict(outcome, cfg) | {"en": "", "ja": ""},
                              ensure_ascii=False))
    else:
        typer.echo(i18n.render("cli.response.deleted", lang, id=outcome.action_id,
                               status=outcome.status,
                               count=len(outcome.result.get("queue_ids", [])),
                               folder=_runner(cfg).evidence_folder(incident_id) / "deleted"))
        if outcome.error:
            typer.echo(f"  {outcome.error}")
    if outcome.status == "failed":
        raise typer.Exit(1)
