"""EximLogParser: messages assembled from their lines, emitted once, in order; SMTP AUTH logins."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from mailwarden.events import Delivery, Login, Submission
from mailwarden.sources.logs import make_parser
from mailwarden.sources.logs.exim import EximEvent, EximLogParser

START = datetime(2025, 10, 6, 4, 45, 0, tzinfo=UTC)


def stamp(seconds: float) -> str:
    """Exim's timestamp ``seconds`` after START."""
    return f"{START + timedelta(seconds=seconds):%Y-%m-%d %H:%M:%S}"


def at(seconds: float) -> float:
    return (START + timedelta(seconds=seconds)).timestamp()


def arrival(t: float, mid: str, user: str = "", ip: str = "203.0.113.7", extra: str = "") -> str:
    auth = f" A=dovecot_plain:{user}" if user else ""
    protocol = "esmtpsa" if user else "esmtps"
    return (
        f"{stamp(t)} {mid} <= {user or 'news'}@example.jp H=(pc) [{ip}]:50122"
        f" I=[192.0.2.25]:587 P={protocol} X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=no{auth}"
        f" S=2048 id={mid}@example.jp{extra}"
    )


def delivered(t: float, mid: str, rcpt: str, flag: str = "=>", original: str = "") -> str:
    parent = f" <{original}>" if original else ""
    return (
        f"{stamp(t)} {mid} {flag} {rcpt}{parent} R=dnslookup T=remote_smtp"
        f' H=mx.example.org [198.51.100.5] C="250 2.0.0 Ok"'
    )


def completed(t: float, mid: str) -> str:
    return f"{stamp(t)} {mid} Completed"


def failed(t: float, ip: str, user: str = "info", code: str = "535") -> str:
    return (
        f"{stamp(t)} dovecot_login authenticator failed for (User) [{ip}]:21298"
        f" I=[192.0.2.25]:465: {code} Incorrect authentication data (set_id={user})"
    )


def new_parser(**options: float) -> EximLogParser:
    return EximLogParser(UTC, 2025, **options)  # type: ignore[arg-type]


def feed_all(parser: EximLogParser, lines: Iterable[str]) -> list[EximEvent]:
    events: list[EximEvent] = []
    for line in lines:
        events.extend(parser.feed(line))
    return events


def submissions(events: Iterable[EximEvent]) -> list[Submission]:
    return [event for event in events if isinstance(event, Submission)]


def logins(events: Iterable[EximEvent]) -> list[Login]:
    return [event for event in events if isinstance(event, Login)]


def test_a_message_is_assembled_from_its_lines() -> None:
    """The arrival, the deliveries (original addresses for aliases) and Completed make one
    Submission; the arrival is also a successful SMTP AUTH login."""
    mid = "1uAbCd-000Efg-Hi"
    parser = new_parser()
    events = feed_all(
        parser,
        [
            arrival(0, mid, "Alice"),
            delivered(1, mid, "x@example.org"),
            delivered(1, mid, "y@example.org", "->"),
            delivered(1, mid, "m1", original="team@example.jp"),
            delivered(2, mid, "z@example.org", "=="),
        ],
    )
    assert [type(event) for event in events] == [Login, Delivery, Delivery, Delivery, Delivery]
    (login,) = logins(events)
    assert (login.account, login.address, login.success, login.mechanism) == (
        "alice",
        "203.0.113.7",
        True,
        "PLAIN",
    )
    assert parser.feed(completed(3, mid)) == [
        Submission(
            time=at(0),
            account="alice",
            sender="Alice@example.jp",
            recipients=("x@example.org", "y@example.org", "team@example.jp", "z@example.org"),
            recipient_count=4,
            client_address="203.0.113.7",
            queue_id=mid,
            source="log",
        )
    ]
    assert parser.flush() == []


