"""``mailwarden audit``: the posture of mail domains, with the records that fix it.

Exit code 0 when the domains were audited, whatever was found; 2 on a usage error.
"""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mailwarden.cli.common import JsonOpt, LangOpt

if TYPE_CHECKING:
    from mailwarden.audit.dns import DnsClient
    from mailwarden.audit.model import DomainReport

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_CONCURRENCY = 1000
# mailwarden.audit.runner.DEFAULT_CONCURRENCY, repeated so that building the command (every
# ``mailwarden`` start) does not import the audit; a test checks that the two agree.
DEFAULT_CONCURRENCY = 20


def usage_error(message: str) -> typer.Exit:
    typer.echo(f"mailwarden audit: {message}", err=True)
    return typer.Exit(2)


def read_domains(path: Path) -> list[str]:
    """One domain per line; blank lines and ``#`` comments skipped; ``-`` is standard input."""
    try:
        if str(path) == "-":
            text = sys.stdin.read(MAX_FILE_BYTES)
        else:
            with path.open("rb") as handle:
                text = handle.read(MAX_FILE_BYTES).decode("utf-8", "replace")
    except OSError as exc:
        raise usage_error(f"cannot read {path}: {exc.strerror or exc}") from None
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def check_nameserver(value: str | None) -> DnsClient | None:
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
        raise usage_error(f"--nameserver {value!r}: expected IP, IP:PORT or [IPv6]:PORT") \
            from None
    if not 0 < client.resolver.port < 65536:
        raise usage_error(f"--nameserver {value!r}: port out of range")
    return client


def audit_command(
    domains: Annotated[list[str] | None, typer.Argument(
        help="Domains to audit.", show_default=False)] = None,
    file: Annotated[Path | None, typer.Option(
        "--file", help="File with one domain per line ('-': standard input).",
        show_default=False)] = None,
    as_json: JsonOpt = False,
    html: Annotated[Path | None, typer.Option(
        "--html", help="Also write a self-contained HTML report to this file.",
        show_default=False)] = None,
    lang: LangOpt = "en",
    nameserver: Annotated[str | None, typer.Option(
        "--nameserver", help="Ask this resolver (IP[:PORT]) instead of the system's.",
        show_default=False)] = None,
    dkim_selector: Annotated[list[str] | None, typer.Option(
        "--dkim-selector", help="A DKIM selector of yours (repeatable); common ones are "
        "always tried.", show_default=False)] = None,
    concurrency: Annotated[int, typer.Option(
        help="Domains audited at the same time.")] = DEFAULT_CONCURRENCY,
    timeout: Annotated[float, typer.Option(
        help="Seconds for one DNS query (retried twice), HTTPS fetch or SMTP step.")] = 5.0,
    probe_smtp: Annotated[bool, typer.Option(
        "--probe-smtp", help="Also connect to the MX hosts (STARTTLS, TLS versions, AUTH).")]
    = False,
    relay_test: Annotated[bool, typer.Option(
        "--relay-test", help="With --probe-smtp: test the domain's own MX hosts for open "
        "relaying.")] = False,
    allow_private: Annotated[bool, typer.Option(
        "--allow-private", help="Also connect (MTA-STS fetch, SMTP probe) to loopback, private "
        "and other non-public addresses: for an internal audit only.")] = False,
) -> None:
    """Audit SPF, DMARC, DKIM, MX and more for each domain, with the records to publish."""
    names = list(domains or []) + (read_domains(file) if file is not None else [])
    if not names:
        raise usage_error("give at least one domain, or --file FILE")
    if lang not in ("en", "ja"):
        raise usage_error(f"--lang {lang!r}: expected ja or en")
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise usage_error(f"--concurrency {concurrency}: expected 1-{MAX_CONCURRENCY}")
    if not 0 < timeout <= 300:
        raise usage_error(f"--timeout {timeout}: expected more than 0 and at most 300")
    if relay_test and not probe_smtp:
        raise usage_error("--relay-test needs --probe-smtp")
    if html is not None and not html.resolve().parent.is_dir():
        raise usage_error(f"--html {html}: no such folder")
    import asyncio

    from mailwarden.audit.dns import DnsClient
    from mailwarden.audit.model import AuditContext, AuditOptions
    from mailwarden.audit.runner import audit_all

    client = check_nameserver(nameserver) or DnsClient(timeout=timeout)
    client.resolver.timeout = timeout
    client.resolver.lifetime = timeout * (client.retries + 1)
    options = AuditOptions(dkim_selectors=tuple(dkim_selector or ()), probe_smtp=probe_smtp,
                           relay_test=relay_test, timeout=timeout,
                           allow_private=allow_private)
    ctx = AuditContext(client, options)
    unique = list(dict.fromkeys(names))
    reports = asyncio.run(audit_all(unique, ctx, concurrency))
    emit(reports, lang, as_json, html)


def emit(reports: list[DomainReport], lang: str, as_json_output: bool,
         html: Path | None) -> None:
    """Print the table or the JSON; write the HTML report when asked."""
    from mailwarden.audit.output import as_json, terminal

    if html is not None:
        from mailwarden.audit.output_html import html_report

        try:
            html.write_text(html_report(reports, lang), encoding="utf-8")
        except OSError as exc:
            typer.echo(f"mailwarden audit: cannot write {html}: {exc.strerror or exc}",
                       err=True)
            raise typer.Exit(1) from None
    typer.echo(as_json(reports, lang) if as_json_output else terminal(reports, lang))
