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

from mailwarden.cli.common import ConfigOpt, DataDirOpt, JsonOpt, settings

app = typer.Typer(help="The administrators' HTTP API.", no_args_is_help=True)
token_app = typer.Typer(help="Per-person API tokens, each with a role.", no_args_is_help=True)
app.add_typer(token_app, name="token")

NameArg = Annotated[str, typer.Argument(
    help="Whose token: the name recorded as `by` for every change made with it.")]
RoleOpt = Annotated[str, typer.Option(
    "--role", help="viewer (reads only), responder (also contains and restores: respond, "
    "undo, release, checklist), admin (everything).")]


def _user() -> str:
    """Who runs the command (kept with the token), "" when the system does not say."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"mailwarden: {message}", err=True)
    return typer.Exit(code)


@token_app.command("add")
def add(name: NameArg, role: RoleOpt = "viewer", config: ConfigOpt = None,
        data_dir: DataDirOpt = None, as_json: JsonOpt = False) -> None:
    """Issue a token for NAME and print it, once: it cannot be shown again."""
    from mailwarden.api.identity import check_name, new_token, token_hash
    from mailwarden.api.roles import Role
    from mailwarden.store.store import Store
    from mailwarden.store.tokens_store import TokenExists, TokenStore

    cfg = settings(config, data_dir)
    try:
        person, chosen = check_name(name), Role.parse(role)
    except ValueError as exc:
        raise _fail(str(exc), 2) from None
    token = new_token()
    try:
        TokenStore(Store(cfg.store_url)).add(name=person, role=chosen.label,
                                             token_hash=token_hash(token), now=time.time(),
                                             by=_user())
    except TokenExists as exc:
        raise _fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps({"name": person, "role": chosen.label, "token": token},
                              ensure_ascii=False))
        return
    typer.echo(token)
    typer.echo(f"mailwarden: the token above is {person}'s ({chosen.label}); it is shown only "
               "now, Mailwarden keeps only its SHA-256. Send it as "
               "'Authorization: Bearer TOKEN'.", err=True)


def _line(row: dict[str, Any]) -> str:
    used = row["last_used_at"] or "never used"
    text = (f"{row['name']}  {row['role']}  created {row['created_at']}"
            f"{' by ' + row['created_by'] if row['created_by'] else ''}  last used: {used}")
    if "revoked_at" in row:
        text += f"  REVOKED {row['revoked_at']}"
    return text


@token_app.command("list")
def list_tokens(
    config: ConfigOpt = None, data_dir: DataDirOpt = None, as_json: JsonOpt = False,
    include_revoked: Annotated[bool, typer.Option(
        "--all", help="Also the revoked tokens.")] = False,
) -> None:
    """List the tokens: names, roles, created, last used. Never a token."""
    from mailwarden.api.identity import SHARED_NAME, token_dict
    from mailwarden.store.store import Store
    from mailwarden.store.tokens_store import TokenStore

    cfg = settings(config, data_dir)
    rows = [token_dict(r) for r in TokenStore(Store(cfg.store_url)).listed(include_revoked)]
    for row in rows:
        typer.echo(json.dumps(row, ensure_ascii=False) if as_json else _line(row))
    if not as_json:
        typer.echo(f"(and the shared token, [api] token or DATA_DIR/api.token: acts as "
                   f"{SHARED_NAME!r}, role admin)")


@token_app.command("revoke")
def revoke(name: NameArg, config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Revoke NAME's token: a running serve refuses it (401) from the next request on."""
    from mailwarden.api.identity import SHARED_NAME
    from mailwarden.store.store import Store
    from mailwarden.store.tokens_store import TokenStore

    cfg = settings(config, data_dir)
    person = unicodedata.normalize("NFC", name).strip()
    if person.casefold() == SHARED_NAME:
        raise _fail(f"{SHARED_NAME!r} is the shared token: change [api] token, or delete "
                    "DATA_DIR/api.token, and restart serve")
    revoked = TokenStore(Store(cfg.store_url)).revoke(person, time.time(), _user())
    if revoked is None:
        raise _fail(f"{person!r} has no token to revoke")
    typer.echo(f"revoked the token of {revoked}")