def test_deliveries_carry_status_relay_and_dsn() -> None:
    """=>, ->, ** and == are sent, sent, bounced and deferred, with the relay and the DSN."""
    mid = "1uAbCd-000Efg-Hi"
    lines = [
        delivered(0, mid, "a@example.org"),
        f"{stamp(0)} {mid} ** b@example.org R=dnslookup T=remote_smtp H=mx.example.org"
        " [198.51.100.5]: SMTP error from remote mail server after RCPT TO:<b@example.org>:"
        " 550 5.1.1 User unknown",
        f"{stamp(0)} {mid} == c@example.org R=dnslookup T=remote_smtp defer (-53): retry time"
        " not reached for any host",
        f"{stamp(0)} {mid} => k.sato <all@example.jp> R=local_user T=local_delivery",
    ]
    assert [
        (event.recipient, event.status, event.relay, event.dsn)
        for event in feed_all(new_parser(), lines)
        if isinstance(event, Delivery)
    ] == [
        ("a@example.org", "sent", "mx.example.org[198.51.100.5]", "2.0.0"),
        ("b@example.org", "bounced", "mx.example.org[198.51.100.5]", "5.1.1"),
        ("c@example.org", "deferred", "remote_smtp", ""),
        ("k.sato", "sent", "local_delivery", ""),
    ]


def test_submissions_come_out_in_arrival_order() -> None:
    """A message completed first waits for an older one still pending; both come out in order."""
    parser = new_parser()
    feed_all(parser, [arrival(0, "1uAAAA-000000-AA"), arrival(5, "1uBBBB-000000-BB")])
    assert parser.feed(completed(6, "1uBBBB-000000-BB")) == []
    events = parser.feed(completed(7, "1uAAAA-000000-AA"))
    assert [event.queue_id for event in submissions(events)] == [
        "1uAAAA-000000-AA",
        "1uBBBB-000000-BB",
    ]


def test_grace_period_completes_a_message() -> None:
    """A message never completed (deferred) comes out once the clock is past the grace period."""
    parser = new_parser(grace=60)
    parser.feed(arrival(0, "1uAAAA-000000-AA"))
    assert parser.feed(f"{stamp(60)} Start queue run: pid=4242") == []
    events = parser.feed(f"{stamp(61)} End queue run: pid=4242")
    assert [event.queue_id for event in submissions(events)] == ["1uAAAA-000000-AA"]
    assert parser.feed(completed(700, "1uAAAA-000000-AA")) == []


def test_flush_emits_what_is_pending_in_order() -> None:
    """flush() returns every pending message, oldest first, and leaves nothing behind."""
    parser = new_parser()
    feed_all(parser, [arrival(n, f"1uAAA{n}-000000-AA") for n in range(3)])
    assert [event.queue_id for event in parser.flush()] == [f"1uAAA{n}-000000-AA" for n in range(3)]
    assert parser.flush() == []
    assert parser.pending == 0


def test_pending_and_recipients_are_bounded() -> None:
    """No more than max_pending messages are held, and max_recipients addresses kept each."""
    parser = new_parser(max_pending=2, max_recipients=1)
    events = feed_all(parser, [arrival(n, f"1uAAA{n}-000000-AA") for n in range(4)])
    assert parser.pending <= 2
    assert parser.stats.evicted == 2
    feed_all(parser, [delivered(5, "1uAAA3-000000-AA", f"r{n}@example.org") for n in range(3)])
    events += parser.flush()
    last = submissions(events)[-1]
    assert (last.recipients, last.recipient_count) == (("r0@example.org",), 3)
    assert parser.stats.recipients_dropped == 2


def test_a_repeated_arrival_is_ignored() -> None:
    """Exim never reuses a message id: a second arrival while the first is pending changes
    nothing and is counted as unparsed."""
    parser = new_parser()
    feed_all(parser, [arrival(0, "1uAAAA-000000-AA", "a"), arrival(1, "1uAAAA-000000-AA", "b")])
    assert [(event.account, event.time) for event in parser.flush()] == [("a", at(0))]
    assert parser.stats.unparsed == 1


def test_bounces_exim_writes_are_no_submissions() -> None:
    """``<= <> R=<id>`` is Exim's own bounce: no Submission; an ordinary null sender is one."""
    lines = [
        f"{stamp(0)} 1uAAAA-000000-AA <= <> R=1uZZZZ-000000-ZZ U=Debian-exim P=local S=3500",
        f"{stamp(0)} 1uBBBB-000000-BB <= <> H=mx.example.org [198.51.100.5] P=esmtps S=3500",
    ]
    parser = new_parser()
    events = feed_all(parser, lines) + parser.flush()
    assert [event.queue_id for event in submissions(events)] == ["1uBBBB-000000-BB"]


