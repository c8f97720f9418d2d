"""PostfixLogParser: messages assembled from their lines, emitted once, in order, bounded."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailwarden.events import Delivery, Login, Submission
from mailwarden.sources.logs.postfix import PostfixEvent, PostfixLogParser

START = datetime(2025, 10, 6, 4, 45, 0, tzinfo=UTC)


def stamp(seconds: float) -> str:
    """The syslog timestamp ``seconds`` after START."""
    moment = START + timedelta(seconds=seconds)
    return f"{moment:%b} {moment.day:2d} {moment:%H:%M:%S}"


def at(seconds: float) -> float:
    return (START + timedelta(seconds=seconds)).timestamp()


def client(t: float, qid: str, user: str = "", ip: str = "198.51.100.23", host: str = "mx") -> str:
    sasl = f", sasl_method=LOGIN, sasl_username={user}" if user else ""
    return f"{stamp(t)} {host} postfix/submission/smtpd[11]: {qid}: client=unknown[{ip}]{sasl}"


def queued(t: float, qid: str, sender: str = "a@example.jp", nrcpt: int = 1) -> str:
    return (
        f"{stamp(t)} mx postfix/qmgr[2]: {qid}: from=<{sender}>, size=1234, nrcpt={nrcpt}"
        " (queue active)"
    )


def to(t: float, qid: str, rcpt: str, status: str = "sent", orig: str = "") -> str:
    orig_to = f"orig_to=<{orig}>, " if orig else ""
    return (
        f"{stamp(t)} mx postfix/smtp[3]: {qid}: to=<{rcpt}>, {orig_to}relay=mx.example.org"
        f"[192.0.2.1]:25, delay=0.5, delays=0.1/0/0.2/0.2, dsn=2.0.0, status={status} (250 ok)"
    )


def removed(t: float, qid: str, host: str = "mx") -> str:
    return f"{stamp(t)} {host} postfix/qmgr[2]: {qid}: removed"


def feed_all(parser: PostfixLogParser, lines: Iterable[str]) -> list[PostfixEvent]:
    events: list[PostfixEvent] = []
    for line in lines:
        events.extend(parser.feed(line))
    return events


def submissions(events: Iterable[PostfixEvent]) -> list[Submission]:
    return [event for event in events if isinstance(event, Submission)]


def new_parser(**options: int | float) -> PostfixLogParser:
    return PostfixLogParser(UTC, 2025, **options)  # type: ignore[arg-type]


def test_a_message_is_assembled_from_its_lines() -> None:
    """client=, qmgr from=/nrcpt= and to= lines of one queue id make one Submission at removed."""
    parser = new_parser()
    events = feed_all(
        parser,
        [
            client(0, "4AAA", "alice"),
            queued(0, "4AAA", "alice@example.jp", nrcpt=3),
            to(1, "4AAA", "x@example.org"),
            to(1, "4AAA", "y@example.org", status="deferred"),
        ],
    )
    assert [type(event) for event in events] == [Delivery, Delivery]
    assert parser.feed(removed(2, "4AAA")) == [
        Submission(
            time=at(0),
            account="alice",
            sender="alice@example.jp",
            recipients=("x@example.org", "y@example.org"),
            recipient_count=3,
            client_address="198.51.100.23",
            queue_id="4AAA",
            source="log",
        )
    ]
    assert parser.flush() == []


def test_orig_to_is_the_recipient_the_sender_wrote() -> None:
    """An alias expanded to several mailboxes counts once, as the alias (orig_to)."""
    parser = new_parser()
    events = feed_all(
        parser,
        [
            client(0, "4BBB", "alice"),
            to(1, "4BBB", "m1@example.jp", orig="team@example.jp"),
            to(1, "4BBB", "m2@example.jp", orig="team@example.jp"),
            to(1, "4BBB", "x@example.org"),
            to(2, "4BBB", "x@example.org"),
            removed(2, "4BBB"),
        ],
    )
    deliveries = [event for event in events if isinstance(event, Delivery)]
    assert [delivery.recipient for delivery in deliveries][:2] == ["m1@example.jp", "m2@example.jp"]
    (submission,) = submissions(events)
    assert submission.recipients == ("team@example.jp", "x@example.org")
    assert submission.recipient_count == 2


def test_submissions_come_out_in_submission_order() -> None:
    """A message removed first waits for an older one still pending; both come out in order."""
    parser = new_parser()
    assert feed_all(parser, [client(0, "4OLD", "a"), client(5, "4NEW", "b")]) == []
    assert parser.feed(removed(6, "4NEW")) == []
    events = parser.feed(removed(7, "4OLD"))
    assert [submission.queue_id for submission in submissions(events)] == ["4OLD", "4NEW"]


def test_grace_period_completes_a_message() -> None:
    """A message not removed is emitted once the log clock is more than the grace past it."""
    parser = new_parser()
    parser.feed(client(0, "4DEF", "a"))
    assert parser.feed(f"{stamp(600)} mx postfix/anvil[9]: statistics: nothing") == []
    events = parser.feed(f"{stamp(601)} mx postfix/anvil[9]: statistics: nothing")
    assert [submission.queue_id for submission in submissions(events)] == ["4DEF"]
    assert parser.feed(removed(700, "4DEF")) == []


def test_grace_period_can_be_set() -> None:
    """``grace`` sets how long a message may stay incomplete."""
    parser = new_parser(grace=30)
    parser.feed(client(0, "4DEF", "a"))
    assert submissions(parser.feed(client(31, "4NXT", "b"))) != []


def test_flush_emits_what_is_pending_in_order() -> None:
    """flush() returns every pending message, oldest first, and leaves nothing behind."""
    parser = new_parser()
    feed_all(parser, [client(0, "4C1", "a"), client(1, "4C2", "b"), client(2, "4C3", "c")])
    assert [event.queue_id for event in submissions(parser.flush())] == ["4C1", "4C2", "4C3"]
    assert parser.flush() == []


def test_submission_times_never_go_back() -> None:
    """A client= line logged out of order gets the time of the last Submission emitted."""
    parser = new_parser()
    feed_all(parser, [client(10, "4LATE", "a"), removed(11, "4LATE")])
    events = feed_all(parser, [client(9, "4EARLY", "b"), removed(12, "4EARLY")])
    assert [submission.time for submission in submissions(events)] == [at(10)]


def test_a_queue_id_seen_again_starts_a_new_message() -> None:
    """A second client= line for a pending queue id completes the first message."""
    parser = new_parser()
    events = feed_all(parser, [client(0, "4DUP", "a"), client(700, "4DUP", "b")])
    events += parser.flush()
    assert [submission.account for submission in submissions(events)] == ["a", "b"]


def test_queue_ids_are_per_host() -> None:
    """The same queue id on two hosts logging to one file makes two messages."""
    parser = new_parser()
    events = feed_all(
        parser,
        [
            client(0, "4SAME", "a", host="mx1"),
            client(0, "4SAME", "b", host="mx2"),
            removed(1, "4SAME", host="mx2"),
            removed(1, "4SAME", host="mx1"),
        ],
    )
    assert sorted(submission.account for submission in submissions(events)) == ["a", "b"]


def test_pending_messages_are_bounded() -> None:
    """Beyond max_pending the oldest pending message is emitted early, and counted."""
    parser = new_parser(max_pending=3)
    events = feed_all(parser, [client(n, f"4M{n}", "a") for n in range(10)])
    assert [submission.queue_id for submission in submissions(events)] == [
        f"4M{n}" for n in range(7)
    ]
    assert parser.stats.evicted == 7
    assert [submission.queue_id for submission in submissions(parser.flush())] == [
        "4M7",
        "4M8",
        "4M9",
    ]


def test_recipients_kept_per_message_are_bounded() -> None:
    """Beyond max_recipients addresses are not kept but still counted."""
    parser = new_parser(max_recipients=5)
    lines = [client(0, "4BIG", "spammer")]
    lines += [to(1, "4BIG", f"victim{n}@example.org") for n in range(50)]
    events = feed_all(parser, [*lines, removed(2, "4BIG")])
    (submission,) = submissions(events)
    assert len(submission.recipients) == 5
    assert submission.recipient_count == 50
    assert parser.stats.recipients_dropped == 45


def test_unauthenticated_client_with_port() -> None:
    """A client= line without SASL (and with the client port) has an empty account."""
    parser = new_parser()
    line = f"{stamp(0)} mx postfix/smtpd[4]: 4PORT: client=mail.example.org[192.0.2.9]:52100"
    events = feed_all(parser, [line, removed(1, "4PORT")])
    assert [(s.account, s.client_address) for s in submissions(events)] == [("", "192.0.2.9")]


def test_ipv6_client_and_instance_names() -> None:
    """IPv6 addresses and postfix-instance/service names (postfix-out/submission/smtpd) work."""
    parser = new_parser()
    line = (
        f"{stamp(0)} mx postfix-out/submission/smtpd[4]: 4V6: client=unknown[2001:db8::25],"
        " sasl_method=PLAIN, sasl_username=a@example.jp"
    )
    (submission,) = submissions(feed_all(parser, [line, removed(1, "4V6")]))
    assert submission.client_address == "2001:db8::25"
    assert submission.account == "a@example.jp"


def test_a_user_name_with_a_comma() -> None:
    """A SASL user name holding ", " is kept whole."""
    parser = new_parser()
    line = client(0, "4COMMA", "Doe, John")
    (submission,) = submissions(feed_all(parser, [line, removed(1, "4COMMA")]))
    assert submission.account == "Doe, John"


def test_sasl_failure_is_a_failed_login() -> None:
    """``SASL LOGIN authentication failed`` is a failed Login with address, mechanism and user."""
    parser = new_parser()
    line = (
        f"{stamp(0)} mx postfix/smtpd[5]: warning: unknown[203.0.113.4]:4410: SASL LOGIN"
        " authentication failed: authentication failure, sasl_username=admin"
    )
    assert parser.feed(line) == [
        Login(
            time=at(0),
            account="admin",
            address="203.0.113.4",
            success=False,
            protocol="smtp",
            mechanism="LOGIN",
            source="log",
            details={
                "service": "postfix/smtpd",
                "client_name": "unknown",
                "reason": "authentication failure",
            },
        )
    ]


@pytest.mark.parametrize(
    ("logged", "status"),
    [
        ("sent", "sent"),
        ("deferred", "deferred"),
        ("bounced", "bounced"),
        ("expired, returned to sender", "expired"),
        ("SOFTBOUNCE", "deferred"),
        ("deliverable", None),
        ("undeliverable", None),
    ],
)
def test_delivery_statuses(logged: str, status: str | None) -> None:
    """Delivery statuses map to sent/deferred/bounced/expired (soft_bounce's SOFTBOUNCE is
    deferred); address verification probes are no deliveries."""
    events = new_parser().feed(to(0, "4ST", "a@example.org", status=logged))
    assert [event.status for event in events if isinstance(event, Delivery)] == (
        [status] if status else []
    )


def test_other_programs_are_ignored() -> None:
    """Lines of other programs, even with a queue id, make no event."""
    parser = new_parser()
    lines = [
        f"{stamp(0)} mx opendkim[6]: 4XYZ: client=unknown[192.0.2.1]",
        f"{stamp(0)} mx amavis[7]: 4XYZ: to=<a@b>, relay=x, dsn=2.0.0, status=sent",
    ]
    assert feed_all(parser, lines) == []
    assert parser.flush() == []


def test_bad_lines_are_counted_not_raised() -> None:
    """Lines without a timestamp or with a broken Postfix record are counted in stats."""
    parser = new_parser()
    lines = [
        "garbage",
        "",
        f"{stamp(0)} mx postfix/smtpd[1]: 4BAD: client=",
        f"{stamp(0)} mx postfix/smtp[1]: 4BAD: to=<a@b",
        f"{stamp(0)} mx postfix/smtpd[1]: 4OK: client=x[192.0.2.1]",
    ]
    assert feed_all(parser, lines) == []
    assert parser.stats.lines == 5
    assert parser.stats.unparsed == 4


def test_trailing_newline_is_accepted() -> None:
    """Lines may be fed with their line end."""
    parser = new_parser()
    events = feed_all(parser, [client(0, "4NL", "a") + "\n", removed(1, "4NL") + "\r\n"])
    assert len(submissions(events)) == 1


# properties ---------------------------------------------------------------------------------

LINE_PIECES = st.sampled_from(
    [
        "client=",
        "unknown[",
        "]",
        ":25",
        ", ",
        "sasl_username=",
        "orig_client=",
        "to=<",
        ">",
        "orig_to=<",
        "relay=",
        "dsn=",
        "status=",
        "sent",
        "from=<",
        "size=",
        "nrcpt=",
        "removed",
        "uid=",
        "warning: ",
        "SASL LOGIN authentication failed:",
        ": ",
        "4ABC",
        "\x00",
        "\ufffd",
        " ",
        "=",
        "[",
        "<",
    ]
)


@given(st.text(max_size=200))
def test_arbitrary_text_never_raises(line: str) -> None:
    """Any text fed as a line returns a list and never raises."""
    parser = new_parser()
    assert isinstance(parser.feed(line), list)
    assert isinstance(parser.flush(), list)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    """Any bytes, decoded as the file reader does, never make the parser raise."""
    parser = new_parser()
    parser.feed(data.decode("utf-8", "replace"))
    parser.flush()


@given(
    st.sampled_from(["mx postfix/smtpd[1]: ", "mx postfix/smtp[2]: 4Q: ", "h postfix-x/a/qmgr: "]),
    st.lists(LINE_PIECES | st.text(max_size=5), max_size=30),
)
def test_postfix_shaped_garbage_never_raises(tag: str, pieces: list[str]) -> None:
    """Lines made of Postfix field fragments in any order never raise."""
    parser = new_parser(max_pending=2, max_recipients=1)
    parser.feed(f"{stamp(0)} {tag}{''.join(pieces)}")
    parser.feed(f"{stamp(0)} {tag}4Q: {''.join(pieces)}")
    parser.flush()


@settings(deadline=2000)
@given(st.sampled_from(["client=x[", "to=<", "warning: x[1]: SASL A authentication failed: "]))
def test_huge_lines_are_quick(body: str) -> None:
    """A line of a megabyte is handled in linear time."""
    parser = new_parser()
    started = time.perf_counter()
    parser.feed(f"{stamp(0)} mx postfix/smtpd[1]: 4HUGE: {body}{'[<a, =' * 200_000}")
    assert time.perf_counter() - started < 1.0


@st.composite
def interleaved_logs(draw: st.DrawFn) -> tuple[list[str], dict[str, str], dict[str, float]]:
    """Several messages' lines interleaved at random, with noise, on a clock that moves on."""
    count = draw(st.integers(min_value=1, max_value=25))
    messages: list[list[str]] = []
    accounts: dict[str, str] = {}
    for number in range(count):
        qid = f"4Q{number:X}"
        accounts[qid] = f"user{number}"
        body = [f"{qid}: client=unknown[192.0.2.{number}], sasl_username=user{number}"]
        body.append(f"{qid}: from=<u{number}@example.jp>, size=10, nrcpt=2 (queue active)")
        for rcpt in range(draw(st.integers(min_value=0, max_value=3))):
            body.append(f"{qid}: to=<r{rcpt}@example.org>, relay=none, dsn=4.0.0, status=deferred")
        if draw(st.booleans()):
            body.append(f"{qid}: removed")
        messages.append(body)
    slots = [index for index, body in enumerate(messages) for _ in body]
    order = draw(st.permutations(slots))
    steps = st.sampled_from([0, 1, 2, 5, 30, 200, 700])  # some past the grace period
    gaps = draw(st.lists(steps, min_size=len(order), max_size=len(order)))
    noise = draw(st.lists(st.booleans(), min_size=len(order), max_size=len(order)))
    cursor = [0] * count
    lines: list[str] = []
    started: dict[str, float] = {}
    clock = 0
    for index, gap, garbage in zip(order, gaps, noise, strict=True):
        clock += gap
        line = messages[index][cursor[index]]
        lines.append(f"{stamp(clock)} mx postfix/x[1]: {line}")
        if cursor[index] == 0:
            started[line.partition(":")[0]] = at(clock)
        cursor[index] += 1
        if garbage:
            lines.append(f"{stamp(clock)} mx postfix/smtpd[9]: warning: junk [ <")
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
    """Every queue id with a client= line comes out exactly once, in time order, with its own
    time and account, whatever the interleaving, the pending limit and the grace period; no more
    than max_pending messages are ever held."""
    lines, accounts, started = log
    parser = new_parser(max_pending=max_pending, grace=grace)
    events: list[PostfixEvent] = []
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
    """A busy submission server's log: per message, connect, TLS, client=, cleanup, qmgr,
    disconnect, one to three smtp deliveries and removed (about 8.6 lines a message)."""
    rnd = random.Random(seed)
    lines: list[str] = []
    clock = 0
    for number in range(messages):
        clock += rnd.randint(0, 3)
        now, qid, pid = stamp(clock), f"{0x4F3A21C0000 + number:X}", 2000 + number % 50
        ip, user = f"198.51.100.{number % 250}", f"user{number % 300}@example.jp"
        rcpts = rnd.choice((1, 1, 1, 2, 3))
        smtpd = f"{now} mx postfix/submission/smtpd[{pid}]:"
        lines += [
            f"{smtpd} connect from unknown[{ip}]",
            f"{smtpd} Anonymous TLS connection established from unknown[{ip}]: TLSv1.3 with"
            " cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
            f"{smtpd} {qid}: client=unknown[{ip}], sasl_method=PLAIN, sasl_username={user}",
            f"{now} mx postfix/cleanup[{pid + 1}]: {qid}: message-id=<{number}.{qid}@example.jp>",
            f"{now} mx postfix/qmgr[900]: {qid}: from=<{user}>, size={rnd.randint(900, 90000)},"
            f" nrcpt={rcpts} (queue active)",
            f"{smtpd} disconnect from unknown[{ip}] ehlo=2 starttls=1 auth=1 mail=1 rcpt={rcpts}"
            f" data=1 quit=1 commands={6 + rcpts}",
        ]
        lines += [
            f"{now} mx postfix/smtp[{pid + 2}]: {qid}: to=<rcpt{rcpt}.{number % 977}@dest"
            f"{number % 41}.example>, relay=mx.dest{number % 41}.example[203.0.113.{number % 200}]"
            f":25, delay=0.61, delays=0.05/0.01/0.3/0.25, dsn=2.0.0, status=sent (250 2.0.0 Ok:"
            f" queued as 4Xy{number}Z)"
            for rcpt in range(rcpts)
        ]
        lines.append(f"{now} mx postfix/qmgr[900]: {qid}: removed")
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
    """A synthetic log of typical traffic yields every message (speed is measured in bench/)."""
    lines = synthetic_log(5000)
    assert len(submissions(feed_all(new_parser(), lines))) == 5000
