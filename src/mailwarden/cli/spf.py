"""``mailwarden spf``: evaluate SPF (RFC 7208 check_host) for one client address."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from mailwarden.cli.common import CLI_LANG, App, JsonOpt, LangOpt, tr

if TYPE_CHECKING:
    from mailwarden.audit.spf_result import SpfResult

app = App(help=tr("SPF (RFC 7208): evaluate a client address against a domain's policy.",
                  "SPF（RFC 7208）: クライアントのアドレスを、ドメインのポリシーに照らして"
                  "評価します。"))

LABELS = {
    "result": ("SPF result", "SPF の結果"),
    "decided": ("decided by", "決め手"),
    "explanation": ("explanation", "説明"),
    "lookups": ("DNS lookups", "DNS 参照"),
    "void": ("void lookups", "void lookup"),
    "steps": ("steps", "経過"),
}


def _label(key: str, lang: str) -> str:
    en, ja = LABELS[key]
    return ja if lang == "ja" else en


@app.command("check", help=tr(
    "Evaluate SPF for one client address (RFC 7208 check_host), showing every step.",
    "クライアントのアドレス1つについて SPF を評価し（RFC 7208 の check_host）、各段階を"
    "表示します。"))
def check(
    ip: Annotated[str, typer.Argument(help=tr(
        "The client address (IPv4 or IPv6).", "クライアントのアドレス（IPv4 または IPv6）。"))],
    domain: Annotated[str, typer.Argument(help=tr(
        "The domain whose policy applies (usually the MAIL FROM domain, or the HELO name).",
        "ポリシーを適用するドメイン（通常は MAIL FROM のドメイン、または HELO 名）。"))],
    sender: Annotated[str | None, typer.Option("--sender", help=tr(
        "MAIL FROM address (default: postmaster@DOMAIN; '' for a bounce).",
        "MAIL FROM のアドレス（既定: postmaster@DOMAIN。バウンスなら ''）。"),
        show_default=False)] = None,
    helo: Annotated[str | None, typer.Option("--helo", help=tr(
        "HELO/EHLO name (default: DOMAIN).", "HELO/EHLO 名（既定: DOMAIN）。"),
        show_default=False)] = None,
    nameserver: Annotated[str | None, typer.Option("--nameserver", help=tr(
        "Ask this resolver (IP or IP:PORT) instead of the system's.",
        "システムのリゾルバーの代わりに、このリゾルバー（IP または IP:PORT）に問い合わせます。"),
        show_default=False)] = None,
    timeout: Annotated[float, typer.Option(help=tr(
        "Seconds for the whole check.", "評価全体の制限時間（秒）。"))] = 20.0,
    as_json: JsonOpt = False,
    lang: LangOpt = CLI_LANG,
) -> None:
    import asyncio

    from mailwarden import i18n
    from mailwarden.audit.dns import DnsClient
    from mailwarden.audit.spf import check_host
    from mailwarden.audit.spf_lookup import client_address

    try:
        client_address(ip)
    except ValueError:
        typer.echo("mailwarden: " + i18n.render("cli.spf.not_ip", lang, ip=repr(ip)), err=True)
        raise typer.Exit(2) from None
    dns = DnsClient.from_option(nameserver)
    mail_from = f"postmaster@{domain}" if sender is None else sender
    found = asyncio.run(check_host(ip, domain, mail_from, helo or domain, dns, timeout=timeout))
    if as_json:
        typer.echo(json.dumps(found.to_dict(), ensure_ascii=False))
        return
    _print(found, lang)


def _print(found: SpfResult, lang: str) -> None:
    from mailwarden.audit.spf_eval import MAX_DNS_TERMS, MAX_VOID_LOOKUPS

    typer.echo(f"{_label('result', lang)}: {found.result}  ({found.domain})")
    if found.mechanism:
        typer.echo(f"{_label('decided', lang)}: {found.mechanism}")
    if found.explanation:
        typer.echo(f"{_label('explanation', lang)}: {found.explanation}")
    typer.echo(f"{_label('lookups', lang)}: {found.lookups}/{MAX_DNS_TERMS}, "
               f"{_label('void', lang)}: {found.void_lookups}/{MAX_VOID_LOOKUPS}")
    typer.echo(f"{_label('steps', lang)}:")
    for reason in found.reasons:
        typer.echo(f"  - {reason.text(lang)}")
