"""DovecotLogParser: logins and failed attempts, each attempt counted once, untrusted lines."""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from mailwarden.events import Login
from mailwarden.sources.logs import make_parser
from mailwarden.sources.logs.dovecot import MAX_ATTEMPTS, DovecotLogParser

START = datetime(2025, 10, 6, 4, 45, 0, tzinfo=UTC)


def stamp(seconds: float) -> str:
    """The syslog timestamp ``seconds`` after START."""
    moment = START + timedelta(seconds=seconds)
    return f"{moment:%b} {moment.day:2d} {moment:%H:%M:%S}"


def at(seconds: float) -> float:
    return (START + timedelta(seconds=seconds)).timestamp()


def summary(t: float, n: int, ip: str, user: str = "u", kind: str = "imap") -> str:
    return (
        f"{stamp(t)} mail dovecot: {kind}-login: Disconnected (auth failed, {n} attempts in 9"
        f" secs): user=<{user}>, method=PLAIN, rip={ip}, lip=192.0.2.25, TLS, session=<S{t:g}>"
    )


def auth(t: float, ip: str, user: str = "u", reason: str = "Password mismatch") -> str:
    return f"{stamp(t)} mail dovecot: auth: passwd-file({user},{ip},<S>): {reason}"


def worker(t: float, ip: str, user: str = "u") -> str:
    return (
        f"{stamp(t)} mail dovecot: auth-worker(4100): pam({user},{ip}): pam_authenticate()"
        " failed: Authentication failure (password mismatch?)"
    )


def pam_unix(t: float, ip: str, user: str = "u") -> str:
    return (
        f"{stamp(t)} mail auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0"
        f" euid=0 tty=dovecot ruser={user} rhost={ip}  user={user}"
    )


def new_parser(**options: float) -> DovecotLogParser:
    return DovecotLogParser(UTC, 2025, **options)  # type: ignore[arg-type]


def feed_all(parser: DovecotLogParser, lines: Iterable[str]) -> list[Login]:
    events: list[Login] = []
    for line in lines:
        events.extend(parser.feed(line))
    return events + parser.flush()


def failed_attempts(events: Iterable[Login]) -> int:
    return sum(event.attempts for event in events if not event.success)


def test_a_login_gives_its_fields() -> None:
    """A login process's Login: line is a successful Login with protocol, mechanism and TLS."""
    line = (
        f"{stamp(0)} mail dovecot[812]: imap-login: Login: user=<K.Tanaka@Example.JP>,"
        " method=plain, rip=203.0.113.77, lip=192.0.2.25, mpid=48121, TLS, session=<AbCd>"
    )
    assert new_parser().feed(line) == [
        Login(
            at(0),
            "k.tanaka@example.jp",
            "203.0.113.77",
            True,
            "imap",
            "PLAIN",
            "log",
            {"tls": "yes", "lip": "192.0.2.25", "session": "AbCd"},
        )
    ]


def test_a_summary_stands_for_its_attempts() -> None:
    """Without auth_verbose the login process's summary is the only record: one event that
    stands for all the session's attempts."""
    (event,) = new_parser().feed(summary(0, 3, "185.220.101.4", "info"))
    assert (event.success, event.attempts, event.account) == (False, 3, "info")
    assert event.details["attempts"] == "3"
    assert event.details["reason"] == "auth failed"


def test_auth_lines_come_first_and_the_summary_adds_nothing() -> None:
    """With auth_verbose each attempt is reported from its auth line, at once; the summary of
    the same attempts adds none."""
    parser = new_parser()
    first = parser.feed(auth(0, "185.220.101.4"))
    second = parser.feed(auth(4, "185.220.101.4"))
    assert [event.time for event in first + second] == [at(0), at(4)]
    assert parser.feed(summary(6, 2, "185.220.101.4")) == []
    assert parser.stats.repeated == 2


def test_the_summary_adds_the_attempts_no_auth_line_showed() -> None:
    """One attempt logged by the auth process, three in the summary: the summary adds two."""
    events = feed_all(new_parser(), [auth(0, "198.51.100.9"), summary(5, 3, "198.51.100.9")])
    assert [event.attempts for event in events] == [1, 2]
    assert events[1].details["attempts"] == "3"


