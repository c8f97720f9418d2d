"""The milter's memory budget ([milter] max_buffered_bytes): connections share it, a message
that does not fit is analysed truncated (never blocked, rejected or delayed) with a note that
says why, and every path — decided, timed out, aborted, connection lost — gives its bytes
back, so the budget is back at zero once the milter is quiet."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.milter_mta import (
    conversation,
    fields,
    header,
    mail,
    message_packets,
    negotiated,
    optneg,
    serve,
)

from mailwarden.config import Config, ConfigError, load
from mailwarden.inbound.analyze import InboundContext
from mailwarden.inbound.milter import InboundMilter, truncated_note
from mailwarden.inbound.milter_headers import verdict_headers
from mailwarden.inbound.verdict import Verdict
from mailwarden.sources import milter_budget
from mailwarden.sources import milter_codec as mc
from mailwarden.sources.milter import MilterServer
from mailwarden.sources.milter_budget import MemoryBudget
from mailwarden.sources.milter_codec import Packet, PacketReader
from mailwarden.sources.milter_session import MilterActions, MilterMessage, Session

HEAD = (b"From: a@sender.example\r\nTo: staff@city.example.jp\r\nSubject: budget\r\n"
        b"Message-ID: <b1@sender.example>\r\nDate: Mon, 2 Mar 2026 10:00:00 +0900\r\n")


def mail_of(body_bytes: int) -> bytes:
    return HEAD + b"\r\n" + b"y" * body_bytes + b"\r\n"


def session(budget: MemoryBudget, max_message_bytes: int = 100_000) -> Session:
    s = Session(max_message_bytes, budget=budget)
    s.receive(PacketReader().feed(optneg())[0])
    return s


def feed(s: Session, raw: bytes, chunk: int = 1000) -> list[bytes]:
    """Send a message's packets but its end (see ``end``); the replies written."""
    packets = PacketReader().feed(b"".join(message_packets(raw, chunk)))[:-1]
    return [s.receive(p).reply for p in [Packet(mc.MAIL, b"<a@sender.example>\0"), *packets]]


def end(s: Session) -> MilterMessage:
    message = s.receive(Packet(mc.BODYEOB, b"")).message
    assert message is not None
    return message


# --- the budget and one session ------------------------------------------------------------

def test_holds_grow_within_the_limit_and_release_once():
    budget = MemoryBudget(100)
    first, second = budget.hold(), budget.hold()
    assert first.grow(60) and not second.grow(41) and second.grow(40)
    assert budget.used == 100 and not first.grow(1)
    first.release()
    first.release()  # twice: nothing more
    assert budget.used == 40 and first.size == 0
    second.release()
    assert budget.used == 0


def test_second_session_is_truncated_when_the_first_holds_the_budget():
    """Two sessions share 6000 bytes: the first collects 5000 and holds them; the second gets
    its header and is cut at its first body chunk over the budget (SKIP), analysed on what
    was read; when the first is released, a third message fits whole again."""
    budget = MemoryBudget(6000)
    one, two = session(budget), session(budget)
    whole = mail_of(4700)
    feed(one, whole)
    first = end(one)
    assert (first.truncated, first.over_budget) == (False, False)
    assert first.raw == whole and budget.used == len(whole) - 2  # the empty line is free

    replies = feed(two, mail_of(4700))
    assert mc.encode(mc.R_SKIP) in replies  # no more body: Postfix skips to the end
    second = end(two)
    assert second.truncated and second.over_budget
    assert second.raw.startswith(HEAD + b"\r\n") and len(second.raw) < 1500
    assert second.size == len(whole) - 2  # what was seen is still counted
    assert budget.truncated == 1

    first.release()
    one.finish(MilterActions())
    second.release()
    two.finish(MilterActions())
    assert budget.used == 0
    feed(two, whole)
    third = end(two)
    assert not third.truncated and third.raw == whole
    third.release()
    assert budget.used == 0


def test_max_message_bytes_is_not_the_budget():
    """A message over max_message_bytes is truncated as before, not 'over budget'."""
    budget = MemoryBudget(1_000_000)
    s = session(budget, max_message_bytes=2000)
    feed(s, mail_of(5000))
    message = end(s)
    assert message.truncated and not message.over_budget and budget.truncated == 0
    message.release()
    assert budget.used == 0


