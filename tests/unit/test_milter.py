"""The milter with the real inbound analyser behind a real server on loopback: what Postfix
gets back for phishing, ordinary, forged, oversized and authenticated mail, per [milter]
setting; fail-open on timeouts, errors and an unreachable clamd; the header fields it adds."""

from __future__ import annotations

import asyncio
import time
from email.header import decode_header, make_header

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.milter_mta import Mta, conversation, fields, optneg

from mailwarden.config import Config
from mailwarden.inbound.analyze import InboundContext
from mailwarden.inbound.clamd import ClamdResult, parse_reply
from mailwarden.inbound.history import MemoryHistory
from mailwarden.inbound.milter import InboundMilter, hold_reason
from mailwarden.inbound.milter_headers import clean, field_value, unchecked_headers
from mailwarden.inbound.verdict import Verdict
from mailwarden.sources import milter
from mailwarden.sources import milter_codec as mc
from mailwarden.sources.milter import MilterServer
from mailwarden.sources.milter_session import MilterActions, MilterMessage

PHISHING = (
    b'From: "Amazon Security" <security.amazon@gmail.com>\r\nTo: somu@city.example.jp\r\n'
    b"Subject: Your account has been suspended - verify now\r\n"
    b"Date: Mon, 2 Mar 2026 10:00:00 +0900\r\nMessage-ID: <x1@gmail.com>\r\n"
    b"X-Mailwarden-Verdict: clean; score=0.00; action=header\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    b"<p>Your Amazon account has been suspended. Verify your account within 24 hours:\r\n"
    b'<a href="http://203.0.113.5/amazon/login">https://www.amazon.com/verify</a></p>\r\n')
ORDINARY = (
    "From: 田中 <tanaka@partner.example>\r\nTo: somu@city.example.jp\r\n"
    "Subject: =?UTF-8?B?5Lya6K2w44Gu6K2w5LqL6Yyy?=\r\nDate: Mon, 2 Mar 2026 10:00:00 +0900\r\n"
    "Message-ID: <m1@partner.example>\r\nMIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\n先日の会議の議事録です。\r\n").encode()


def config(**milter_settings) -> Config:
    cfg = Config()
    cfg.organization.domains = ["city.example.jp"]
    for key, value in milter_settings.items():
        setattr(cfg.milter, key, value)
    return cfg


def run(cfg: Config, scenario, handler=None, history=None):
    """Serve ``handler`` (default: the real InboundMilter for ``cfg``) on a loopback port and
    run ``scenario(mta)`` after the option negotiation."""

    async def main():
        nonlocal handler
        if handler is None:
            handler = InboundMilter(cfg, InboundContext.create(cfg, history), history)
        server = MilterServer(handler, max_message_bytes=cfg.milter.max_message_bytes,
                              timeout=cfg.milter.timeout, watch=("x-mailwarden-",))
        _, port = await server.start("127.0.0.1", 0)
        mta = await Mta.open(port)
        try:
            await mta.send(optneg())
            assert (await mta.reply()).code == mc.OPTNEG
            return await asyncio.wait_for(scenario(mta), 30)
        finally:
            mta.close()
            await server.stop()

    return asyncio.run(main())


def deliver(cfg: Config, raw: bytes, handler=None, history=None, **kw):
    async def scenario(mta):
        return await mta.deliver(conversation(raw, **kw))

    return run(cfg, scenario, handler, history)