def test_pam_worker_and_summary_are_one_attempt() -> None:
    """pam_unix, the auth worker's pam() line and the summary of one attempt count once."""
    ip = "198.51.100.80"
    events = feed_all(new_parser(), [pam_unix(0, ip), worker(1, ip), summary(2, 1, ip)])
    assert failed_attempts(events) == 1
    assert events[0].details["service"] == "pam_unix"


def test_dovecot_24_worker_and_auth_lines_are_one_attempt() -> None:
    """Dovecot 2.4 logs a failure from the worker and from the auth process: one attempt."""
    lines = [
        "Nov 28 10:57:20 auth-worker(info@example.com,198.51.100.66)<4001084><CvN+E95Uf4e7eEnj>:"
        " request [12]: Info: sql: Password mismatch",
        "Nov 28 10:57:20 auth(info@example.com,198.51.100.66,sasl:plain)<CvN+E95Uf4e7eEnj>: Info:"
        " sql: Password mismatch",
        "Nov 28 10:57:37 imap-login: Info: Login aborted: Connection closed (auth failed, 1"
        " attempts in 17 secs) (auth_failed): user=<info@example.com>, method=PLAIN,"
        " rip=198.51.100.66, lip=192.0.2.1, TLS, session=<CvN+E95Uf4e7eEnj>",
    ]
    (event,) = feed_all(new_parser(), lines)
    assert event.details == {
        "reason": "Password mismatch",
        "passdb": "sql",
        "service": "auth-worker",
        "session": "CvN+E95Uf4e7eEnj",
    }


def test_parallel_sessions_from_one_address_count_every_attempt_once() -> None:
    """Five sessions from one address, interleaved, each with two logged attempts and its
    summary: ten attempts, ten events, whatever order the summaries come in."""
    ip = "185.220.101.4"
    lines = [auth(second, ip, f"user{second % 5}") for second in range(10)]
    lines += [summary(20 + number, 2, ip, f"user{number}") for number in (3, 0, 4, 1, 2)]
    events = feed_all(new_parser(), lines)
    assert (len(events), failed_attempts(events)) == (10, 10)


def test_refusals_before_auth_use_no_earlier_line() -> None:
    """A plaintext refusal never reached the auth process: it does not use up an attempt that
    an auth line reported for another session from the same address."""
    ip = "198.51.100.40"
    plaintext = (
        f"{stamp(2)} mail dovecot: pop3-login: Aborted login (tried to use disallowed plaintext"
        f" auth): user=<soumu>, rip={ip}, lip=192.0.2.25"
    )
    events = feed_all(new_parser(), [auth(0, ip), plaintext, summary(5, 1, ip)])
    assert [event.details["reason"] for event in events] == [
        "Password mismatch",
        "plaintext auth disabled",
    ]
    assert failed_attempts(events) == 2


def test_an_old_report_does_not_absorb_a_later_summary() -> None:
    """An attempt reported more than the window ago (its session then logged in) is not taken
    for the attempt of a later session's summary."""
    ip = "203.0.113.77"
    events = feed_all(new_parser(window=600), [auth(0, ip), summary(601, 1, ip)])
    assert failed_attempts(events) == 2
    events = feed_all(new_parser(window=600), [auth(0, ip), summary(599, 1, ip)])
    assert failed_attempts(events) == 1


def test_addresses_remembered_are_bounded() -> None:
    """Only max_addresses addresses are remembered; the stalest is forgotten first (its summary
    then counts again: memory is bounded at the price of that double count)."""
    parser = new_parser(max_addresses=2)
    events = feed_all(
        parser,
        [
            auth(0, "192.0.2.1"),
            auth(1, "192.0.2.2"),
            auth(2, "192.0.2.3"),
            summary(3, 1, "192.0.2.1"),
        ],
    )
    assert failed_attempts(events) == 4
    assert len(parser._ledger._entries) == 2