@pytest.mark.parametrize("how", ["abort", "mail", "quit", "quit_nc", "close", "finish"])
def test_every_end_of_a_message_gives_its_bytes_back(how):
    """A message being collected gives its bytes back when aborted, replaced by the next
    MAIL, at QUIT / QUIT_NC, when the connection is lost, or (decided) at finish."""
    budget = MemoryBudget(1_000_000)
    s = session(budget)
    feed(s, mail_of(3000))
    assert budget.used > 3000
    if how == "finish":
        end(s).release()
        s.finish(MilterActions())
    elif how == "close":
        s.close()
    else:
        code = {"abort": mc.ABORT, "mail": mc.MAIL, "quit": mc.QUIT, "quit_nc": mc.QUIT_NC}[how]
        s.receive(Packet(code, b"<b@sender.example>\0" if code == mc.MAIL else b""))
    assert budget.used == 0


def test_the_end_of_message_makes_no_copy():
    """The collected buffer becomes the message's bytes as it is: at the end of a 4 MiB
    message no second 4 MiB is allocated."""
    s = session(MemoryBudget(1 << 30), max_message_bytes=8 << 20)
    tracemalloc.start()
    try:
        feed(s, mail_of(4 << 20), chunk=mc.CHUNK)
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        message = end(s)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(message.raw) > 4 << 20
    assert peak - before < 1 << 20, peak - before


def test_budget_truncations_are_logged_at_most_once_a_minute(caplog):
    """The first truncation is logged at once; more within LOG_SECONDS are counted into the
    next line, so an administrator sees how many and what to raise."""
    now = [1000.0]
    budget = MemoryBudget(10, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="mailwarden.milter"):
        budget.note_truncated()
        now[0] += 10
        budget.note_truncated()
        budget.note_truncated()
        assert len(caplog.records) == 1
        now[0] += milter_budget.LOG_SECONDS
        budget.note_truncated()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and budget.truncated == 4
    assert "max_buffered_bytes" in lines[0] and "1 message(s)" in lines[0]
    assert "3 message(s)" in lines[1]


# --- the setting and the note --------------------------------------------------------------

def test_setting_default_and_validation(tmp_path, monkeypatch):
    monkeypatch.delenv("MAILWARDEN_CONFIG", raising=False)
    assert Config().milter.max_buffered_bytes == 256 * 1024 * 1024
    path = tmp_path / "mailwarden.toml"
    path.write_text("[milter]\nmax_message_bytes = 20000\nmax_buffered_bytes = 19999\n")
    with pytest.raises(ConfigError, match="max_buffered_bytes must be at least"):
        load(path)
    path.write_text("[milter]\nmax_message_bytes = 20000\nmax_buffered_bytes = 20000\n")
    assert load(path).milter.max_buffered_bytes == 20000


def test_the_note_says_which_bound_cut_the_message():
    """Over max_message_bytes: 'larger than'; over the budget: the memory was full, and how
    many bytes were analysed — in English and Japanese."""
    cfg = Config()
    cfg.milter.max_buffered_bytes = 12345678
    busy = MilterMessage(raw=b"x" * 4321, size=9000, truncated=True, over_budget=True)
    large = MilterMessage(raw=b"x" * 4321, size=20 << 20, truncated=True)

    def notes(message: MilterMessage) -> dict[str, str]:
        verdict = Verdict("clean", 0.0)
        verdict.notes.append(truncated_note(message, cfg))
        return {n: " ".join(v.split()) for n, v in verdict_headers(verdict, "header", "both")
                if n.startswith("X-Mailwarden-Note")}

    busy_notes = notes(busy)
    assert "first 4321 bytes" in busy_notes["X-Mailwarden-Note"]
    assert "max_buffered_bytes = 12345678" in busy_notes["X-Mailwarden-Note"]
    assert "larger than" not in busy_notes["X-Mailwarden-Note"]
    assert "X-Mailwarden-Note-Ja" in busy_notes
    assert "larger than 10485760" in notes(large)["X-Mailwarden-Note"]


# --- through the real server on loopback --------------------------------------------------

