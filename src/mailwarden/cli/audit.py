"""``mailwarden audit``: the posture of mail domains, with the records that fix it.

Exit code 0 when the domains were audited, whatever was found; 2 on a usage error.
"""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mailwarden.cli.common import CLI_LANG, JsonOpt, LangOpt, tr

if TYPE_CHECKING:
    from mailwarden.audit.dns import DnsClient
    from mailwarden.audit.model import DomainReport

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_CONCURRENCY = 1000
# mailwarden.audit.runner.DEFAULT_CONCURRENCY, repeated so that building the command (every
# ``mailwarden`` start) does not import the audit; a test checks that the two agree.
DEFAULT_CONCURRENCY = 20


def usage_error(key: str, lang: str, **fields: object) -> typer.Exit:
    """Print the usage error ``key`` of ``mailwarden.i18n`` in ``lang``; exit code 2."""
    from mailwarden import i18n

    typer.echo("mailwarden audit: " + i18n.render(key, lang, **fields), err=True)
    return typer.Exit(2)


def read_domains(path: Path, lang: str) -> list[str]:
    """One domain per line; blank lines and ``#`` comments skipped; ``-`` is standard input."""
    try:
        if str(path) == "-":
            text = sys.stdin.read(MAX_FILE_BYTES)
        else:
            with path.open("rb") as handle:
                text = handle.read(MAX_FILE_BYTES).decode("utf-8", "replace")
    except OSError as exc:
        raise usage_error("cli.audit.cannot_read", lang, path=path,
                          error=exc.strerror or exc) from None
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def check_nameserver(value: str | None, lang: str) -> DnsClient | None:
    """``IP``, ``IP:PORT`` or ``[IPv6]:PORT``; None for the system's resolvers."""
    if value is None:
        return None
    from mailwarden.audit.dns import DnsClient

    host = value
    if value.startswith("["):
        host = value[1:].partition("]")[0]
    elif value.count(":") == 1:
        host = value.partition(":")[0]
    try:
        ipaddress.ip_address(host)
        client = DnsClient.from_option(value)
    except ValueError:
        raise usage_error("cli.audit.bad_nameserver", lang, value=repr(value)) from None
    if not 0 < client.resolver.port < 65536:
        raise usage_error("cli.audit.nameserver_port", lang, value=repr(value))
    return client


AUDIT_HELP = tr(
    "Audit SPF, DMARC, DKIM, MX and more for each domain, with the records to publish.",
    "ドメインごとに SPF、DMARC、DKIM、MX などを監査し、公開すべきレコードを示します。")