def test_phishing_is_held_with_reasons_and_forged_verdict_removed():
    """Phishing: the forged verdict is deleted (CHGHEADER), verdict and reasons added in
    English and Japanese, QUARANTINE with a short reason, then CONTINUE."""
    replies = deliver(config(), PHISHING)
    codes = [p.code for p in replies]
    assert codes[0] == mc.R_CHGHEADER
    assert replies[0].data == b"\0\0\0\x01X-Mailwarden-Verdict\0\0"
    assert codes[-2:] == [mc.R_QUARANTINE, mc.R_CONTINUE]
    added = fields(replies)
    assert added[0][0] == "X-Mailwarden-Verdict"
    assert added[0][1].startswith("phishing; score=") and added[0][1].endswith("action=hold")
    names = [n for n, _ in added]
    assert names.count("X-Mailwarden-Reason") == names.count("X-Mailwarden-Reason-Ja") >= 3
    japanese = [str(make_header(decode_header(v))) for n, v in added if n.endswith("-Ja")]
    assert any("Amazon" in j and "表示名" in j for j in japanese)
    reason = replies[-2].data.rstrip(b"\0").decode()
    assert reason.startswith("Mailwarden phishing score=") and len(reason) <= 100


def test_ordinary_mail_gets_only_the_verdict_and_is_learned():
    """Clean mail: the verdict field, no quarantine, and the history counts it."""
    history = MemoryHistory()
    replies = deliver(config(), ORDINARY, history=history)
    assert [p.code for p in replies] == [mc.R_ADDHEADER, mc.R_CONTINUE]
    assert fields(replies)[0][1].startswith("clean; score=0.00")
    assert history.lookup("staff@city.example.jp", "tanaka@partner.example").messages == 1


def test_reject_and_none_actions():
    """phishing = reject answers the configured 5xx; clean = none changes nothing."""
    cfg = config(phishing="reject", clean="none", reject_reply="554 5.7.1 No {verdict} here")
    replies = deliver(cfg, PHISHING)
    assert replies[-1].code == mc.R_REPLYCODE
    assert replies[-1].data == b"554 5.7.1 No phishing here\0"
    assert mc.R_QUARANTINE not in [p.code for p in replies]
    assert [p.code for p in deliver(cfg, ORDINARY)] == [mc.R_CONTINUE]


def test_authenticated_senders_are_not_judged_but_lose_forged_verdicts():
    """Mail of a SASL-authenticated client is outgoing: no analysis, no verdict added — but a
    forged X-Mailwarden-Verdict it carries is removed (a hijacked account must not hand
    colleagues a 'clean' label)."""
    replies = deliver(config(), PHISHING, auth="somu")
    assert [p.code for p in replies] == [mc.R_CHGHEADER, mc.R_CONTINUE]
    assert replies[0].data == b"\0\0\0\x01X-Mailwarden-Verdict\0\0"
    assert fields(replies) == []
    checked = deliver(config(check_authenticated=True), PHISHING, auth="somu")
    assert mc.R_QUARANTINE in [p.code for p in checked]


def test_oversized_message_is_skipped_and_says_so():
    """Beyond max_message_bytes the body is skipped (SKIP) and a note says only the first
    bytes were analysed."""
    big = ORDINARY + b"x" * 200_000 + b"\r\n"
    replies = deliver(config(max_message_bytes=2048), big)
    notes = [v for n, v in fields(replies) if n == "X-Mailwarden-Note"]
    assert any("only its first 2048 bytes" in " ".join(n.split()) for n in notes), notes
    assert replies[-1].code == mc.R_CONTINUE


def test_two_messages_and_an_abort_on_one_connection():
    """A connection carries several messages; ABORT drops the one in progress."""

    async def scenario(mta):
        first = await mta.deliver(conversation(PHISHING))
        await mta.send(mc.encode(mc.MACRO, b"Mi\0Q2\0"), mc.encode(mc.MAIL, b"<x@y.example>\0"),
                       mc.encode(mc.HEADER, b"Subject\0half\0"), mc.encode(mc.ABORT))
        second = await mta.deliver(conversation(ORDINARY)[2:])
        return first, second

    first, second = run(config(), scenario)
    assert first[-2].code == mc.R_QUARANTINE
    assert fields(second)[0][1].startswith("clean")


