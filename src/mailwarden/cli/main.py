"""The ``mailwarden`` command."""

from __future__ import annotations

from mailwarden.cli import (
    accounts,
    api_tokens,
    config_cmd,
    dmarc,
    evidence,
    incidents,
    logins,
    logs,
    simulate,
    spf,
)
from mailwarden.cli.analyze import ANALYZE_HELP, analyze_command
from mailwarden.cli.audit import AUDIT_HELP, audit_command
from mailwarden.cli.common import App, tr
from mailwarden.cli.replay import REPLAY_HELP, replay_command
from mailwarden.cli.serve import SERVE_HELP, serve_command

app = App(help=tr("Mailwarden: stop a hijacked mailbox in seconds, lose no mail.",
                  "Mailwarden: 乗っ取られたメールアカウントからの送信を数秒で止め、"
                  "メールは一通も失いません。"),
          pretty_exceptions_enable=False)
app.command("serve", help=SERVE_HELP)(serve_command)
app.add_typer(incidents.app, name="incidents")
app.add_typer(accounts.app, name="accounts")
app.add_typer(config_cmd.app, name="config")
app.add_typer(simulate.app, name="simulate")
app.add_typer(logs.app, name="logs")
app.command("replay", help=REPLAY_HELP)(replay_command)
app.add_typer(logins.app, name="logins")
app.add_typer(evidence.app, name="evidence")
app.command("audit", help=AUDIT_HELP)(audit_command)
app.add_typer(dmarc.app, name="dmarc")
app.add_typer(spf.app, name="spf")
app.command("analyze", help=ANALYZE_HELP)(analyze_command)
app.add_typer(api_tokens.app, name="api")
