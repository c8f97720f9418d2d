"""`logs scan`: a time-ordered timeline of mixed mail logs with the login guard's findings."""

from __future__ import annotations

import json

from tests.unit.scenarios import config
from typer.testing import CliRunner

from mailwarden.cli.main import app
from mailwarden.scan import scan

ATTACKER = "185.220.101.4"
VIETNAM = "14.160.0.1"


def dovecot_fail(ts: str, user: str, ip: str, session: str) -> str:
    return (f"{ts} mail dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): "
            f"user=<{user}>, method=PLAIN, rip={ip}, lip=192.0.2.25, TLS, session=<{session}>")


def dovecot_ok(ts: str, user: str, ip: str, session: str, proto: str = "imap",
               tls: str = "TLS") -> str:
    return (f"{ts} mail dovecot: {proto}-login: Login: user=<{user}>, method=PLAIN, rip={ip}, "
            f"lip=192.0.2.25, mpid=4{session[-3:]}, {tls}, session=<{session}>")


def mixed_log(path) -> None:
    lines = []
    for i in range(12):  # a dictionary attack on one account from one address
        lines.append(dovecot_fail(f"Oct  6 04:{10 + i:02d}:00", "somu@city.example.jp",
                                  ATTACKER, f"A{i:03d}"))
    for i in range(3):  # then the professor's password is guessed from Vietnam
        lines.append(dovecot_fail(f"Oct  6 04:40:{i:02d}", "kyoju@city.example.jp", VIETNAM,
                                  f"V{i:03d}"))
    lines.append(dovecot_ok("Oct  6 04:41:00", "kyoju@city.example.jp", VIETNAM, "V999"))
    lines.append(dovecot_ok("Oct  6 05:00:00", "old@city.example.jp", "133.242.10.20",
                            "P001", proto="pop3", tls="secured"))
    # 25 bounces of non-existent recipients for messages the professor sent
    for i in range(25):
        qid = f"4B{i:03d}C0D"
        lines += [
            f"Oct  6 04:45:{i:02d} mail postfix/submission/smtpd[1{i:03d}]: {qid}: "
            f"client=unknown[{VIETNAM}], sasl_method=PLAIN, sasl_username=kyoju@city.example.jp",
            f"Oct  6 04:45:{i:02d} mail postfix/qmgr[99]: {qid}: from=<kyoju@city.example.jp>, "
            f"size=900, nrcpt=1 (queue active)",
            f"Oct  6 04:46:{i:02d} mail postfix/smtp[2{i:03d}]: {qid}: to=<nobody{i}@example.org>"
            f", relay=mx.example.org[198.51.100.7]:25, delay=1, delays=0/0/0.5/0.5, dsn=5.1.1, "
            f"status=bounced (host mx.example.org said: 550 5.1.1 No such user)",
            f"Oct  6 04:46:{i:02d} mail postfix/qmgr[99]: {qid}: removed",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_scan_finds_attack_compromise_legacy_auth_and_bounces(tmp_path):
    """One mixed syslog file gives every finding the story contains, in time order."""
    log = tmp_path / "mail.log"
    mixed_log(log)
    cfg = config()
    cfg.organization.timezone = "Asia/Tokyo"
    records = list(scan([log], cfg, year=2025))
    findings = [r for r in records if r["type"] == "finding"]
    by_signal = {f["signal"]: f for f in findings}
    assert {"brute_force_address", "brute_force_account", "login_after_failures",
            "foreign_login", "legacy_auth", "bounce_burst"} <= set(by_signal)
    assert by_signal["brute_force_address"]["address"] == ATTACKER
    assert by_signal["login_after_failures"]["account"] == "kyoju@city.example.jp"
    assert by_signal["bounce_burst"]["account"] == "kyoju@city.example.jp"
    times = [r["time"] for r in records if r["type"] != "summary"]
    assert times == sorted(times)
    logins = [r for r in records if r["type"] == "login"]
    assert logins[0]["country"] and logins[0]["address"] == ATTACKER
    summary = records[-1]
    assert summary["type"] == "summary" and summary["logins"] == 17


def test_scan_cli_findings_only_json(tmp_path):
    """`logs scan --json --findings-only` prints only findings and the summary."""
    log = tmp_path / "mail.log"
    mixed_log(log)
    result = CliRunner().invoke(app, ["logs", "scan", str(log), "--json", "--findings-only",
                                      "--year", "2025", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    kinds = {json.loads(line)["type"] for line in result.output.splitlines()}
    assert kinds == {"finding", "summary"}
    for line in result.output.splitlines()[:-1]:
        finding = json.loads(line)
        assert set(finding) == {"type", "signal", "account", "address", "time", "severity",
                                "reasons"}


def test_scan_json_writes_what_json_dumps_of_scan_writes(tmp_path):
    """The JSON lines of `logs scan --json` are json.dumps of scan()'s records, byte for byte."""
    from mailwarden.scan import scan_json

    log = tmp_path / "mail.log"
    mixed_log(log)
    with log.open("a", encoding="utf-8") as more:  # names that need escaping
        more.write('Oct  6 05:10:00 mail dovecot: imap-login: Login: user=<"ü\\x\x01>, '
                   "method=PLAIN, rip=192.0.2.9, lip=192.0.2.25, mpid=1, TLS, session=<S1>\n")
    cfg = config()
    cfg.organization.timezone = "Asia/Tokyo"
    for events in (True, False):
        expected = [json.dumps(r, ensure_ascii=False) for r in scan([log], cfg, 2025, events)]
        assert list(scan_json([log], cfg, 2025, events)) == expected
