"""A synthetic day of a mail server's syslog: Postfix and Dovecot 2.3 lines, mixed, in time order.

One host (``mail``, 192.0.2.25) serving ``city.example.jp``: mail from the Internet delivered by
LMTP to Dovecot, mail submitted by 1,500 accounts from the office, home and phones, IMAP/POP3
sessions (``auth_verbose = yes``, so the auth process logs every wrong password and the login
process sums the session up), RBL rejections and scanners — among them brute-force sources:
SMTP AUTH guessers on the submission and smtps ports, IMAP/POP3 guessers, a botnet trying a few
passwords per address, a password spray from one /24, phones retrying a stale password, and one
account broken into at 04:45 that then sends a burst. About 10 lines a second on average (more
in office hours): 1,000,000 lines cover about 28 hours from 2025-10-06 00:00 JST.

The same ``(lines, seed)`` always gives the same file. :func:`generate` also returns the ground
truth of what was written (lines per kind), for the benchmark's sanity checks.

    python bench/_logsynth.py /tmp/mail.log --lines 100000
"""

from __future__ import annotations

import argparse
import base64
import heapq
import json
import random
import sys
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

VERSION = 1  # part of the cache key: bump when the output changes
DOMAIN = "city.example.jp"
HOST = "mail"
LIP = "192.0.2.25"
START = datetime(2025, 10, 6)  # local time (Asia/Tokyo) of the first line
YEAR = START.year
DRAWS_PER_SECOND = 3.1  # activities a second over the day (about 3.2 lines each)
QMGR = 1203

# what a line is, for the ground truth (every line has one kind)
SASL_FAIL = "postfix_sasl_failure"  # warning: ...: SASL LOGIN authentication failed: <client's>
SASL_FAULT = "postfix_sasl_server_fault"  # ... failed: Connection lost to authentication server
AUTH_FAIL = "dovecot_auth_failure"  # auth: passwd-file(u,ip,<s>): Password mismatch / unknown user
SUMMARY_FAIL = "dovecot_summary_auth_failed"  # imap-login: Disconnected (auth failed, N attempts..)
PLAINTEXT = "dovecot_summary_plaintext_refused"  # (tried to use disallowed plaintext auth)
LOGIN_OK = "dovecot_login"
FAILURE_KINDS = (SASL_FAIL, AUTH_FAIL, SUMMARY_FAIL, PLAINTEXT)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_SURNAMES = _words(
    "sato suzuki takahashi tanaka watanabe ito yamamoto nakamura kobayashi kato yoshida "
    "yamada sasaki yamaguchi matsumoto inoue kimura hayashi shimizu yamazaki mori abe "
    "ikeda hashimoto yamashita ishikawa nakajima maeda fujita ogawa goto okada hasegawa "
    "murakami kondo ishii saito sakamoto endo aoki fujii nishimura fukuda ota miura "
    "fujiwara okamoto matsuda nakagawa"
)
_ROLES = _words(
    "info soumu kikaku jinji keiri koho somu-ka jimu01 jimu02 kyoiku kenko kankyo toshi "
    "zeimu shimin bosai gikai kaikei uketsuke"
)
# names brute-forcers try that do not exist here
_GUESSED = _words(
    "admin administrator test user sales contact support webmaster postmaster office mail "
    "noreply info1 guest backup root"
)
_MTAS = (
    ("mail-yw1-f{n}.google.com", "209.85.128.{n}"),
    ("mail-{n}.outbound.protection.outlook.com", "40.107.22.{n}"),
    ("a{n}-{m}.smtp-out.amazonses.com", "54.240.27.{n}"),
    ("mo-csw{n}.securemx.jp", "210.130.202.{n}"),
    ("mx{n}.nifty.com", "106.153.226.{n}"),
    ("unknown", "61.205.{m}.{n}"),
)
_RBL_DOMAINS = ("zen.spamhaus.org", "bl.spamcop.net")
_BOT_PREFIXES = (
    5,
    31,
    37,
    46,
    77,
    78,
    79,
    81,
    83,
    85,
    88,
    89,
    91,
    92,
    93,
    94,
    95,
    103,
    109,
    112,
    113,
    114,
    115,
    116,
    117,
    118,
    119,
    171,
    175,
    177,
    178,
    179,
    180,
    181,
    182,
    183,
    186,
    187,
    188,
    189,
    190,
    191,
    200,
    201,
)
_SMTP_GUESSERS = (
    "185.220.101.4",
    "141.98.11.20",
    "80.94.95.81",
    "193.32.162.30",
    "5.188.206.14",
    "91.92.245.1",
    "45.227.254.8",
    "218.92.0.12",
    "61.177.172.5",
    "179.43.180.2",
    "103.145.13.9",
    "196.251.1.1",
)
_IMAP_GUESSERS = (
    "45.148.10.7",
    "185.220.101.9",
    "141.98.11.66",
    "80.94.95.203",
    "218.92.0.57",
    "103.145.13.40",
    "91.92.245.9",
    "193.32.162.77",
)
_SPRAY_NET = "45.148.11"
_INTRUDER = "185.220.101.4"  # the 04:45 login, after guessing on SMTP all night
INTRUSION_AT = 4 * 3600 + 45 * 60
_HOURLY = tuple(  # normal traffic by hour of day (activities marked office hours)
    map(
        float,
        _words(
            "0.25 0.2 0.2 0.2 0.25 0.35 0.5 0.8 1.4 1.8 1.8 1.7 "
            "1.3 1.7 1.8 1.8 1.7 1.5 1.1 0.8 0.6 0.5 0.4 0.3"
        ),
    )
)