class Gate:
    """A handler that holds every message whose subject says 'hold' until ``open`` is set,
    recording what each message looked like; the rest goes to ``inner``."""

    def __init__(self, inner: InboundMilter) -> None:
        self.inner = inner
        self.open = threading.Event()
        self.seen: list[MilterMessage] = []

    def decide(self, message: MilterMessage) -> MilterActions:
        self.seen.append(message)
        if b"Subject: hold" in message.raw:
            self.open.wait(20)
        return self.inner.decide(message)

    def unchecked(self, message: MilterMessage, why: str) -> MilterActions:
        return self.inner.unchecked(message, why)


def limits(cfg: Config) -> dict[str, int]:
    """The server options of ``cfg``'s memory limits."""
    return {"max_message_bytes": cfg.milter.max_message_bytes,
            "max_buffered_bytes": cfg.milter.max_buffered_bytes}


async def budget_empty(server: MilterServer, timeout: float = 10.0) -> int:
    """Wait until the budget is back at zero (released from worker threads and by lost
    connections, a moment after the replies); the bytes still held."""
    deadline = time.monotonic() + timeout
    while server.budget.used and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    return server.budget.used


def milter_config(**values: int) -> Config:
    cfg = Config()
    cfg.organization.domains = ["city.example.jp"]
    for key, value in values.items():
        setattr(cfg.milter, key, value)
    return cfg


def test_server_truncates_what_does_not_fit_while_another_message_is_analysed():
    """A 60 kB message is being analysed (held by the handler) and keeps its bytes; a second
    connection's 60 kB message does not fit into the 100 kB budget: it is answered at once,
    analysed on its first bytes, with the budget note, and passes (CONTINUE). Then the first
    gets its verdict whole, and the budget is back at zero."""
    cfg = milter_config(max_message_bytes=80_000, max_buffered_bytes=100_000)
    gate = Gate(InboundMilter(cfg, InboundContext.create(cfg)))

    async def scenario(port, server):
        one, two = await negotiated(port), await negotiated(port)
        held = mail_of(60_000).replace(b"Subject: budget", b"Subject: hold")
        await one.send(*conversation(held))
        while not gate.seen:
            await asyncio.sleep(0.01)
        assert server.budget.used >= 60_000  # held while it is analysed
        started = time.monotonic()
        second = await two.deliver(conversation(mail_of(60_000)))
        assert time.monotonic() - started < 5  # not delayed until the first is done
        gate.open.set()
        first = await one.until_final()
        one.close()
        two.close()
        return first, second, await budget_empty(server)

    first, second, left = serve(scenario, gate, **limits(cfg))
    notes = " ".join(" ".join(v.split()) for n, v in fields(second)
                     if n == "X-Mailwarden-Note")
    assert "max_buffered_bytes = 100000" in notes, fields(second)
    assert second[-1].code == mc.R_CONTINUE and mc.R_REPLYCODE not in [p.code for p in second]
    assert not any("max_buffered_bytes" in v for _, v in fields(first))
    assert first[-1].code == mc.R_CONTINUE
    assert [(m.truncated, m.over_budget) for m in gate.seen] == [(False, False), (True, True)]
    assert len(gate.seen[1].raw) < 60_000 <= len(gate.seen[0].raw)
    assert left == 0


class Sleepy:
    """Takes longer than the milter's timeout for 'slow' messages; accepts the rest."""

    def __init__(self) -> None:
        self.done = threading.Event()

    def decide(self, message: MilterMessage) -> MilterActions:
        if b"Subject: slow" in message.raw:
            time.sleep(0.8)
            self.done.set()
        return MilterActions()

    def unchecked(self, message: MilterMessage, why: str) -> MilterActions:
        return MilterActions([("X-Unchecked", why)])


