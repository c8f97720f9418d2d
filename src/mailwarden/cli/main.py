"""The ``mailwarden`` command."""

from __future__ import annotations

import typer

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
from mailwarden.cli.analyze import analyze_command
from mailwarden.cli.audit import audit_command
from mailwarden.cli.replay import replay_command
from mailwarden.cli.serve import serve_command

app = typer.Typer(help="Mailwarden: stop a hijacked mailbox in seconds, lose no mail.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.command("serve")(serve_command)
app.add_typer(incidents.app, name="incidents")
app.add_typer(accounts.app, name="accounts")
app.add_typer(config_cmd.app, name="config")
app.add_typer(simulate.app, name="simulate")
app.add_typer(logs.app, name="logs")
app.command("replay")(replay_command)
app.add_typer(logins.app, name="logins")
app.add_typer(evidence.app, name="evidence")
app.command("audit")(audit_command)
app.add_typer(dmarc.app, name="dmarc")
app.add_typer(spf.app, name="spf")
app.command("analyze")(analyze_command)
app.add_typer(api_tokens.app, name="api")