class Slow:
    """A handler slower than the timeout."""

    def decide(self, message: MilterMessage) -> MilterActions:
        time.sleep(1.0)
        return MilterActions([("X-Late", "1")])

    def unchecked(self, message: MilterMessage, why: str) -> MilterActions:
        return MilterActions(unchecked_headers(why, "en"))


class Broken(Slow):
    def decide(self, message: MilterMessage) -> MilterActions:
        raise RuntimeError("a bug")


def test_slow_analysis_sends_progress_then_passes_unchecked(monkeypatch):
    """A verdict later than milter.timeout: PROGRESS meanwhile, then the message passes
    with an 'unchecked' verdict."""
    monkeypatch.setattr(milter, "PROGRESS_SECONDS", 0.1)
    replies = deliver(config(timeout=0.5), ORDINARY, handler=Slow())
    assert replies[0].code == mc.R_PROGRESS
    assert fields(replies)[0] == ("X-Mailwarden-Verdict", "unchecked; reason=timeout")
    assert replies[-1].code == mc.R_CONTINUE


def test_failing_analysis_passes_unchecked():
    """A handler that raises lets the message pass with an 'unchecked' verdict."""
    replies = deliver(config(), ORDINARY, handler=Broken())
    assert fields(replies)[0] == ("X-Mailwarden-Verdict", "unchecked; reason=error")
    assert replies[-1].code == mc.R_CONTINUE


def test_unreachable_clamd_is_a_note_not_a_stop(tmp_path):
    """clamd configured but absent: the mail is judged without it, a note says so."""
    cfg = config(clamd=f"unix:{tmp_path / 'missing.sock'}")
    from mailwarden.inbound.clamd import Clamd

    handler = InboundMilter(cfg, InboundContext.create(cfg), None,
                            Clamd(cfg.milter.clamd, 2.0))
    replies = deliver(cfg, ORDINARY, handler=handler)
    notes = " ".join(v for n, v in fields(replies) if n == "X-Mailwarden-Note")
    assert "not scanned by ClamAV" in notes
    assert replies[-1].code == mc.R_CONTINUE and fields(replies)[0][1].startswith("clean")


def test_hold_reason_is_short_ascii():
    """Postfix keeps 100 characters of a quarantine reason: ours fit, in ASCII."""
    verdict = Verdict("bec", 3.0)
    assert hold_reason(verdict) == "Mailwarden bec score=3.00"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=700), st.sampled_from(["", "auth_fail=0.60;"]))
def test_header_values_fold_safely_and_decode_back(text, head):
    """Any sentence becomes a field value whose lines are folded (LF + space), free of
    control characters, and which decodes back to the cleaned sentence."""
    value = field_value("X-Mailwarden-Reason-Ja", head, text)
    lines = value.split("\n")
    assert all(line.startswith(" ") for line in lines[1:])
    assert not any(c in value for c in "\r\0\x7f")
    assert all(len(line) <= 998 for line in lines)
    sentence = clean(text)
    if sentence and not sentence.isascii():
        assert all(len(w) <= 75 for w in value.split() if w.startswith("=?"))
    unfolded = str(make_header(decode_header(value.replace("\n ", " "))))
    assert " ".join(unfolded.split()) == " ".join(f"{head} {sentence}".split())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=500))
def test_clamd_replies_never_crash(reply):
    """Any bytes from clamd are a result: clean, a finding, or an error."""
    assert isinstance(parse_reply(reply), ClamdResult)


@pytest.mark.parametrize(("reply", "result"), [
    (b"stream: OK\0", ClamdResult()),
    (b"stream: Eicar-Signature FOUND\0", ClamdResult(found="Eicar-Signature")),
    (b"INSTREAM size limit exceeded. ERROR\0",
     ClamdResult(error="clamd answered 'INSTREAM size limit exceeded. ERROR'")),
    (b"", ClamdResult(error="clamd gave no answer")),
])
def test_clamd_replies(reply, result):
    """clamd's answers as clamd(8) documents them."""
    assert parse_reply(reply) == result
