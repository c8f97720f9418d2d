"""The live watcher: events to the guards, and no double counting beside the auth policy."""

from __future__ import annotations

import time
from datetime import datetime

from tests.unit.scenarios import config

from mailwarden.service import Runtime
from mailwarden.watcher import Watcher

LINE = ("Oct  6 04:10:00 mail dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 "
        "secs): user=<a@city.example.jp>, method=PLAIN, rip=185.220.101.4, lip=192.0.2.25, "
        "TLS, session=<S{0:05d}>")
EXIM = ("2025-10-06 04:10:{0:02d} login authenticator failed for (x) [185.220.101.5]:4123 "
        "I=[192.0.2.25]:587: 535 Incorrect authentication data (set_id=b@city.example.jp)")


def runtime(tmp_path) -> Runtime:
    cfg = config()
    cfg.data_dir = tmp_path
    return Runtime(cfg)


def test_log_logins_reach_the_login_guard(tmp_path):
    """Dovecot failures from a followed log are counted by the login engine."""
    rt = runtime(tmp_path)
    watcher = Watcher(rt)
    for i in range(6):
        watcher.line("mail.log", LINE.format(i))
    assert watcher.counters["logins"] == 6
    assert any(f["signal"] == "brute_force_address" for f in rt.logins.batch.findings)


def test_dovecot_lines_are_skipped_while_the_auth_policy_reports(tmp_path):
    """With Dovecot's auth policy reporting, its log lines of that time would count attempts
    twice; lines from before the reports began (Oct 6) are counted."""
    rt = runtime(tmp_path)
    rt.logins.last_report = time.time()
    watcher = Watcher(rt)
    now = datetime.fromtimestamp(time.time(), rt.cfg.tz)
    for i in range(3):
        watcher.line("mail.log", f"{now:%b} {now.day:2d} {now:%H:%M:%S}{LINE[15:].format(i)}")
        watcher.line("exim.log", f"{now:%Y-%m-%d %H:%M:%S}{EXIM[24:]}")
    assert watcher.counters["skipped_logins"] == 3
    assert watcher.counters["logins"] == 3  # Exim's own authenticator failures still count
    watcher.line("mail.log", LINE.format(3))
    assert watcher.counters["logins"] == 4


def test_garbage_lines_never_stop_the_watcher(tmp_path):
    """Any line is taken without an exception."""
    watcher = Watcher(runtime(tmp_path))
    for line in ("", "\x00\xff", "Oct 99 99:99:99 x y: z", "a" * 100_000):
        watcher.line("mail.log", line)
    assert watcher.counters["lines"] == 4
