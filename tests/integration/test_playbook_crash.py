"""A crash half-way: `mailwarden incidents respond` killed with -9 while `doveadm kick` runs
leaves a record of what was done (the lock) and what was under way (the kick); running the
steps again is safe (the lock is not written twice) and completes them."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

from mailstack.common import require_program, wait_for
from mailstack.factories import DovecotFactory
from test_response_actions import put_deny_passdb_first

from mailwarden.engine.incident import Incident
from mailwarden.store.actions_store import ActionStore
from mailwarden.store.store import Batch, Store

VICTIM, VICTIM_PW = "keisatsu@city.example.jp", "stolen-but-real"


def slow_doveadm(folder: Path, real: str) -> Path:
    """The real doveadm, started only after the marker file is removed (kick waits)."""
    gate = folder / "hold-kick"
    gate.touch()
    path = folder / "doveadm-slow"
    path.write_text(
        "#!/bin/sh\n"
        f'case " $* " in *" kick "*) while [ -e "{gate}" ]; do sleep 0.05; done;; esac\n'
        f'exec {real} "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_kill9_during_kick_leaves_a_record_and_a_rerun_completes(
    dovecot_factory: DovecotFactory, tmp_path: Path
) -> None:
    real = require_program("doveadm", "dovecot-core")
    dovecot = dovecot_factory({VICTIM: VICTIM_PW})
    deny = dovecot.root / "deny"
    deny.write_text("")
    put_deny_passdb_first(dovecot, deny)
    data = tmp_path / "data"
    config = tmp_path / "mw.toml"
    config.write_text(f"""
[response]
dovecot = true
dovecot_config = "{dovecot.config_path}"
deny_file = "{deny}"
doveadm = "{slow_doveadm(tmp_path, real)}"
""")
    store = Store(f"sqlite:///{data / 'mailwarden.db'}")
    store.write(Batch(incidents=[Incident("INC-crash", 1.0, VICTIM, "suspicious_login", "high",
                                          3.0, [])]), 1.0)
    argv = [sys.executable, "-m", "mailwarden", "incidents", "respond", "INC-crash",
            "--step", "lock", "--step", "kick", "--by", "tester", "--config", str(config),
            "--data-dir", str(data), "--json"]
    actions = ActionStore(store)

    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        wait_for(lambda: [r for r in actions.for_incident("INC-crash")
                          if r["operation"] == "kick"], 30, what="the kick under way")
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)

    rows = actions.for_incident("INC-crash")
    assert [(r["target"], r["operation"], r["status"]) for r in rows] == [
        ("postfix", "lock", "skipped"), ("dovecot", "lock", "done"),
        ("dovecot", "kick", "started")]  # no Postfix map configured here: skipped, and why
    assert rows[0]["error"] == "[response] sasl_access_map"
    assert rows[1]["changed"] and rows[2]["finished_at"] is None and rows[2]["actor"] == "tester"
    assert deny.read_text() == f"{VICTIM}\n"
    timeline = store.incident("INC-crash")["timeline"]  # type: ignore[index]
    assert [(e["operation"], e["status"]) for e in timeline if e["kind"] == "action"][-1] == (
        "kick", "started")

    (tmp_path / "hold-kick").unlink()
    again = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert again.returncode == 0, again.stdout + again.stderr
    outcomes = [json.loads(line) for line in again.stdout.splitlines()]
    assert [(o["target"], o["operation"], o["status"], o["changed"]) for o in outcomes] == [
        ("postfix", "lock", "skipped", False), ("dovecot", "lock", "done", False),
        ("dovecot", "kick", "done", False)]  # no session open: doveadm kicked nobody
    assert deny.read_text() == f"{VICTIM}\n"  # locked once, not twice