def test_received_recipients_are_read_but_not_from_a_subject() -> None:
    """A ``for`` list at the end of the arrival gives recipients; one inside T="..." does not."""
    parser = new_parser()
    feed_all(
        parser,
        [
            arrival(0, "1uAAAA-000000-AA", "a", extra=" for r1@example.org r2@example.org"),
            arrival(1, "1uBBBB-000000-BB", "a", extra=' T="see for x@example.org"'),
            arrival(2, "1uCCCC-000000-CC", "a", extra=" for <bogus>"),
        ],
    )
    assert [event.recipients for event in parser.flush()] == [
        ("r1@example.org", "r2@example.org"),
        (),
        (),
    ]


def test_one_login_per_account_and_address_within_the_window() -> None:
    """A run of authenticated arrivals is one Login per account and address in login_window;
    another address, or the window's end, gives another."""
    lines = [
        arrival(0, "1uAAA0-000000-AA", "a"),
        arrival(10, "1uAAA1-000000-AA", "a"),
        arrival(20, "1uAAA2-000000-AA", "a", ip="198.51.100.201"),
        arrival(400, "1uAAA3-000000-AA", "a"),
    ]
    assert [login.time for login in logins(feed_all(new_parser(), lines))] == [
        at(0),
        at(20),
        at(400),
    ]
    assert len(logins(feed_all(new_parser(login_window=0), lines))) == 4


def test_authenticator_failures() -> None:
    """535 after a named authenticator is a failed Login with the mechanism its name suggests;
    a 4xx is the server's trouble; the set_id cannot supply the address."""
    events = feed_all(
        new_parser(),
        [
            failed(0, "185.220.101.4", "Info@Example.JP"),
            failed(1, "185.220.101.5", code="435"),
            failed(2, "185.220.101.6", "x) [192.0.2.1]:1: 535 Incorrect (set_id=y"),
            f"{stamp(3)} cram_md5 authenticator failed for [2001:db8::7]: 535 Incorrect"
            " authentication data: 2 Time(s)",
        ],
    )
    assert [(e.account, e.address, e.mechanism, e.attempts) for e in logins(events)] == [
        ("info@example.jp", "185.220.101.4", "LOGIN", 1),
        ("x) [192.0.2.1]:1: 535 incorrect (set_id=y", "185.220.101.6", "LOGIN", 1),
        ("", "2001:db8::7", "CRAM-MD5", 2),
    ]
    assert all(not event.success and event.protocol == "smtp" for event in logins(events))


def test_auth_where_not_offered() -> None:
    """AUTH before TLS or with a mechanism not offered is a failed attempt; an AUTH LOGIN
    initial response gives the user name, AUTH PLAIN's (which holds the password) is not read."""
    head = f"{stamp(0)} SMTP protocol error in"
    tail = "H=(pc) [185.220.101.9]:1 I=[192.0.2.25]:25 AUTH command used when not advertised"
    events = feed_all(
        new_parser(),
        [
            f'{head} "AUTH LOGIN aW5mb0BleGFtcGxlLmpw" {tail}',
            f'{head} "AUTH PLAIN AGFkbWluAHNlY3JldA==" {tail}',
            f'{head} "AUTH LOGIN !!!" {tail}',
            f'{head} "MAIL FROM:<a@b>" {tail}',
        ],
    )
    assert [(e.account, e.mechanism, e.details["reason"]) for e in logins(events)] == [
        ("info@example.jp", "LOGIN", "auth not advertised"),
        ("", "PLAIN", "auth not advertised"),
        ("", "LOGIN", "auth not advertised"),
    ]


