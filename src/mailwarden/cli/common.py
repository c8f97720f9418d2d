"""Options every command accepts, the language of the CLI, and loading the configuration.

Start-up: every ``mailwarden`` command, even ``--help``, imports ``cli.main`` and so every
command module. These modules import only the standard library, typer and ``cli.common`` at
module level; a command imports what it needs (the store, DNS, the analyser...) when it runs.
``tests/unit/test_cli_startup.py`` checks it.

Language: ``MAILWARDEN_LANG`` (ja or en) if set, else the first of ``LC_ALL``, ``LC_MESSAGES``
and ``LANG`` that is set (a Japanese locale, ``ja_JP.UTF-8``..., gives ja), else en. It chooses
the language of every help text, once at import (``tr``), and the default of every ``--lang``
option, read again when the command runs; an explicit ``--lang`` wins. JSON output never
depends on it. ``tests/unit/test_cli_help_lang.py`` checks it.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

if TYPE_CHECKING:
    from typer._click.core import Context, Parameter
    from typer._click.formatting import HelpFormatter
    from typer.models import CommandFunctionType

    from mailwarden.config import Config

LANGS = ("ja", "en")
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")  # POSIX precedence


def language(environ: Mapping[str, str]) -> tuple[str, str]:
    """The CLI's language in ``environ``, and a warning ("" when none) for a bad
    ``MAILWARDEN_LANG``, which gives en."""
    wanted = environ.get("MAILWARDEN_LANG", "").strip()
    if wanted:
        if wanted.lower() in LANGS:
            return wanted.lower(), ""
        return "en", (f"mailwarden: MAILWARDEN_LANG={wanted[:40]!r} is neither ja nor en; "
                      "using en")
    for name in LOCALE_VARIABLES:
        value = environ.get(name, "")
        if value:  # the first one set decides, as for every POSIX program
            base = value.partition(".")[0].partition("@")[0].partition("_")[0]
            return ("ja" if base.lower() == "ja" else "en"), ""
    return "en", ""


def cli_lang() -> str:
    """The CLI's language as the environment says now."""
    return language(os.environ)[0]


CLI_LANG, _warning = language(os.environ)
if _warning:
    print(_warning, file=sys.stderr)


def tr(en: str, ja: str) -> str:
    """The text in the CLI's language, chosen at import (help texts)."""
    return ja if CLI_LANG == "ja" else en


# Typer's own texts (the --help option, shell completion), in Japanese.
TYPER_TEXTS_JA = {
    "Show this message and exit.": "このヘルプを表示して終了します。",
    "Install completion for the current shell.": "使用中のシェルに補完機能をインストールします。",
    "Show completion for the current shell, to copy it or customize the installation.":
        "使用中のシェル用の補完スクリプトを表示します（コピーやインストール方法の調整用）。",
}


def _translated(params: list[Parameter]) -> list[Parameter]:
    if CLI_LANG == "ja":
        for param in params:
            text = getattr(param, "help", None)
            if isinstance(text, str) and text in TYPER_TEXTS_JA:
                param.help = TYPER_TEXTS_JA[text]  # type: ignore[attr-defined]
    return params


@contextmanager
def _help_wrapping() -> Iterator[None]:
    """Japanese help wrapped as Japanese is (``cli.help_ja``), English help as typer does."""
    if CLI_LANG != "ja":
        yield
        return
    from mailwarden.cli.help_ja import japanese_wrapping

    with japanese_wrapping():
        yield


class Group(TyperGroup):
    """A command group whose help, ``--help`` and completion options speak the CLI's
    language."""

    def get_params(self, ctx: Context) -> list[Parameter]:
        return _translated(super().get_params(ctx))

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        with _help_wrapping():
            super().format_help(ctx, formatter)


class Command(TyperCommand):
    """A command whose help and ``--help`` option speak the CLI's language."""

    def get_params(self, ctx: Context) -> list[Parameter]:
        return _translated(super().get_params(ctx))

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        with _help_wrapping():
            super().format_help(ctx, formatter)


class App(typer.Typer):
    """``typer.Typer`` for Mailwarden: help required, no arguments shows it, typer's own
    option texts in the CLI's language."""

    def __init__(self, *, help: str, **settings: Any) -> None:
        super().__init__(help=help, cls=Group, no_args_is_help=True, **settings)

    def command(self, name: str | None = None, *, cls: type[TyperCommand] | None = None,
                **settings: Any) -> Callable[[CommandFunctionType], CommandFunctionType]:
        return super().command(name, cls=cls or Command, **settings)


def _lang_default(ctx: typer.Context, param: typer.CallbackParam, value: str) -> str:
    """``--lang`` as given (ja or en, else a usage error); without it, the CLI's language as the
    environment says when the command runs (the same as at import, except in tests that change
    the environment)."""
    source = ctx.get_parameter_source(param.name or "lang")
    if source is not None and source.name == "DEFAULT":
        return cli_lang()
    if value not in LANGS:  # told in the environment's language; exit 2 as a usage error
        from mailwarden import i18n

        typer.echo("mailwarden: " + i18n.render("cli.bad_lang", cli_lang(), value=repr(value)),
                   err=True)
        raise typer.Exit(2)
    return value


ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", envvar="MAILWARDEN_CONFIG",
                 help=tr("TOML configuration file.", "設定ファイル（TOML）。"),
                 show_default=False),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", envvar="MAILWARDEN_DATA_DIR",
                 help=tr("Data folder (default ./mailwarden-data).",
                         "データフォルダ（既定: ./mailwarden-data）。"),
                 show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help=tr("JSON output.", "JSON で出力します。"))]
LANG_HELP = tr("Language of sentences: ja or en.", "表示する文の言語: ja または en。")
LangOpt = Annotated[str, typer.Option("--lang", help=LANG_HELP, callback=_lang_default)]

CONFIG_ERROR = {"en": "configuration error", "ja": "設定エラー"}


def settings(config: Path | None, data_dir: Path | None, lang: str | None = None) -> Config:
    """The configuration, or a clear error (in ``lang``, by default the CLI's language) and
    exit code 2."""
    from mailwarden.config import ConfigError, load

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    try:
        return load(config, data_dir)
    except ConfigError as exc:
        chosen = "ja" if (lang or cli_lang()) == "ja" else "en"
        typer.echo(f"mailwarden: {CONFIG_ERROR[chosen]}: {exc.text(chosen)}", err=True)
        raise typer.Exit(2) from None
