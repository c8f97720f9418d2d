"""``mailwarden api token add|list|revoke``: one token per person for the administrators' API,
each with a role (viewer, responder, admin). The name is what the evidence records as ``by``
for everything done with the token. A new token is printed once; only its SHA-256 is kept.
"""

from __future__ import annotations

import getpass
import json
import time
import unicodedata
from typing import Annotated, Any

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

app = App(help=tr("The administrators' HTTP API.", "管理者向けの HTTP API。"))
token_app = App(help=tr("Per-person API tokens, each with a role.",
                        "担当者ごとの API トークン（それぞれに権限があります）。"))
app.add_typer(token_app, name="token")

NameArg = Annotated[str, typer.Argument(help=tr(
    "Whose token: the name recorded as `by` for every change made with it.",
    "トークンを使う人の名前。このトークンで行った変更にはすべて、この名前が `by` として"
    "記録されます。"))]
RoleOpt = Annotated[str, typer.Option("--role", help=tr(
    "viewer (reads only), responder (also contains and restores: respond, undo, release, "
    "checklist), admin (everything).",
    "viewer（閲覧のみ）、responder（閲覧に加えて封じ込めと復旧: respond、undo、release、"
    "checklist）、admin（すべての操作）。"))]


def _user() -> str:
    """Who runs the command (kept with the token), "" when the system does not say."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"mailwarden: {message}", err=True)
    return typer.Exit(code)


@token_app.command("add", help=tr(
    "Issue a token for NAME and print it, once: it cannot be shown again.",
    "NAME のトークンを発行して表示します。表示はこの一度だけで、あとから再表示はできません。"))
def add(name: NameArg, role: RoleOpt = "viewer", config: ConfigOpt = None,
        data_dir: DataDirOpt = None, as_json: JsonOpt = False,
        lang: LangOpt = CLI_LANG) -> None:
    from mailwarden import i18n
    from mailwarden.api.identity import TokenNameError, check_name, new_token, token_hash
    from mailwarden.api.roles import LABELS, Role
    from mailwarden.store.store import Store
    from mailwarden.store.tokens_store import TokenExists, TokenStore

    cfg = settings(config, data_dir, lang)
    try:
        person = check_name(name)
    except TokenNameError as exc:
        raise _fail(exc.text(lang), 2) from None
    try:
        chosen = Role.parse(role)
    except ValueError:
        raise _fail(i18n.render("cli.api_token.bad_role", lang, role=repr(role[:40]),
                                roles=", ".join(LABELS)), 2) from None
    token = new_token()
    try:
        TokenStore(Store(cfg.store_url)).add(name=person, role=chosen.label,
                                             token_hash=token_hash(token), now=time.time(),
                                             by=_user())
    except TokenExists as exc:
        raise _fail(i18n.render("cli.api_token.exists", lang, name=repr(exc.name))) from None
    if as_json:
        typer.echo(json.dumps({"name": person, "role": chosen.label, "token": token},
                              ensure_ascii=False))
        return
    typer.echo(token)  # alone on stdout: TOKEN=$(mailwarden api token add ...) works
    typer.echo("mailwarden: " + i18n.render("cli.api_token.added", lang, name=person,
                                            role=chosen.label), err=True)


def _line(row: dict[str, Any], lang: str) -> str:
    from mailwarden import i18n

    used = row["last_used_at"] or i18n.render("cli.api_token.never_used", lang)
    by = (i18n.render("cli.api_token.created_by", lang, by=row["created_by"])
          if row["created_by"] else "")
    text = i18n.render("cli.api_token.line", lang, name=row["name"], role=row["role"],
                       created=row["created_at"], by=by, used=used)
    if "revoked_at" in row:
        text += i18n.render("cli.api_token.revoked_mark", lang, at=row["revoked_at"])
    return text


@token_app.command("list", help=tr(
    "List the tokens: names, roles, created, last used. Never a token.",
    "トークンの一覧を表示します: 名前、権限、作成日時、最終使用日時。トークンそのものは"
    "表示しません。"))
def list_tokens(
    config: ConfigOpt = None, data_dir: DataDirOpt = None, as_json: JsonOpt = False,
    lang: LangOpt = CLI_LANG,
    include_revoked: Annotated[bool, typer.Option(
        "--all", help=tr("Also the revoked tokens.", "失効したトークンも表示します。"))] = False,
) -> None:
    from mailwarden import i18n
    from mailwarden.api.identity import SHARED_NAME, token_dict
    from mailwarden.store.store import Store
    from mailwarden.store.tokens_store import TokenStore

    cfg = settings(config, data_dir, lang)
    rows = [token_dict(r) for r in TokenStore(Store(cfg.store_url)).listed(include_revoked)]
    for row in rows:
        typer.echo(json.dumps(row, ensure_ascii=False) if as_json else _line(row, lang))
    if not as_json:
        typer.echo(i18n.render("cli.api_token.shared_note", lang, shared=repr(SHARED_NAME)))


@token_app.command("revoke", help=tr(
    "Revoke NAME's token: a running serve refuses it (401) from the next request on.",
    "NAME のトークンを失効させます。実行中の serve は次のリクエストからこのトークンを拒否"
    "します（401）。"))
def revoke(name: NameArg, config: ConfigOpt = None, data_dir: DataDirOpt = None,
           lang: LangOpt = CLI_LANG) -> None:
    from mailwarden import i18n
    from mailwarden.api.identity import SHARED_NAME
    from mailwarden.store.store import Store
    from mailwarden.store.tokens_store import TokenStore

    cfg = settings(config, data_dir, lang)
    person = unicodedata.normalize("NFC", name).strip()
    if person.casefold() == SHARED_NAME:
        raise _fail(i18n.render("cli.api_token.shared_revoke", lang, shared=repr(SHARED_NAME)))
    revoked = TokenStore(Store(cfg.store_url)).revoke(person, time.time(), _user())
    if revoked is None:
        raise _fail(i18n.render("cli.api_token.no_token", lang, name=repr(person)))
    typer.echo(i18n.render("cli.api_token.revoked", lang, name=revoked))