class Account:
    """One mailbox and where its owner connects from."""

    __slots__ = ("home", "legacy", "mobile", "name", "office", "stale")

    def __init__(self, name: str, home: str, mobile: str, office: str, legacy: bool) -> None:
        self.name = name
        self.home = home
        self.mobile = mobile
        self.office = office  # the office NAT address of the person's floor
        self.legacy = legacy  # an old POP3 client
        self.stale = False  # a phone still trying last month's password


class LogSynth:
    """Writes one log: activities are drawn, their lines queued by time and written in order."""

    def __init__(self, out: TextIO, lines: int, seed: int) -> None:
        self.out = out
        self.limit = lines
        self.rng = random.Random(seed)
        self.written = 0
        self.kinds: Counter[str] = Counter()
        self.attempts: Counter[str] = Counter()  # failed attempts a line stands for, per kind
        self.failing_addresses: set[str] = set()
        self.postfix_lines = 0
        self.last = 0.0
        self._queue: list[tuple[float, int, str, str, int, str]] = []
        self._seq = 0
        self._stamp_second = -1
        self._stamp = ""
        self.accounts = self._accounts()
        self.guessed = [a.name for a in self.rng.sample(self.accounts, 60)]
        self.guessed += [f"{r}@{DOMAIN}" for r in _ROLES] + list(_GUESSED)
        self.guessed += [f"{g}@{DOMAIN}" for g in _GUESSED]
        for account in self.rng.sample(self.accounts, 4):
            account.stale = True
        self.stale = [a for a in self.accounts if a.stale]
        self.victim = self.accounts[3]
        self.intruded = False
        self.activities: list[tuple[Callable[[float], None], float, bool]] = [
            # (activity, relative weight, whether it follows office hours (_HOURLY))
            (self.imap_session, 15.0, True),
            (self.inbound, 2.4, True),
            (self.rejected, 2.0, False),
            (self.submission, 1.0, True),
            (self.mistype, 0.2, True),
            (self.stale_phone, 0.25, False),
            (self.smtp_guesser, 3.0, False),
            (self.imap_guesser, 2.0, False),
            (self.spray, 0.5, False),
            (self.scanner, 1.5, False),
        ]
        self._cum: dict[int, list[float]] = {}

    # writing ----------------------------------------------------------------------------------

    def emit(
        self, t: float, text: str, kind: str = "", attempts: int = 0, source: str = ""
    ) -> None:
        """Queue ``host process: text`` at ``t`` seconds after START (``kind``, the failed
        ``attempts`` it stands for and their ``source`` address go into the ground truth)."""
        self._seq += 1
        heapq.heappush(self._queue, (t, self._seq, text, kind, attempts, source))

    def _write_until(self, t: float) -> None:
        queue = self._queue
        while queue and queue[0][0] <= t and self.written < self.limit:
            when, _, text, kind, attempts, source = heapq.heappop(queue)
            second = int(when)
            if second != self._stamp_second:
                self._stamp_second = second
                self._stamp = (START + timedelta(seconds=second)).strftime("%b %e %H:%M:%S")
            self.out.write(f"{self._stamp} {HOST} {text}\n")
            self.written += 1
            self.last = when
            if text.startswith("postfix/"):
                self.postfix_lines += 1
            if kind:
                self.kinds[kind] += 1
                if attempts:
                    self.attempts[kind] += attempts
                    self.failing_addresses.add(source)

    def run(self) -> None:
        """Draw activities until the line limit is reached."""
        t = 0.0
        rng = self.rng
        funcs = [a[0] for a in self.activities]
        while self.written < self.limit:
            self._write_until(t)
            hour = int(t // 3600) % 24
            cum = self._cum.get(hour) or self._weights(hour)
            if not self.intruded and t >= INTRUSION_AT - 300:
                self.intrusion(t)
            rng.choices(funcs, cum_weights=cum)[0](t)
            t += rng.expovariate(DRAWS_PER_SECOND) * self._speed(hour)
        self._write_until(float("inf"))

    def _weights(self, hour: int) -> list[float]:
        total, cum = 0.0, []
        for _, weight, office in self.activities:
            total += weight * (_HOURLY[hour] if office else 1.0)
            cum.append(total)
        self._cum[hour] = cum
        return cum

    def _speed(self, hour: int) -> float:
        """Seconds per draw relative to the day's average (quiet hours draw attacks only)."""
        day = sum(w * (sum(_HOURLY) / 24 if o else 1.0) for _, w, o in self.activities)
        now = self._cum.get(hour) or self._weights(hour)
        return day / now[-1]

    # people ----------------------------------------------------------------------------------

    def _accounts(self) -> list[Account]:
        rng = self.rng
        names = [f"{r}@{DOMAIN}" for r in _ROLES]
        while len(names) < 1500:
            name = f"{rng.choice('abcdefghikmnorstuy')}.{rng.choice(_SURNAMES)}"
            name += f"{rng.randint(2, 9)}" if rng.random() < 0.3 else ""
            if f"{name}@{DOMAIN}" not in names:
                names.append(f"{name}@{DOMAIN}")
        names[3] = f"k.tanaka@{DOMAIN}"
        return [
            Account(
                name,
                self._jp_address(),
                f"126.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                f"133.242.10.{rng.randint(20, 23)}",
                rng.random() < 0.08,
            )
            for name in names
        ]

    def _jp_address(self) -> str:
        rng = self.rng
        first = rng.choice(("60.70", "153.156", "106.130", "133.242"))
        return f"{first}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"

    def _office(self, account: Account, t: float) -> str:
        hour = int(t // 3600) % 24
        if 8 <= hour < 18 and self.rng.random() < 0.7:
            return account.office
        return account.mobile if self.rng.random() < 0.5 else account.home

    def _bot(self) -> str:
        rng = self.rng
        return (
            f"{rng.choice(_BOT_PREFIXES)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}."
            f"{rng.randint(1, 254)}"
        )

    def _session(self) -> str:
        return base64.b64encode(self.rng.getrandbits(96).to_bytes(12, "big")).decode()

    def _qid(self) -> str:
        return f"{self.rng.getrandbits(44):011X}"

    def _pid(self) -> int:
        return self.rng.randint(2000, 99999)

    # Postfix ---------------------------------------------------------------------------------

    def inbound(self, t: float) -> None:
        """A message from the Internet, delivered to one or two mailboxes by LMTP."""
        rng = self.rng
        name, address = rng.choice(_MTAS)
        n, m = rng.randint(2, 250), rng.randint(1, 200)
        client = f"{name.format(n=n, m=m)}[{address.format(n=n, m=m)}]"
        pid, qid = self._pid(), self._qid()
        smtpd = f"postfix/smtpd[{pid}]"
        self.emit(t, f"{smtpd}: connect from {client}")
        self.emit(
            t + 0.2,
            f"{smtpd}: Anonymous TLS connection established from {client}: "
            "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange "
            "X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256",
        )
        self.emit(t + 0.5, f"{smtpd}: {qid}: client={client}")
        self.emit(t + 0.6, f"postfix/cleanup[{pid + 3}]: {qid}: message-id=<{qid}.{n}@{name}>")
        rcpts = rng.sample(self.accounts, 1 if rng.random() < 0.8 else 2)
        self.emit(
            t + 0.7,
            f"postfix/qmgr[{QMGR}]: {qid}: from=<news{n}@example.com>, "
            f"size={rng.randint(2000, 90000)}, nrcpt={len(rcpts)} (queue active)",
        )
        self.emit(
            t + 0.8,
            f"{smtpd}: disconnect from {client} ehlo=2 starttls=1 mail=1 "
            f"rcpt={len(rcpts)} data=1 quit=1 commands={6 + len(rcpts)}",
        )
        lmtp = self._pid()
        self.emit(t + 0.8, f"dovecot: lmtp({lmtp}): Connect from local")
        for rcpt in rcpts:
            session = self._session()
            self.emit(
                t + 0.9,
                f"dovecot: lmtp({rcpt.name})<{lmtp}><{session}>: "
                f"msgid=<{qid}.{n}@{name}>: saved mail to INBOX",
            )
            self.emit(
                t + 0.9,
                f"postfix/lmtp[{pid + 5}]: {qid}: to=<{rcpt.name}>, "
                f"relay={HOST}.{DOMAIN}[private/dovecot-lmtp], delay=0.9, "
                f"delays=0.6/0.01/0.1/0.19, dsn=2.0.0, status=sent (250 2.0.0 "
                f"<{rcpt.name}> {session} Saved)",
            )
        self.emit(
            t + 1.0, f"dovecot: lmtp({lmtp}): Disconnect from local: Logged out (state=READY)"
        )
        self.emit(t + 1.0, f"postfix/qmgr[{QMGR}]: {qid}: removed")

    def rejected(self, t: float) -> None:
        """Spam refused at RCPT (an RBL or an unknown user), or a bot that hangs up."""
        rng = self.rng
        address = self._bot()
        client = f"unknown[{address}]"
        smtpd = f"postfix/smtpd[{self._pid()}]"
        self.emit(t, f"{smtpd}: connect from {client}")
        roll = rng.random()
        if roll < 0.5:
            rbl = rng.choice(_RBL_DOMAINS)
            self.emit(
                t + 0.4,
                f"{smtpd}: NOQUEUE: reject: RCPT from {client}: 554 5.7.1 "
                f"Service unavailable; Client host [{address}] blocked using {rbl}; "
                f"from=<info@{address.replace('.', '-')}.example> "
                f"to=<{rng.choice(self.accounts).name}> proto=ESMTP helo=<User>",
            )
            commands = "ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4"
        elif roll < 0.8:
            self.emit(
                t + 0.4,
                f"{smtpd}: NOQUEUE: reject: RCPT from {client}: 550 5.1.1 "
                f"<{rng.choice(_GUESSED)}@{DOMAIN}>: Recipient address rejected: User "
                f"unknown in virtual mailbox table; from=<> to=<{rng.choice(_GUESSED)}"
                f"@{DOMAIN}> proto=ESMTP helo=<[{address}]>",
            )
            commands = "ehlo=1 mail=1 rcpt=0/1 rset=1 quit=1 commands=4/5"
        else:
            self.emit(t + 2.0, f"{smtpd}: lost connection after EHLO from {client}")
            commands = "ehlo=1 commands=1"
        self.emit(t + 2.1, f"{smtpd}: disconnect from {client} {commands}")

    def submission(self, t: float, account: Account | None = None, address: str = "") -> None:
        """A message submitted with SMTP AUTH on port 587 and relayed out (or delivered here)."""
        rng = self.rng
        account = account or rng.choice(self.accounts)
        client = f"unknown[{address or self._office(account, t)}]"
        pid, qid = self._pid(), self._qid()
        smtpd = f"postfix/submission/smtpd[{pid}]"
        method = "PLAIN" if rng.random() < 0.7 else "LOGIN"
        rcpts = [
            f"{rng.choice(_SURNAMES)}{rng.randint(1, 99)}@partner{rng.randint(1, 40)}.example.co.jp"
            for _ in range(rng.choice((1, 1, 1, 2, 3)))
        ]
        self.emit(t, f"{smtpd}: connect from {client}")
        self.emit(
            t + 0.3,
            f"{smtpd}: Anonymous TLS connection established from {client}: "
            "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange "
            "X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256",
        )
        self.emit(
            t + 0.6,
            f"{smtpd}: {qid}: client={client}, sasl_method={method}, sasl_username={account.name}",
        )
        self.emit(t + 0.7, f"postfix/cleanup[{pid + 2}]: {qid}: message-id=<{qid}@{DOMAIN}>")
        self.emit(
            t + 0.8,
            f"postfix/qmgr[{QMGR}]: {qid}: from=<{account.name}>, "
            f"size={rng.randint(1500, 400000)}, nrcpt={len(rcpts)} (queue active)",
        )
        self.emit(
            t + 0.9,
            f"{smtpd}: disconnect from {client} ehlo=2 starttls=1 auth=1 mail=1 "
            f"rcpt={len(rcpts)} data=1 quit=1 commands={7 + len(rcpts)}",
        )
        for rcpt in rcpts:
            self.emit(
                t + 1.6,
                f"postfix/smtp[{pid + 4}]: {qid}: to=<{rcpt}>, relay=mx."
                f"{rcpt.partition('@')[2]}[203.0.113.{len(rcpt)}]:25, delay=1.6, "
                "delays=0.8/0.01/0.3/0.5, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued)",
            )
        self.emit(t + 1.7, f"postfix/qmgr[{QMGR}]: {qid}: removed")

    def smtp_guesser(self, t: float) -> None:
        """SMTP AUTH guessing: one to three wrong passwords per connection, then a hang-up."""
        rng = self.rng
        address = rng.choice(_SMTP_GUESSERS) if rng.random() < 0.6 else self._bot()
        client = f"unknown[{address}]"
        service = "submission" if rng.random() < 0.7 else "smtps"
        smtpd = f"postfix/{service}/smtpd[{self._pid()}]"
        self.emit(t, f"{smtpd}: connect from {client}")
        tries = rng.choice((1, 1, 2, 3))
        user = rng.choice(self.guessed)
        for i in range(tries):
            at = t + 1.0 + 2.5 * i
            roll = rng.random()
            if roll < 0.005:
                self.emit(
                    at,
                    f"{smtpd}: warning: {client}: SASL LOGIN authentication failed: "
                    "Connection lost to authentication server",
                    SASL_FAULT,
                )
                continue
            if roll < 0.35:
                reason = "SASL LOGIN authentication failed: authentication failure"
            elif roll < 0.65:
                reason = (
                    f"SASL LOGIN authentication failed: authentication failure, "
                    f"sasl_username={user}"
                )
            elif roll < 0.85:
                reason = "SASL LOGIN authentication failed: UGFzc3dvcmQ6"
            else:
                reason = (
                    f"SASL PLAIN authentication failed: authentication failure, "
                    f"sasl_username={user}"
                )
            self.emit(at, f"{smtpd}: warning: {client}: {reason}", SASL_FAIL, 1, address)
        end = t + 1.5 + 2.5 * tries
        if rng.random() < 0.5:
            self.emit(end, f"{smtpd}: lost connection after AUTH from {client}")
            self.emit(
                end,
                f"{smtpd}: disconnect from {client} ehlo=1 auth=0/{tries} commands=1/{tries + 1}",
            )
        else:
            self.emit(
                end,
                f"{smtpd}: disconnect from {client} ehlo=1 auth=0/{tries} rset=1 "
                f"quit=1 commands=3/{tries + 3}",
            )

    # Dovecot ---------------------------------------------------------------------------------

    def imap_session(self, t: float) -> None:
        """A mail client logs in (IMAP, or POP3 for old clients) and later logs out."""
        rng = self.rng
        account = rng.choice(self.accounts)
        address = self._office(account, t)
        session, mpid = self._session(), self._pid()
        protocol = "pop3" if account.legacy else "imap"
        tls = "" if account.legacy and rng.random() < 0.5 else ", TLS"
        self.emit(
            t,
            f"dovecot: {protocol}-login: Login: user=<{account.name}>, method=PLAIN, "
            f"rip={address}, lip={LIP}, mpid={mpid}{tls}, session=<{session}>",
            LOGIN_OK,
        )
        self._logout(t + rng.uniform(0.5, 1800.0), protocol, account, mpid, session)

    def _logout(self, t: float, protocol: str, account: Account, mpid: int, session: str) -> None:
        rng = self.rng
        process = f"dovecot: {protocol}({account.name})<{mpid}><{session}>"
        if protocol == "pop3":
            size = rng.randint(0, 300000)
            self.emit(
                t,
                f"{process}: Disconnected: Logged out top=0/0, retr=1/{size}, del=1/1, size={size}",
            )
        elif rng.random() < 0.6:
            self.emit(
                t,
                f"{process}: Logged out in={rng.randint(50, 900)} "
                f"out={rng.randint(500, 90000)} deleted=0 expunged=0 trashed=0 hashed=0 "
                "requested=0 sorted=0 sort=0",
            )
        else:
            self.emit(
                t,
                f"{process}: Disconnected: Connection closed (IDLE running for 0.001 + "
                f"waiting input for {rng.uniform(1, 1800):.3f} secs, 2 B in + 10+0 B out, "
                f"state=wait-input) in={rng.randint(50, 900)} out={rng.randint(500, 9000)} "
                "deleted=0 expunged=0 trashed=0 hashed=0 requested=0 sorted=0 sort=0",
            )

    def _guessing_session(
        self, t: float, address: str, user: str, tries: int, protocol: str, known: bool
    ) -> float:
        """``tries`` wrong passwords in one session, each logged by the auth process, then the
        login process's summary; returns the time of the summary."""
        rng = self.rng
        session = self._session()
        reason = "Password mismatch" if known else "unknown user"
        at = t
        for _ in range(tries):
            at += rng.uniform(1.0, 4.0)
            self.emit(
                at,
                f"dovecot: auth: passwd-file({user},{address},<{session}>): {reason}",
                AUTH_FAIL,
                1,
                address,
            )
        at += rng.uniform(0.5, 3.0)
        tls = ", TLS" if rng.random() < 0.6 else ""
        ended = "Disconnected" if protocol == "imap" or rng.random() < 0.5 else "Aborted login"
        self.emit(
            at,
            f"dovecot: {protocol}-login: {ended} (auth failed, {tries} attempts in "
            f"{int(at - t)} secs): user=<{user}>, method=PLAIN, rip={address}, lip={LIP}"
            f"{tls}, session=<{session}>",
            SUMMARY_FAIL,
            tries,
            address,
        )
        return at

    def imap_guesser(self, t: float) -> None:
        """IMAP/POP3 guessing from a known source or a botnet address."""
        rng = self.rng
        address = rng.choice(_IMAP_GUESSERS) if rng.random() < 0.7 else self._bot()
        user = rng.choice(self.guessed)
        known = "@" in user and not user.startswith(tuple(_GUESSED))
        protocol = "imap" if rng.random() < 0.7 else "pop3"
        self._guessing_session(t, address, user, rng.choice((1, 2, 3, 3)), protocol, known)

    def spray(self, t: float) -> None:
        """One password tried on one or two real accounts from a host of one /24."""
        rng = self.rng
        address = f"{_SPRAY_NET}.{rng.randint(2, 60)}"
        for account in rng.sample(self.accounts, rng.choice((1, 2))):
            self._guessing_session(t, address, account.name, 1, "imap", True)

    def stale_phone(self, t: float) -> None:
        """A phone retrying last month's password: one wrong password per poll."""
        account = self.rng.choice(self.stale)
        self._guessing_session(t, account.mobile, account.name, 1, "imap", True)

    def mistype(self, t: float) -> None:
        """A person mistypes the password once, then gets it right in the same session."""
        rng = self.rng
        account = rng.choice(self.accounts)
        address = self._office(account, t)
        session, mpid = self._session(), self._pid()
        self.emit(
            t,
            f"dovecot: auth: passwd-file({account.name},{address},<{session}>): Password mismatch",
            AUTH_FAIL,
            1,
            address,
        )
        self.emit(
            t + rng.uniform(3, 9),
            f"dovecot: imap-login: Login: user=<{account.name}>, "
            f"method=PLAIN, rip={address}, lip={LIP}, mpid={mpid}, TLS, "
            f"session=<{session}>",
            LOGIN_OK,
        )
        self._logout(t + rng.uniform(60, 900), "imap", account, mpid, session)

    def scanner(self, t: float) -> None:
        """Port scanners and probes: sessions that never try a password (a few try plaintext)."""
        rng = self.rng
        address = self._bot()
        session = self._session()
        roll = rng.random()
        if roll < 0.35:
            self.emit(
                t,
                f"dovecot: imap-login: Disconnected (no auth attempts in 0 secs): "
                f"user=<>, rip={address}, lip={LIP}, TLS handshaking: SSL_accept() "
                "failed: error:0A00006C:SSL routines::bad key share, "
                f"session=<{session}>",
            )
        elif roll < 0.65:
            protocol = rng.choice(("imap", "pop3"))
            self.emit(
                t,
                f"dovecot: {protocol}-login: Disconnected (no auth attempts in "
                f"{rng.randint(0, 9)} secs): user=<>, rip={address}, lip={LIP}, "
                f"session=<{session}>",
            )
        elif roll < 0.75:
            self.emit(
                t,
                f"dovecot: pop3-login: Disconnected (tried to use disallowed plaintext "
                f"auth): user=<>, rip={address}, lip={LIP}, session=<{session}>",
                PLAINTEXT,
                1,
                address,
            )
        else:
            smtpd = f"postfix/smtpd[{self._pid()}]"
            client = f"unknown[{address}]"
            self.emit(t, f"{smtpd}: connect from {client}")
            self.emit(t + 0.5, f"{smtpd}: lost connection after CONNECT from {client}")
            self.emit(t + 0.5, f"{smtpd}: disconnect from {client} commands=0/0")

    def intrusion(self, t: float) -> None:
        """Three wrong passwords, then at 04:45 the right one from abroad; the account then
        sends a burst (``t`` is about five minutes before)."""
        self.intruded = True
        account, address = self.victim, _INTRUDER
        for i in range(3):
            self._guessing_session(t + 60 * i, address, account.name, 1, "imap", True)
        at = max(t + 240, INTRUSION_AT)
        session, mpid = self._session(), self._pid()
        self.emit(
            at,
            f"dovecot: imap-login: Login: user=<{account.name}>, method=PLAIN, "
            f"rip={address}, lip={LIP}, mpid={mpid}, TLS, session=<{session}>",
            LOGIN_OK,
        )
        self._logout(at + 40, "imap", account, mpid, session)
        for i in range(300):
            self.submission(at + 60 + 2.0 * i, account, address)


def generate(path: Path, lines: int, seed: int = 20251006) -> dict[str, object]:
    """Write ``lines`` lines to ``path``; return the ground truth of what was written."""
    with path.open("w", encoding="utf-8") as out:
        synth = LogSynth(out, lines, seed)
        synth.run()
    kinds = dict(sorted(synth.kinds.items()))
    return {
        "version": VERSION,
        "lines": synth.written,
        "seed": seed,
        "start": START.isoformat(),
        "hours": round(synth.last / 3600, 1),
        "postfix_lines": synth.postfix_lines,
        "year": YEAR,
        "kinds": kinds,
        "attempts": dict(sorted(synth.attempts.items())),
        "failing_addresses": len(synth.failing_addresses),
    }


def cached(folder: Path, lines: int, seed: int = 20251006) -> tuple[Path, dict[str, object]]:
    """The log of ``(lines, seed)`` in ``folder``, generated once; (path, ground truth)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"mail-v{VERSION}-{lines}-{seed}.log"
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        truth: dict[str, object] = json.loads(meta.read_text())
        if truth.get("lines") == lines:
            return path, truth
    partial = path.with_suffix(".partial")
    truth = generate(partial, lines, seed)
    partial.replace(path)
    meta.write_text(json.dumps(truth, indent=1))
    return path, truth


def main(argv: list[str] | None = None) -> int:
    """Write one log and print its ground truth."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20251006)
    args = parser.parse_args(argv)
    json.dump(generate(args.path, args.lines, args.seed), sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