def audit_command(
    ctx: typer.Context,
    domains: Annotated[list[str] | None, typer.Argument(
        help=tr("Domains to audit.", "監査するドメイン。"), show_default=False)] = None,
    file: Annotated[Path | None, typer.Option(
        "--file", help=tr("File with one domain per line ('-': standard input).",
                          "1行に1ドメインを書いたファイル（'-' で標準入力）。"),
        show_default=False)] = None,
    as_json: JsonOpt = False,
    html: Annotated[Path | None, typer.Option(
        "--html", help=tr("Also write a self-contained HTML report to this file.",
                          "単体で開ける HTML レポートもこのファイルに書き出します。"),
        show_default=False)] = None,
    lang: LangOpt = CLI_LANG,
    nameserver: Annotated[str | None, typer.Option(
        "--nameserver", help=tr(
            "Ask this resolver (IP[:PORT]) instead of the system's.",
            "システムのリゾルバーの代わりに、このリゾルバー（IP[:PORT]）に問い合わせます。"),
        show_default=False)] = None,
    dkim_selector: Annotated[list[str] | None, typer.Option(
        "--dkim-selector", help=tr(
            "A DKIM selector of yours (repeatable); common ones are always tried.",
            "自組織の DKIM セレクター（複数指定可）。よく使われるセレクターは常に試します。"),
        show_default=False)] = None,
    concurrency: Annotated[int, typer.Option(help=tr(
        "Domains audited at the same time.", "同時に監査するドメインの数。"))
    ] = DEFAULT_CONCURRENCY,
    timeout: Annotated[float, typer.Option(help=tr(
        "Seconds for one DNS query (retried twice), HTTPS fetch or SMTP step.",
        "DNS の問い合わせ1回（2回まで再試行）、HTTPS での取得1回、SMTP の1段階それぞれの"
        "制限時間（秒）。"))] = 5.0,
    probe_smtp: Annotated[bool, typer.Option("--probe-smtp", help=tr(
        "Also connect to the MX hosts (STARTTLS, TLS versions, AUTH).",
        "MX ホストにも接続して確認します（STARTTLS、TLS のバージョン、AUTH）。"))] = False,
    relay_test: Annotated[bool, typer.Option("--relay-test", help=tr(
        "With --probe-smtp: test the domain's own MX hosts for open relaying.",
        "--probe-smtp と併用: そのドメイン自身の MX ホストがオープンリレーになっていないかを"
        "試験します。"))] = False,
    allow_private: Annotated[bool, typer.Option("--allow-private", help=tr(
        "Also connect (MTA-STS fetch, SMTP probe) to loopback, private and other non-public "
        "addresses: for an internal audit only.",
        "ループバックやプライベートアドレスなど、公開されていないアドレスにも接続します"
        "（MTA-STS の取得、SMTP の確認）。内部向けの監査専用です。"))] = False,
) -> None:
    """The ``audit`` command (help: ``AUDIT_HELP``)."""
    names = list(domains or []) + (read_domains(file, lang) if file is not None else [])
    if not names:
        raise usage_error("cli.audit.no_domain", lang)
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise usage_error("cli.audit.concurrency", lang, value=concurrency, max=MAX_CONCURRENCY)
    if not 0 < timeout <= 300:
        raise usage_error("cli.audit.timeout", lang, value=timeout)
    if relay_test and not probe_smtp:
        raise usage_error("cli.audit.relay_test", lang)
    if html is not None and not html.resolve().parent.is_dir():
        raise usage_error("cli.audit.no_folder", lang, path=html)
    import asyncio

    from mailwarden.audit.dns import DnsClient
    from mailwarden.audit.model import AuditContext, AuditOptions
    from mailwarden.audit.runner import audit_all

    client = check_nameserver(nameserver, lang) or DnsClient(timeout=timeout)
    client.resolver.timeout = timeout
    client.resolver.lifetime = timeout * (client.retries + 1)
    options = AuditOptions(dkim_selectors=tuple(dkim_selector or ()), probe_smtp=probe_smtp,
                           relay_test=relay_test, timeout=timeout,
                           allow_private=allow_private)
    audit_ctx = AuditContext(client, options)
    unique = list(dict.fromkeys(names))
    reports = asyncio.run(audit_all(unique, audit_ctx, concurrency))
    emit(reports, lang, as_json, html, json_lang=lang if _lang_given(ctx) else "en")


def _lang_given(ctx: typer.Context) -> bool:
    """Whether --lang was on the command line: the JSON names it, never the environment's."""
    source = ctx.get_parameter_source("lang")
    return source is not None and source.name != "DEFAULT"


def emit(reports: list[DomainReport], lang: str, as_json_output: bool,
         html: Path | None, json_lang: str | None = None) -> None:
    """Print the table or the JSON (which names ``json_lang``, by default ``lang``); write the
    HTML report when asked."""
    from mailwarden import i18n
    from mailwarden.audit.output import as_json, terminal

    if html is not None:
        from mailwarden.audit.output_html import html_report

        try:
            html.write_text(html_report(reports, lang), encoding="utf-8")
        except OSError as exc:
            typer.echo("mailwarden audit: " + i18n.render(
                "cli.audit.cannot_write", lang, path=html, error=exc.strerror or exc),
                err=True)
            raise typer.Exit(1) from None
    typer.echo(as_json(reports, json_lang or lang) if as_json_output
               else terminal(reports, lang))