def test_timestamp_forms() -> None:
    """Exim's offset and milliseconds, syslog with and without Exim's timestamp, the journal."""
    body = "login authenticator failed for (pc) [192.0.2.1]: 535 Incorrect authentication data"
    lines = {
        f"2025-10-06 13:45:00 +0900 {body}": at(0),
        f"2025-10-06 04:45:00.250 [77] {body}": at(0.25),
        f"Oct  6 04:45:00 mx exim[7]: 2025-10-06 04:45:01 {body}": at(1),
        f"Oct  6 04:45:02 mx exim4[7]: {body}": at(2),
        f"mx.example.jp exim[7]: 2025-10-06 04:45:03 {body}": at(3),
        f"2025-10-06 04:45:04 mx exim[7]: [7] {body}": at(4),
    }
    for line, when in lines.items():
        (event,) = new_parser().feed(line)
        assert event.time == when, line


def test_the_parser_is_registered() -> None:
    """make_parser knows the Exim parser by name."""
    assert make_parser("exim", UTC, 2025).feed(failed(0, "192.0.2.1"))


# untrusted input ------------------------------------------------------------------------------

_FRAGMENTS = st.sampled_from(
    [
        "2025-10-06 04:45:12 ",
        "2025-10-06 04:45:12 +0900 ",
        "Oct  6 04:45:12 ",
        "mx exim[1]: ",
        "[123] ",
        "1uAbCd-000Efg-Hi ",
        "1uAbCd-00000000Efg-HiJk ",
        "<= ",
        "=> ",
        "-> ",
        "** ",
        "== ",
        "Completed",
        "<>",
        " R=",
        " H=",
        " A=",
        " T=",
        "plain:",
        " for ",
        '"',
        "\\",
        "(",
        ")",
        "[",
        "]",
        "192.0.2.1",
        "::1",
        ":25",
        ": ",
        " authenticator failed for ",
        "535 Incorrect authentication data",
        " (set_id=",
        ": 3 Time(s)",
        'SMTP protocol error in "',
        "AUTH LOGIN ",
        "aW5mbw==",
        " AUTH command used when not advertised",
        " ",
        "a@example.jp",
        "\u00e9\u65e5\ufffd",
    ]
)


def _check(events: list[EximEvent]) -> None:
    for event in events:
        assert isinstance(event, Submission | Delivery | Login)
        if isinstance(event, Login):
            assert len(event.account) <= 320 and 1 <= event.attempts <= 1000


@settings(max_examples=400)
@given(st.lists(st.text(max_size=300), max_size=20))
def test_arbitrary_text_never_raises(lines: list[str]) -> None:
    """Any text, fed line after line, gives well-formed events or none, and never raises."""
    parser = new_parser()
    _check(feed_all(parser, lines) + parser.flush())
    assert parser.stats.lines == len(lines)


@settings(max_examples=1500)
@given(st.lists(st.lists(_FRAGMENTS, max_size=25).map("".join), min_size=1, max_size=10))
def test_exim_shaped_garbage_never_raises(lines: list[str]) -> None:
    """Lines built from the pieces of real ones, in any order, never raise."""
    parser = new_parser()
    _check(feed_all(parser, lines) + parser.flush())
    assert parser.pending == 0


