"""``mailwarden serve``: run the services."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mailwarden.cli.common import CLI_LANG, ConfigOpt, DataDirOpt, LangOpt, settings, tr

if TYPE_CHECKING:
    import asyncio


def loop_factory(name: str) -> tuple[Callable[[], asyncio.AbstractEventLoop] | None, str]:
    """The event loop ``serve`` runs on: uvloop (libuv; its sockets and framing are C) unless
    asked for the standard one or it cannot be imported; returns (factory, name used)."""
    if name == "asyncio":
        return None, "asyncio"
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        if name == "uvloop":
            raise
        return None, "asyncio"
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory, "uvloop"


SERVE_HELP = tr(
    "Run Mailwarden: the Postfix policy server, the Dovecot auth policy server, the "
    "administrators' API, the milter, the store, and the log watcher.",
    "Mailwarden を起動します: Postfix のポリシーサーバー、Dovecot の認証ポリシーサーバー、"
    "管理者向け API、ミルター、ストア、ログ監視。")


def _listen_help(en_what: str, ja_what: str, section: str, default: str) -> str:
    """The help of a ``--...-listen`` option (``\\[`` keeps the section from Rich markup)."""
    return tr(f"{en_what}: HOST:PORT or off (default: \\[{section}] listen, {default}).",
              f"{ja_what}: HOST:PORT または off（既定: 設定ファイルの \\[{section}] listen、"
              f"{default}）。")


def serve_command(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    policy_listen: Annotated[
        str | None,
        typer.Option("--policy-listen", help=_listen_help(
            "Postfix policy server", "Postfix のポリシーサーバー", "policy", "127.0.0.1:10040")),
    ] = None,
    auth_policy_listen: Annotated[
        str | None,
        typer.Option("--auth-policy-listen", help=_listen_help(
            "Dovecot auth policy server", "Dovecot の認証ポリシーサーバー", "login",
            "127.0.0.1:10041")),
    ] = None,
    api_listen: Annotated[
        str | None,
        typer.Option("--api-listen", help=_listen_help(
            "Administrators' HTTP API", "管理者向け HTTP API", "api", "127.0.0.1:10042")),
    ] = None,
    milter_listen: Annotated[
        str | None,
        typer.Option("--milter-listen", help=_listen_help(
            "Milter for Postfix (inbound analyser)", "Postfix 用ミルター（受信メール分析）",
            "milter", "127.0.0.1:10043")),
    ] = None,
    follow: Annotated[
        list[Path] | None,
        typer.Option("--follow", help=tr(
            "Follow this log file (repeatable); survives rotation and restarts from its saved "
            "position.",
            "このログファイルを追跡します（複数指定可）。ローテートにも追従し、再起動後は保存した"
            "位置から読み続けます。")),
    ] = None,
    journald: Annotated[bool, typer.Option("--journald", help=tr(
        "Follow the systemd journal.", "systemd のジャーナルを追跡します。"))] = False,
    journald_unit: Annotated[
        list[str] | None,
        typer.Option("--journald-unit", help=tr(
            "Only these units (repeatable), e.g. postfix@-.",
            "これらのユニットだけ（複数指定可）。例: postfix@-。")),
    ] = None,
    event_loop: Annotated[
        str,
        typer.Option("--event-loop", help=tr(
            "auto (uvloop when installed, else asyncio's own), uvloop or asyncio.",
            "auto（uvloop がインストールされていれば uvloop、なければ asyncio 標準のもの）、"
            "uvloop または asyncio。")),
    ] = "auto",
    lang: LangOpt = CLI_LANG,
) -> None:
    """The ``serve`` command (help: ``SERVE_HELP``). Its start-up and usage errors follow
    ``--lang``; what it logs once running (``logging``) stays English, to be grep-able."""
    import asyncio

    from mailwarden import i18n
    from mailwarden.listen import ListenError, parse_listen

    cfg = settings(config, data_dir, lang)
    try:
        listen = parse_listen(policy_listen or cfg.policy.listen, "policy")
        auth = parse_listen(auth_policy_listen or cfg.login.listen, "auth-policy")
        api = parse_listen(api_listen or cfg.api.listen, "api")
        milter = parse_listen(milter_listen or cfg.milter.listen, "milter")
    except ListenError as exc:
        raise _fail(exc.text(lang), 2) from None
    if event_loop not in ("auto", "uvloop", "asyncio"):
        raise _fail(i18n.render("cli.serve.bad_event_loop", lang, value=repr(event_loop)), 2)
    try:
        factory, loop_name = loop_factory(event_loop)
    except ImportError:
        raise _fail(i18n.render("cli.serve.no_uvloop", lang), 2) from None
    from mailwarden.service import serve

    typer.echo("mailwarden: " + i18n.render("cli.serve.event_loop", lang, name=loop_name))
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(serve(cfg, listen, auth, follow=follow or [], journald=journald,
                             journald_units=journald_unit or [], api_listen=api,
                             milter_listen=milter))
    except OSError as exc:
        raise _fail(i18n.render("cli.serve.cannot_listen", lang, error=exc), 1) from None


def _fail(text: str, code: int) -> typer.Exit:
    typer.echo(f"mailwarden: {text}", err=True)
    return typer.Exit(code)