def test_login_process_reasons() -> None:
    """The ways a session can end after failing, in 2.3 and 2.4 wording, and those that are no
    failure (nothing tried, TLS never finished, internal errors)."""
    reasons = {
        "Aborted login (tried to use disabled plaintext auth)": "plaintext auth disabled",
        "Login aborted: Connection closed (tried to use disallowed cleartext auth, 1 attempts in"
        " 0 secs) (cleartext_auth_disabled)": "plaintext auth disabled",
        "Disconnected (tried to use unsupported auth mechanism)": "unsupported mechanism",
        "Disconnected (authorization failed, 2 attempts in 3 secs)": "authorization failed",
        "Disconnected (password expired)": "password expired",
        "Disconnected (login disabled)": "login disabled",
        "Disconnected (proxy dest auth failed)": "proxy destination auth failed",
        "Disconnected: read(size=7) failed: reset (auth failed, 1 attempts)": "auth failed",
        "Disconnected (no auth attempts in 0 secs)": None,
        "Disconnected (disconnected before auth was ready, waited 0 secs)": None,
        "Disconnected (client didn't finish SASL auth, waited 2 secs)": None,
        "Disconnected (internal failure, 1 successful auths)": None,
        "Disconnected (auth service reported temporary failure)": None,
        "Login aborted: x (disconnected during TLS handshake) (tls_handshake_not_finished)": None,
        "Disconnected: Logged out": None,
    }
    for head, reason in reasons.items():
        line = f"{stamp(0)} mail dovecot: imap-login: {head}: user=<u>, rip=192.0.2.9, lip=1.2.3.4"
        events = new_parser().feed(line)
        assert [event.details["reason"] for event in events] == ([reason] if reason else []), head


def test_a_user_name_cannot_choose_the_address() -> None:
    """A client's user name may hold ", rip=..." or "rhost=...": the address stays Dovecot's."""
    line = (
        f"{stamp(0)} mail dovecot: imap-login: Disconnected (auth failed, 1 attempts): user=<x>,"
        " rip=192.0.2.66>, method=PLAIN, rip=198.51.100.5, lip=192.0.2.25, TLS"
    )
    (event,) = new_parser().feed(line)
    assert (event.address, event.account, event.mechanism) == (
        "198.51.100.5",
        "x>, rip=192.0.2.66",
        "PLAIN",
    )
    injected = "y rhost=192.0.2.66  user=y"
    line = (
        f"{stamp(1)} mail auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0"
        f" euid=0 tty=dovecot ruser={injected} rhost=198.51.100.6  user={injected}"
    )
    (event,) = new_parser().feed(line)
    assert (event.address, event.account) == ("198.51.100.6", injected)


def test_passwords_are_never_kept() -> None:
    """auth_verbose_passwords' "(given password: ...)" and its hash never reach an event."""
    lines = [
        auth(0, "192.0.2.1", reason="Password mismatch (given password: Hunter2!)"),
        auth(1, "192.0.2.2", reason="unknown user (SHA1 of given password: f638ff)"),
        f"{stamp(2)} mail dovecot: auth-worker(1): pam(u,192.0.2.3): pam_authenticate() failed:"
        " Authentication failure (given password: Hunter2!)",
    ]
    events = feed_all(new_parser(), lines)
    assert len(events) == 3
    values = [value for event in events for value in event.details.values()]
    assert not any("Hunter2" in value or "f638ff" in value for value in values)


def test_server_faults_and_other_services_are_no_failures() -> None:
    """The auth system failing, PAM of sshd and auth lines without a failure give nothing."""
    lines = [
        f"{stamp(0)} mail dovecot: auth-worker(1): pam(u,192.0.2.3): pam_authenticate() failed:"
        " Authentication service cannot retrieve authentication info",
        f"{stamp(0)} mail sshd[9]: pam_unix(sshd:auth): authentication failure; logname= uid=0"
        " euid=0 tty=ssh ruser= rhost=192.0.2.4  user=root",
        f"{stamp(0)} mail dovecot: auth: Error: ldap(u,192.0.2.5): Connection appears to hang",
        f"{stamp(0)} mail dovecot: auth: passwd-file(u,192.0.2.6): lookup: user=u file=/etc/pw",
    ]
    assert feed_all(new_parser(), lines) == []


def test_tai64n_labels_carry_utc() -> None:
    """A TAI64N label is 2^62 + 10 + Unix seconds, whatever the zone and year given."""
    label = f"@{2**62 + 10 + int(at(0)):016x}{500_000_000:08x}"
    line = f"{label} imap-login: Info: Login: user=<u>, method=PLAIN, rip=192.0.2.1, lip=192.0.2.2"
    (event,) = DovecotLogParser(UTC, 1999).feed(line)
    assert event.time == at(0) + 0.5
    assert DovecotLogParser(UTC).feed("@4000zzzz" + line[9:]) == []


def test_flush_has_nothing_and_the_parser_is_registered() -> None:
    """Events come out at once, flush gives none, and the parser is known by name."""
    assert new_parser().flush() == []
    parser = make_parser("dovecot", UTC, 2025)
    assert parser.feed(summary(0, 1, "192.0.2.1"))


