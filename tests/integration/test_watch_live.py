"""`mailwarden serve --follow`: live log lines become findings, across a rotation."""

from __future__ import annotations

import json
import time
from pathlib import Path

from mailwarden_proc import MailwardenProcess

ATTACKER = "185.220.101.4"


def dovecot_failure(i: int) -> str:
    stamp = time.strftime("%b %e %H:%M:%S")
    return (f"{stamp} mail dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 "
            f"secs): user=<user{i}@city.example.jp>, method=PLAIN, rip={ATTACKER}, "
            f"lip=192.0.2.25, TLS, session=<S{i:05d}>\n")


def wait_for_finding(mw: MailwardenProcess, signal: str, timeout: float = 15) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = mw.cli("logins", "findings", "--json")
        for line in out.stdout.splitlines():
            finding = json.loads(line)
            if finding["signal"] == signal:
                return finding
        time.sleep(0.3)
    raise AssertionError(f"no {signal} finding; serve said:\n{mw.output()}")


def test_followed_log_lines_become_findings_across_rotation(tmp_path: Path) -> None:
    """A spray written to a followed file, half before and half after logrotate, is found."""
    log = tmp_path / "mail.log"
    log.write_text("", encoding="utf-8")
    mw = MailwardenProcess(args=("--follow", str(log)))
    try:
        time.sleep(1.0)  # a never-seen file is followed from its end
        with log.open("a", encoding="utf-8") as f:
            for i in range(6):
                f.write(dovecot_failure(i))
        log.rename(tmp_path / "mail.log.1")  # logrotate's create mode
        with (tmp_path / "mail.log").open("a", encoding="utf-8") as f:
            for i in range(6, 14):
                f.write(dovecot_failure(i))
        finding = wait_for_finding(mw, "password_spray")
        assert finding["address"] == ATTACKER
    finally:
        mw.stop()
