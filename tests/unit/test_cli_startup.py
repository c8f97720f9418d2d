"""Start-up of the ``mailwarden`` command: importing the CLI and building it imports nothing
heavy; each command imports what it needs when it runs (see ``mailwarden.cli.common``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer.core import TyperGroup
from typer.testing import CliRunner

from mailwarden.cli.main import app

COMMANDS = {"serve", "incidents", "accounts", "config", "simulate", "logs", "replay", "logins",
            "evidence", "audit", "dmarc", "spf", "analyze", "api"}
# Heavy third-party packages no command needs before it runs.
HEAVY = ("sqlalchemy", "dns.asyncresolver", "dns.resolver", "starlette", "uvicorn", "httpx",
         "pydantic")
# What ``logs scan`` must never load: the audit, the inbound analyser, the API, the store.
NOT_FOR_SCAN = ("sqlalchemy", "dns.asyncresolver", "starlette", "uvicorn",
                "mailwarden.audit", "mailwarden.inbound.analyze", "mailwarden.api",
                "mailwarden.store", "mailwarden.service", "mailwarden.response")

# Runs the real entry point with sys.argv[1:], then writes the loaded modules to MODULES_OUT
# (atexit: typer ends with sys.exit).
RUN_AND_LIST = """
import atexit, json, os, sys
def dump():
    with open(os.environ["MODULES_OUT"], "w") as f:
        json.dump(sorted(sys.modules), f)
atexit.register(dump)
from mailwarden.cli.main import app
app(sys.argv[1:], prog_name="mailwarden")
"""


def _python(*args: str, out: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    if out is not None:
        env["MODULES_OUT"] = str(out)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


def _loaded(modules: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes)]


def _modules_after(tmp_path: Path, *argv: str) -> tuple[list[str], str]:
    out = tmp_path / "modules.json"
    done = _python("-c", RUN_AND_LIST, *argv, out=out)
    modules: list[str] = json.loads(out.read_text())
    return modules, done.stdout + done.stderr


def test_building_the_cli_imports_nothing_heavy(tmp_path: Path) -> None:
    """Importing cli.main and building every command loads no store, DNS, API or other part of
    Mailwarden outside ``mailwarden.cli``."""
    script = ("import json, sys, typer.main\nfrom mailwarden.cli.main import app\n"
              "typer.main.get_command(app)\nprint(json.dumps(sorted(sys.modules)))\n")
    done = _python("-c", script)
    assert done.returncode == 0, done.stderr
    modules: list[str] = json.loads(done.stdout)
    assert _loaded(modules, HEAVY) == []
    outside = [m for m in modules if m.startswith("mailwarden.")
               and not (m == "mailwarden.cli" or m.startswith("mailwarden.cli."))]
    assert outside == [], "import these inside the command that needs them"


def test_help_lists_every_command(tmp_path: Path) -> None:
    """``mailwarden --help`` lists every command, without importing anything heavy."""
    modules, output = _modules_after(tmp_path, "--help")
    names = set(typer.main.get_group(app).commands)
    assert names == COMMANDS
    for name in sorted(COMMANDS):
        assert f" {name} " in output, f"{name} missing from --help:\n{output}"
    assert _loaded(modules, HEAVY) == []


def _paths(group: TyperGroup, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if isinstance(command, TyperGroup):
            found += _paths(command, (*prefix, name))
    return found


@pytest.mark.parametrize("path", _paths(typer.main.get_group(app)), ids=" ".join)
def test_every_command_builds_its_help(path: tuple[str, ...]) -> None:
    """Every command's parameters resolve at run time (lazy imports keep annotations real)."""
    result = CliRunner().invoke(app, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_logs_scan_loads_no_audit_inbound_or_api(tmp_path: Path) -> None:
    """``logs scan`` reads logs without loading the audit, the analyser, the API or the store."""
    log = tmp_path / "mail.log"
    log.write_text("Oct  6 04:10:00 mail dovecot: imap-login: Disconnected (auth failed, "
                   "1 attempts in 2 secs): user=<a@city.example.jp>, method=PLAIN, "
                   "rip=185.220.101.4, lip=192.0.2.25, TLS, session=<A000>\n")
    cfg = tmp_path / "mailwarden.toml"
    cfg.write_text('[organization]\ndomains = ["city.example.jp"]\n')
    modules, output = _modules_after(tmp_path, "logs", "scan", str(log), "--config", str(cfg),
                                     "--data-dir", str(tmp_path / "data"), "--json")
    assert '"type": "summary"' in output, output
    assert _loaded(modules, NOT_FOR_SCAN) == []


def test_audit_default_concurrency_is_the_runners() -> None:
    """The ``--concurrency`` default repeated in the CLI is the audit runner's."""
    from mailwarden.audit.runner import DEFAULT_CONCURRENCY
    from mailwarden.cli import audit

    assert audit.DEFAULT_CONCURRENCY == DEFAULT_CONCURRENCY
