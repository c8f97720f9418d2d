"""Log lines beside Dovecot's auth policy: Exim's Dovecot authenticators are not counted twice,
and only lines from within a run of reports are skipped (a restart's backlog counts)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from tests.unit.scenarios import config

from mailwarden.events import Login
from mailwarden.service import Runtime
from mailwarden.watcher import POLICY_FRESH, ReportRuns, Watcher

PHONE = "203.0.113.44"


def runtime(tmp_path) -> Runtime:
    cfg = config()
    cfg.data_dir = tmp_path
    return Runtime(cfg)


def record(rt: Runtime) -> list[Login]:
    """The logins the watcher hands to the login guard (not the policy's reports)."""
    seen: list[Login] = []
    observe = rt.logins.observe

    def recording(login: Login):  # type: ignore[no-untyped-def]
        if login.source == "log":
            seen.append(login)
        return observe(login)

    rt.logins.observe = recording  # type: ignore[method-assign]
    return seen


def exim(t: float, authenticator: str, ip: str = PHONE, user: str = "k@city.example.jp") -> str:
    stamp = datetime.fromtimestamp(t, config().tz).strftime("%Y-%m-%d %H:%M:%S")
    return (f"{stamp} {authenticator} authenticator failed for (phone) [{ip}]:4123 "
            f"I=[192.0.2.25]:587: 535 Incorrect authentication data (set_id={user})")


def dovecot(t: float, ip: str = PHONE, session: int = 0) -> str:
    stamp = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    return (f"{stamp} mail dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 "
            f"secs): user=<a@city.example.jp>, method=PLAIN, rip={ip}, lip=192.0.2.25, TLS, "
            f"session=<S{session:05d}>")


def report(rt: Runtime, pwhash: str = "stale1", ip: str = PHONE) -> None:
    """A Dovecot auth policy report of a failed login."""
    rt.logins("report", {"login": "k@city.example.jp", "remote": ip, "pwhash": pwhash,
                         "success": "false", "protocol": "smtp"})


def test_exim_dovecot_authenticator_lines_are_skipped_while_the_policy_reports(tmp_path):
    """dovecot_login / dovecot_plain failures and arrivals were reported by the policy already;
    Exim's own authenticators still count."""
    rt = runtime(tmp_path)
    seen = record(rt)
    watcher = Watcher(rt)
    report(rt)
    now = time.time()
    for name in ("dovecot_login", "dovecot_plain", "DOVECOT_CRAM"):
        watcher.line("exim.log", exim(now, name))
    stamp = datetime.fromtimestamp(now, config().tz).strftime("%Y-%m-%d %H:%M:%S")
    watcher.line("exim.log", f"{stamp} 1uAbCd-000Efg-Hi <= k@city.example.jp H=(pc) [{PHONE}]:5"
                 " I=[192.0.2.25]:587 P=esmtpsa A=dovecot_plain:k@city.example.jp S=20 id=x@y")
    assert watcher.counters["skipped_logins"] == 4 and seen == []
    watcher.line("exim.log", exim(now, "login"))  # Exim's own (a passwd lookup, no Dovecot)
    assert [login.details["authenticator"] for login in seen] == ["login"]


def test_the_dovecot_authenticator_names_are_a_setting(tmp_path):
    """[login] exim_dovecot_authenticators chooses the names (shell patterns)."""
    rt = runtime(tmp_path)
    rt.cfg.login.exim_dovecot_authenticators = ["smtp_*"]
    seen = record(rt)
    watcher = Watcher(rt)
    report(rt)
    now = time.time()
    watcher.line("exim.log", exim(now, "smtp_plain"))
    watcher.line("exim.log", exim(now, "dovecot_login"))
    assert [login.details["authenticator"] for login in seen] == ["dovecot_login"]
    assert not watcher.asks_dovecot("")


def test_a_phone_retrying_one_stale_smtp_password_is_not_refused(tmp_path):
    """The policy reports one password hash many times; Exim's dovecot_login lines of the same
    attempts must not add a "distinct wrong password" each, which would refuse the address."""
    rt = runtime(tmp_path)
    watcher = Watcher(rt)
    for _ in range(rt.cfg.login.reject_after * 2):
        report(rt, pwhash="stale1")
        watcher.line("exim.log", exim(time.time(), "dovecot_login"))
    status, _ = rt.logins("allow", {"login": "k@city.example.jp", "remote": PHONE,
                                    "pwhash": "stale1", "protocol": "smtp"})
    assert status == 0
    assert watcher.counters["logins"] == 0


def test_the_backlog_written_while_mailwarden_was_down_is_counted(tmp_path):
    """After a restart the first report comes at once; Dovecot lines from before it (Dovecot
    could not report them) are counted, those of the attempts it reports are skipped."""
    rt = runtime(tmp_path)
    seen = record(rt)
    watcher = Watcher(rt)  # serve starts following
    report(rt, ip="198.51.100.9")  # the first report after the restart
    now = time.time()
    for i, minutes in enumerate((40, 20, 5, 1)):  # the downtime backlog
        watcher.line("mail.log", dovecot(now - minutes * 60, session=i))
    watcher.line("mail.log", dovecot(now, session=9))  # reported by the policy too
    assert len(seen) == 4 and watcher.counters["skipped_logins"] == 1
    assert all(login.time < now - 50 for login in seen)


def test_lines_are_skipped_within_the_run_and_its_freshness_only(tmp_path):
    """A line is skipped from the run's first report to POLICY_FRESH after its last one."""
    rt = runtime(tmp_path)
    clock = [time.time()]
    watcher = Watcher(rt, clock=lambda: clock[0])
    start = clock[0] + 10
    rt.logins.last_report = start
    clock[0] = start + 1
    watcher.sample()
    assert watcher.reports.start <= start
    rt.logins.last_report = start + 300
    clock[0] = start + 301
    watcher.sample()
    assert watcher.reports.covers(start + 200) and watcher.reports.covers(start + 850)
    assert not watcher.reports.covers(start + 300 + POLICY_FRESH + 1)
    assert not watcher.reports.covers(start - 60)


@pytest.mark.parametrize("gap", [POLICY_FRESH + 1, 3600.0])
def test_a_gap_in_the_reports_starts_a_new_run(gap):
    """Reports stopping for longer than POLICY_FRESH end a run: the next report starts another,
    and lines of the gap are not covered."""
    runs = ReportRuns()
    runs.sample(0.0, 1000.0)
    runs.sample(1005.0, 1006.0)
    assert runs.start == 1000.0 and runs.covers(1005.0)
    runs.sample(1100.0, 1101.0)
    assert runs.start == 1000.0  # the same run
    later = 1100.0 + gap
    runs.sample(1100.0, later - 1)  # nothing new
    runs.sample(later, later + 1)
    assert runs.start == later - 1 and not runs.covers(later - 30)


def test_the_first_sample_of_a_run_in_progress_starts_it_there():
    """A watcher that starts after the reports did takes the run from the report it sees."""
    runs = ReportRuns()
    runs.sample(500.0, 501.0)
    assert (runs.start, runs.last) == (500.0, 500.0)
    assert runs.covers(499.0) and not runs.covers(400.0)