# untrusted input ------------------------------------------------------------------------------

_FRAGMENTS = st.sampled_from(
    [
        "Oct  6 04:45:12 ",
        "@4000000068e349620ee6b280 ",
        "2025-10-06 04:45:12 ",
        "mail ",
        "dovecot: ",
        "dovecot[1]: ",
        "imap-login: ",
        "auth: ",
        "auth-worker(1): ",
        "auth(u,1.2.3.4,sasl:plain)<s>: ",
        "auth-worker(u,1.2.3.4)<1><s>: request [1]: ",
        "Info: ",
        "Login: ",
        "Disconnected ",
        "Login aborted: ",
        "(auth failed, 99999999999 attempts in 2 secs)",
        "(tried to use disallowed ",
        ": user=<",
        "user=<",
        ">, ",
        "method=",
        "rip=",
        ", rip=",
        "lip=",
        "session=<",
        "TLS",
        "secured",
        ", ",
        "passwd-file(",
        "pam(",
        "): ",
        "Password mismatch",
        "unknown user",
        "pam_authenticate() failed: ",
        "pam_unix(dovecot:auth): authentication failure; ",
        " ruser=",
        " rhost=",
        "  user=",
        "1.2.3.4",
        "::1",
        "(",
        ")",
        "<",
        ">",
        ",",
        ":",
        " ",
        ": 3 Time(s)",
        "\u00e9\u65e5\ufffd",
    ]
)


def _check(event: Login) -> None:
    assert isinstance(event, Login)
    assert 1 <= event.attempts <= MAX_ATTEMPTS
    assert len(event.account) <= 320 and len(event.address) <= 320
    assert all(isinstance(value, str) and len(value) <= 320 for value in event.details.values())


@settings(max_examples=400)
@given(st.lists(st.text(max_size=300), max_size=20))
def test_arbitrary_text_never_raises(lines: list[str]) -> None:
    """Any text, fed line after line, gives well-formed events or none, and never raises."""
    parser = new_parser()
    for event in feed_all(parser, lines):
        _check(event)
    assert parser.stats.lines == len(lines)


@settings(max_examples=1500)
@given(st.lists(st.lists(_FRAGMENTS, max_size=25).map("".join), min_size=1, max_size=10))
def test_dovecot_shaped_garbage_never_raises(lines: list[str]) -> None:
    """Lines built from the pieces of real ones, in any order, never raise and give bounded
    events (a forged attempt count is capped)."""
    for event in feed_all(new_parser(), lines):
        _check(event)


@st.composite
def sessions(draw: st.DrawFn) -> tuple[list[str], int]:
    """Failing sessions from a few addresses, interleaved, logged as Dovecot would with or
    without auth_verbose, PAM and 2.4's double auth lines; and their number of attempts."""
    verbose, pam = draw(st.booleans()), draw(st.booleans())
    count = draw(st.integers(min_value=1, max_value=12))
    streams: list[list[str]] = []
    total = 0
    for number in range(count):
        ip = f"192.0.2.{draw(st.integers(min_value=1, max_value=3))}"
        attempts = draw(st.integers(min_value=1, max_value=3))
        total += attempts
        lines = []
        cut = len(stamp(0)) + 1  # the line without its timestamp
        for _ in range(attempts):
            if pam:
                lines.append(pam_unix(0, ip)[cut:])
            if verbose:
                lines.append((worker(0, ip) if pam else auth(0, ip))[cut:])
        lines.append(summary(0, attempts, ip, f"user{number}")[cut:])
        streams.append(lines)
    order = draw(st.permutations([index for index, lines in enumerate(streams) for _ in lines]))
    cursor = [0] * count
    log: list[str] = []
    for second, index in enumerate(order):
        log.append(f"{stamp(second)} {streams[index][cursor[index]]}")
        cursor[index] += 1
    return log, total


@settings(max_examples=400)
@given(sessions())
def test_each_failed_attempt_is_counted_once(log: tuple[list[str], int]) -> None:
    """However sessions from shared addresses interleave, whatever layers log the attempts,
    the attempts of the failure events add up to the attempts made."""
    lines, total = log
    assert failed_attempts(feed_all(new_parser(), lines)) == total