def test_budget_returns_to_zero_after_many_messages_and_lost_connections():
    """Many messages, aborted ones, connections lost halfway through a message and while a
    message is analysed, a timed-out analysis (which holds its bytes until its thread is done
    with them): afterwards the budget is back at zero, and a full-size message still fits."""
    cfg = milter_config(max_message_bytes=50_000, max_buffered_bytes=50_000)
    handler = Sleepy()

    async def scenario(port, server):
        mta = await negotiated(port)
        for index in range(30):
            replies = await mta.deliver(conversation(mail_of(index * 1000)))
            assert replies[-1].code == mc.R_CONTINUE
            if index % 5 == 0:  # an aborted message on the same connection
                await mta.send(mail("x@sender.example"), header(b"Subject", b"half"),
                               mc.encode(mc.BODY, b"z" * 3000), mc.encode(mc.ABORT))
                assert (await mta.reply()).code == mc.R_CONTINUE
        for _ in range(10):  # lost halfway through a message
            lost = await negotiated(port)
            await lost.send(*conversation(mail_of(20_000))[:-1])  # no end of body
            await lost.reply()
            lost.close()
        slow = mail_of(20_000).replace(b"Subject: budget", b"Subject: slow")
        lost = await negotiated(port)  # lost while its message is being analysed
        await lost.send(*conversation(slow))
        await asyncio.sleep(0.1)
        lost.close()
        timed_out = await mta.deliver(conversation(slow))
        assert ("X-Unchecked", "timeout") in fields(timed_out)
        assert server.budget.used >= 20_000  # the analysis still runs on those bytes
        assert handler.done.wait(5)
        left = await budget_empty(server)
        whole = await mta.deliver(conversation(mail_of(45_000)))
        mta.close()
        return left, whole, await budget_empty(server), server.budget.truncated

    left, whole, after, truncated = serve(scenario, handler, timeout=0.3, workers=2,
                                          **limits(cfg))
    assert left == 0 and after == 0 and truncated == 0
    assert fields(whole) == [] and whole[-1].code == mc.R_CONTINUE


# --- any interleaving ----------------------------------------------------------------------

SESSIONS = 3
LIMIT = 5000
step = st.one_of(
    st.tuples(st.just("header"), st.integers(0, SESSIONS - 1), st.integers(0, 1500)),
    st.tuples(st.just("body"), st.integers(0, SESSIONS - 1), st.integers(0, 3000)),
    st.tuples(st.sampled_from(["end", "abort", "mail", "quit", "close", "release"]),
              st.integers(0, SESSIONS - 1), st.just(0)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, max_size=60))
def test_any_interleaving_keeps_the_budget_exact(steps):
    """Sessions sharing a budget, fed header fields and body chunks of any size in any order,
    ended, aborted, restarted, closed, their messages released in any order: the budget never
    goes negative or over its limit, always equals what is held, each message is a prefix of
    what was sent, and at the end everything is given back."""
    budget = MemoryBudget(LIMIT)
    sessions = [session(budget, max_message_bytes=4000) for _ in range(SESSIONS)]
    sent = [[b"", b""] for _ in range(SESSIONS)]  # header lines, body
    unreleased: list[MilterMessage] = []
    for action, index, size in steps:
        s = sessions[index]
        if action == "header":
            if not s.in_body:  # a field after the body is counted, not kept
                sent[index][0] += b"X-H: " + b"v" * size + b"\r\n"
            s.receive(Packet(mc.HEADER, b"X-H\0" + b"v" * size + b"\0"))
        elif action == "body":
            s.receive(Packet(mc.BODY, b"b" * size))
            sent[index][1] += b"b" * size
        elif action == "end":
            message = end(s)
            head, body = sent[index]
            whole = head + b"\r\n" + body
            if not message.truncated:
                assert message.raw == whole
            else:
                assert whole.startswith(message.raw) or (
                    message.raw.endswith(b"\r\n") and head.startswith(message.raw[:-2]))
                assert len(message.raw) <= 4002
            unreleased.append(message)
            s.finish(MilterActions())
            sent[index] = [b"", b""]
        elif action == "release":
            if unreleased:
                unreleased.pop(0).release()
        else:
            code = {"abort": mc.ABORT, "mail": mc.MAIL, "quit": mc.QUIT_NC}.get(action)
            if code is None:
                s.close()
            else:
                s.receive(Packet(code, b"<c@sender.example>\0" if code == mc.MAIL else b""))
            sent[index] = [b"", b""]
        held = sum(x.kept for x in sessions) + sum(len(m.raw) - 2 for m in unreleased)
        assert 0 <= budget.used <= LIMIT
        assert budget.used == held
    for message in unreleased:
        message.release()
    for s in sessions:
        s.close()
    assert budget.used == 0