@settings(deadline=3000, max_examples=20)
@given(st.sampled_from(["[", " H=", "(", ": ", " <", '"', " rhost=", "1uAbCd-000Efg-Hi "]))
def test_huge_lines_are_quick(piece: str) -> None:
    """A line of a megabyte made of one repeated piece is handled in linear time."""
    parser = new_parser()
    for head in (
        f"{stamp(0)} 1uAbCd-000Efg-Hi <= ",
        f"{stamp(0)} 1uAbCd-000Efg-Hi => ",
        f"{stamp(0)} login authenticator failed for ",
        f'{stamp(0)} SMTP protocol error in "',
    ):
        started = time.perf_counter()
        tail = " AUTH command used when not advertised"
        parser.feed(head + piece * (1_000_000 // len(piece)) + tail)
        assert time.perf_counter() - started < 1.0


@st.composite
def interleaved_logs(draw: st.DrawFn) -> tuple[list[str], dict[str, str], dict[str, float]]:
    """Several messages' lines interleaved at random, with noise, on a clock that moves on."""
    count = draw(st.integers(min_value=1, max_value=25))
    messages: list[list[str]] = []
    accounts: dict[str, str] = {}
    for number in range(count):
        mid = f"1uQ{number:03d}-000000-QQ"
        accounts[mid] = f"user{number}"
        body = [arrival(0, mid, f"user{number}")[20:]]
        for rcpt in range(draw(st.integers(min_value=0, max_value=3))):
            body.append(delivered(0, mid, f"r{rcpt}@example.org", "==")[20:])
        if draw(st.booleans()):
            body.append(completed(0, mid)[20:])
        messages.append(body)
    slots = [index for index, body in enumerate(messages) for _ in body]
    order = draw(st.permutations(slots))
    gaps = draw(st.lists(st.sampled_from([0, 1, 2, 5, 30, 200, 700]), min_size=len(order),
                         max_size=len(order)))
    noise = draw(st.lists(st.booleans(), min_size=len(order), max_size=len(order)))
    cursor = [0] * count
    lines: list[str] = []
    started: dict[str, float] = {}
    clock = 0
    for index, gap, garbage in zip(order, gaps, noise, strict=True):
        clock += gap
        line = messages[index][cursor[index]]
        lines.append(f"{stamp(clock)} {line}")
        if cursor[index] == 0:
            started[line[:16]] = at(clock)
        cursor[index] += 1
        if garbage:
            lines.append(f"{stamp(clock)} {line[:16]} ** [ (")
    return lines, accounts, started


@settings(max_examples=300)
@given(
    interleaved_logs(),
    st.integers(min_value=1, max_value=30),
    st.sampled_from([60.0, 600.0]),
)
def test_no_submission_is_lost_or_doubled(
    log: tuple[list[str], dict[str, str], dict[str, float]], max_pending: int, grace: float
) -> None:
    """Every arrival comes out exactly once, in time order, with its own time and account,
    whatever the interleaving, the pending limit and the grace period (Exim never reuses a
    message id; a repeated arrival while the first is pending is ignored)."""
    lines, accounts, started = log
    parser = new_parser(max_pending=max_pending, grace=grace)
    events: list[EximEvent] = []
    for line in lines:
        events += parser.feed(line)
        assert parser.pending <= max_pending
    found = submissions(events + parser.flush())
    assert parser.pending == 0
    assert Counter(submission.queue_id for submission in found) == Counter(list(accounts))
    for submission in found:
        assert submission.account == accounts[submission.queue_id]
        assert submission.time == started[submission.queue_id]
    times = [submission.time for submission in found]
    assert times == sorted(times)


# speed --------------------------------------------------------------------------------------


def synthetic_log(messages: int, seed: int = 1) -> list[str]:
    """A busy submission server's main log: per message an arrival, one to three deliveries and
    Completed, with some failed AUTH and connection noise (about 4.5 lines a message)."""
    rnd = random.Random(seed)
    lines: list[str] = []
    clock = 0
    for number in range(messages):
        clock += rnd.randint(0, 3)
        mid = f"1u{number:04X}-000000-{number % 99:02d}"
        user, ip = f"user{number % 300}@example.jp", f"198.51.100.{number % 250}"
        lines.append(arrival(clock, mid, user, ip))
        for rcpt in range(rnd.choice((1, 1, 1, 2, 3))):
            address = f"r{rcpt}.{number % 977}@dest{number % 41}.example"
            lines.append(delivered(clock, mid, address, "=>" if rcpt == 0 else "->"))
        lines.append(completed(clock, mid))
        if rnd.random() < 0.3:
            lines.append(failed(clock, f"185.220.101.{number % 200}"))
        if rnd.random() < 0.2:
            lines.append(f"{stamp(clock)} [5908] no MAIL in SMTP connection from"
                         f" [203.0.113.{number % 200}]:2056 I=[192.0.2.25]:25 D=0s")
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
        parser.flush()
        best = max(best, len(lines) / (time.perf_counter() - started))
    return best


def test_synthetic_log_is_read_whole() -> None:
    """A synthetic main log yields every message (speed is measured in bench/, not here)."""
    lines = synthetic_log(4000)
    parser = new_parser()
    assert len(submissions(feed_all(parser, lines) + parser.flush())) == 4000