@settings(deadline=3000, max_examples=20)
@given(st.sampled_from(["): ", " rhost=", "(", "(auth failed, 1 attempts", ", rip=", "@"]))
def test_huge_lines_are_quick(piece: str) -> None:
    """A line of a megabyte made of one repeated piece is handled in linear time."""
    parser = new_parser()
    heads = [
        f"{stamp(0)} mail dovecot: auth: passwd-file(",
        f"{stamp(0)} mail auth: pam_unix(dovecot:auth): authentication failure; ruser=",
        f"{stamp(0)} mail dovecot: imap-login: Disconnected ",
    ]
    for head in heads:
        started = time.perf_counter()
        parser.feed(head + piece * (1_000_000 // len(piece)) + "): Password mismatch")
        assert time.perf_counter() - started < 1.0


# speed --------------------------------------------------------------------------------------


def synthetic_log(sessions: int, seed: int = 1) -> list[str]:
    """A busy IMAP server's log: logins and logouts (45 %), LMTP deliveries (25 %), failed
    logins (15 %) and scanners (15 %); about two lines a session."""
    rnd = random.Random(seed)
    lines: list[str] = []
    clock = 0
    for number in range(sessions):
        clock += rnd.randint(0, 2)
        now, user, session = stamp(clock), f"user{number % 300}@example.jp", f"{number:016X}"
        ip, kind = f"198.51.100.{number % 250}", rnd.random()
        prefix = f"{now} mail dovecot:"
        if kind < 0.45:
            lines += [
                f"{prefix} imap-login: Login: user=<{user}>, method=PLAIN, rip={ip},"
                f" lip=192.0.2.25, mpid={4000 + number}, TLS, session=<{session}>",
                f"{prefix} imap({user})<{4000 + number}><{session}>: Logged out in=1043"
                " out=20712 deleted=0 expunged=0 trashed=0 hashed=0 requested=0 sorted=0 sort=0",
            ]
        elif kind < 0.7:
            lines += [
                f"{prefix} lmtp({5000 + number}): Connect from local",
                f"{prefix} lmtp({user})<{5000 + number}><{session}>: msgid=<{number}@example.org>:"
                " saved mail to INBOX",
                f"{prefix} lmtp({5000 + number}): Disconnect from local: Client has quit the"
                " connection (state=READY)",
            ]
        elif kind < 0.85:
            lines.append(summary(clock, 1, f"203.0.113.{number % 200}", user))
        else:
            lines.append(
                f"{prefix} pop3-login: Disconnected (no auth attempts in 0 secs): user=<>,"
                f" rip=203.0.113.{number % 200}, lip=192.0.2.25, session=<{session}>"
            )
    return lines


def lines_per_second(lines: list[str]) -> float:
    """The best of three runs of a fresh parser over ``lines``."""
    best = 0.0
    for _ in range(3):
        parser = new_parser()
        feed = parser.feed
        started = time.perf_counter()
        for line in lines:
            feed(line)
        best = max(best, len(lines) / (time.perf_counter() - started))
    return best


def test_synthetic_log_is_read_whole() -> None:
    """A synthetic log of typical traffic yields its logins (speed is measured in bench/)."""
    lines = synthetic_log(5000)
    events = feed_all(new_parser(), lines)
    assert sum(event.success for event in events) > 2000


_FIELD_TEXT = st.text(alphabet="aT,L<>S=:. -/+0F@é", max_size=8)


@settings(max_examples=300)
@given(user=_FIELD_TEXT, method=st.sampled_from(["PLAIN", "login", "X-1", "", "a,b"]),
       rip=st.sampled_from(["192.0.2.7", "2001:db8::1", "", "x, rip=1.2.3.4"]),
       lip=st.sampled_from(["192.0.2.25", "", "a=b"]), mpid=st.sampled_from(["41354", "", "x"]),
       security=st.sampled_from(["TLS, ", "secured, ", "", "TLS: Disconnected, "]),
       session=st.sampled_from(["r4iHTGKilIMCMwFi", "", "abcTLS", "a>b", "a, secured"]),
       tail=st.sampled_from(["", ", x", ">"]))
def test_usual_login_fields_read_as_any_login_fields(user, method, rip, lip, mpid, security,
                                                     session, tail):
    """The one-step reading of the usual login fields agrees with the general reading."""
    from mailwarden.sources.logs.dovecot import _any_login_fields, _login_fields

    fields = (f"user=<{user}>, method={method}, rip={rip}, lip={lip}, mpid={mpid}, {security}"
              f"session=<{session}>{tail}")
    assert _login_fields(fields) == _any_login_fields(fields)
