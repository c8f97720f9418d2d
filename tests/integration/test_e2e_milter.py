"""End to end on real Postfix: the milter of `mailwarden serve` (a real process) judges
inbound mail from the corpus. Phishing is held in the hold queue with its reasons in added
headers (postcat shows them), ordinary mail (ISO-2022-JP included) reaches the next hop
untouched but for the verdict header, with Mailwarden killed mail still flows, reject only
when configured, and a real clamd's finding holds a mail as malware."""

from __future__ import annotations

import contextlib
import os
import re
import smtplib
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from mailstack import PostfixInstance, SinkServer
from mailstack.clamd import SIGNATURE, ClamdInstance, eicar_mail
from mailstack.common import missing_component, require_program, wait_for
from mailstack.factories import PostfixFactory, SinkFactory
from mailwarden_proc import CONFIG, MailwardenProcess, settle

ROOT = Path(__file__).resolve().parents[2]
CORPORA = Path(os.environ.get("MAILWARDEN_CORPORA", ROOT.parent / "shared" / "corpora"))
MAIL = CORPORA / "mail"
PHISHING = ("sublime/amazon_phish_url_shortener.eml", "sublime/fedex_brand_impersonation.eml")
ORDINARY = ("spamassassin/nice/cjk/iso-2022-jp.1", "spamassassin/nice/001")
RECIPIENT = "somu@city.example.jp"


def corpus_mail(name: str) -> bytes:
    """A corpus message as it would arrive by SMTP (an mbox "From " line removed)."""
    path = MAIL / name
    if not path.is_file():
        missing_component(f"mail corpus not found: {path} (set MAILWARDEN_CORPORA)")
    raw = path.read_bytes().replace(b"\r\n", b"\n")
    if raw.startswith(b"From "):
        raw = raw.split(b"\n", 1)[1]
    return raw


def milter_params(port: int) -> dict[str, str]:
    """main.cf for an MX that relays everything from loopback and asks the milter."""
    milter = f"inet:127.0.0.1:{port}"
    return {"smtpd_milters": milter, "non_smtpd_milters": milter,
            "milter_default_action": "accept", "milter_protocol": "6",
            "smtpd_relay_restrictions": "permit_mynetworks, reject",
            "local_header_rewrite_clients": ""}


def start_mx(postfix_factory: PostfixFactory, sink: SinkServer, port: int) -> PostfixInstance:
    return postfix_factory(relay=sink, recipient_restrictions="permit_mynetworks, reject",
                           main_cf=milter_params(port))


def send(postfix: PostfixInstance, raw: bytes, sender: str = "sender@outside.example") -> str:
    return postfix.submit(None, None, sender, [RECIPIENT], message=raw)


def sendmail(postfix: PostfixInstance, raw: bytes, sender: str = "web@city.example.jp") -> None:
    """Submit with Postfix's sendmail(1): pickup and cleanup, so non_smtpd_milters apply."""
    program = require_program("sendmail", "postfix")
    subprocess.run([program, "-C", str(postfix.config_dir), "-f", sender, "-i", RECIPIENT],
                   input=raw, capture_output=True, timeout=30, check=True)


def held(postfix: PostfixInstance) -> set[str]:
    return set(postfix.queue_ids("hold"))


def postcat_headers(postfix: PostfixInstance, queue_id: str) -> str:
    """The header section of a queued message, as `postcat -h -q` shows it."""
    postcat = require_program("postcat", "postfix")
    out = subprocess.run([postcat, "-c", str(postfix.config_dir), "-h", "-q", queue_id],
                         capture_output=True, text=True, timeout=30, check=True)
    return out.stdout


def unfolded(headers: str) -> list[tuple[str, str]]:
    """(name, value) per field of a header section, folded lines joined."""
    out: list[tuple[str, str]] = []
    for line in headers.replace("\r\n", "\n").split("\n"):
        if line[:1] in (" ", "\t") and out:
            out[-1] = (out[-1][0], out[-1][1] + "\n" + line)
        elif ":" in line:
            name, _, value = line.partition(":")
            out.append((name, value.strip()))
    return out


def decoded(value: str) -> str:
    return str(make_header(decode_header(value)))


def without_added(content: bytes) -> bytes:
    """A relayed message minus what Postfix and the milter add: the top Received field and
    the X-Mailwarden-* fields (line ends normalised)."""
    head, _, body = content.replace(b"\r\n", b"\n").partition(b"\n\n")
    kept: list[bytes] = []
    skipping = False
    for index, line in enumerate(head.split(b"\n")):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        skipping = (index == 0 and line.startswith(b"Received:")) or line.lower().startswith(
            b"x-mailwarden-")
        if not skipping:
            kept.append(line)
    return b"\n".join(kept) + b"\n\n" + body


@pytest.fixture
def mailwarden() -> Iterator[MailwardenProcess]:
    proc = MailwardenProcess()
    try:
        yield proc
    finally:
        proc.stop()


def test_phishing_is_held_with_reasons_ordinary_mail_passes_untouched(
    postfix_factory: PostfixFactory, sink_factory: SinkFactory, mailwarden: MailwardenProcess
) -> None:
    """Corpus phishing lands in the hold queue with verdict and reasons (English and RFC 2047
    Japanese) in its headers and a forged clean verdict removed, whether it came by SMTP or by
    sendmail(1); ordinary mail, an ISO-2022-JP one included, reaches the sink byte for byte
    apart from the added fields; released, held mail goes on with its fields."""
    sink = sink_factory()
    postfix = start_mx(postfix_factory, sink, mailwarden.milter_port)
    forged = b"X-Mailwarden-Verdict: clean; score=0.00; action=header\n"
    phishing_ids = [send(postfix, forged + corpus_mail(name)) for name in PHISHING]
    ordinary = [corpus_mail(name) for name in ORDINARY]
    for raw in ordinary:
        send(postfix, raw)

    sendmail(postfix, corpus_mail(PHISHING[0]))  # a local submission: non_smtpd_milters
    postfix.wait_for(lambda: held(postfix) >= set(phishing_ids), timeout=30,
                     what="both phishing mails in the hold queue")
    postfix.wait_for(lambda: len(held(postfix)) == len(phishing_ids) + 1, timeout=30,
                     what="the locally submitted phishing mail in the hold queue")
    for queue_id in phishing_ids:
        fields = unfolded(postcat_headers(postfix, queue_id))
        verdicts = [v for n, v in fields if n == "X-Mailwarden-Verdict"]
        assert len(verdicts) == 1 and verdicts[0].startswith("phishing; score="), verdicts
        assert verdicts[0].endswith("action=hold")
        reasons = [v for n, v in fields if n == "X-Mailwarden-Reason"]
        japanese = [decoded(v) for n, v in fields if n == "X-Mailwarden-Reason-Ja"]
        assert any(r.startswith("brand_impersonation=") for r in reasons), reasons
        assert len(japanese) == len(reasons) and any("送信" in j for j in japanese), japanese
    assert any("milter-hold" in line for line in postfix.log_lines())
    logged = mailwarden.output()  # Mailwarden's log names Postfix's queue ids of what it held
    assert all(f"milter: {queue_id} " in logged for queue_id in phishing_ids), logged

    delivered = sink.wait_for_messages(len(ordinary), timeout=30)
    assert {m.rcpt_tos for m in delivered} == {(RECIPIENT,)}
    by_id = {str(m.message()["Message-ID"]): m for m in delivered}
    for raw in ordinary:
        message_id = re.search(rb"(?im)^message-id:\s*(\S+)", raw)
        assert message_id is not None
        arrived = by_id[message_id.group(1).decode()]
        sent = re.sub(rb"(?im)^return-path:.*\n", b"", raw)  # Postfix drops it on arrival
        got = without_added(arrived.content).rstrip(b"\n")  # SMTP adds a missing last LF
        assert got.split(b"\n") == sent.rstrip(b"\n").split(b"\n")
        verdict = arrived.message()["X-Mailwarden-Verdict"]
        assert str(verdict).startswith("clean; score=")

    # Released by an administrator, the held mail goes on, its reasons still attached.
    postfix.postsuper("-H", "-", queue_ids=phishing_ids)
    postfix.flush()
    arrived = sink.wait_for_messages(len(ordinary) + len(phishing_ids), timeout=30)
    released = [m for m in arrived if "phishing" in str(m.message()["X-Mailwarden-Verdict"])]
    assert len(released) == len(phishing_ids)
    assert not [m for m in arrived if m.mail_from == "web@city.example.jp"]  # still held


def test_killed_mailwarden_fails_open(
    postfix_factory: PostfixFactory, sink_factory: SinkFactory, mailwarden: MailwardenProcess
) -> None:
    """With the milter gone (kill -9), Postfix's milter_default_action = accept lets mail
    through, phishing too: Mailwarden is never the reason mail stops."""
    sink = sink_factory()
    postfix = start_mx(postfix_factory, sink, mailwarden.milter_port)
    send(postfix, corpus_mail(ORDINARY[0]))
    first = sink.wait_for_messages(1, timeout=30)[0]
    assert str(first.message()["X-Mailwarden-Verdict"]).startswith("clean")

    mailwarden.kill9()
    send(postfix, corpus_mail(ORDINARY[1]))
    send(postfix, corpus_mail(PHISHING[0]))
    arrived = sink.wait_for_messages(3, timeout=30)
    assert all(m.message()["X-Mailwarden-Verdict"] is None for m in arrived[1:])
    assert not held(postfix)
    postfix.wait_for_log("Milter service")


def test_reject_when_configured(
    postfix_factory: PostfixFactory, sink_factory: SinkFactory
) -> None:
    """With [milter] phishing = "reject", phishing is refused at the end of DATA with the
    configured reply; ordinary mail still passes."""
    proc = MailwardenProcess(CONFIG, extra='\n[milter]\nphishing = "reject"\n'
                             'reject_reply = "550 5.7.1 Refused as {verdict}"\n')
    try:
        sink = sink_factory()
        postfix = start_mx(postfix_factory, sink, proc.milter_port)
        with pytest.raises(smtplib.SMTPResponseException) as refused:
            send(postfix, corpus_mail(PHISHING[0]))
        assert refused.value.smtp_code == 550
        assert b"Refused as phishing" in refused.value.smtp_error
        send(postfix, corpus_mail(ORDINARY[0]))
        assert len(sink.wait_for_messages(1, timeout=30)) == 1
    finally:
        proc.stop()


def test_clamav_finding_holds_the_mail_as_malware(
    postfix_factory: PostfixFactory, sink_factory: SinkFactory,
    clamd_factory: Callable[[], ClamdInstance]
) -> None:
    """With [milter] clamd set, a real clamd finds the EICAR file attached to a mail: the mail
    is held as malware with the ClamAV finding as its first reason; ordinary mail passes."""
    clamd = clamd_factory()
    proc = MailwardenProcess(CONFIG, extra=f'\n[milter]\nclamd = "{clamd.unix_address}"\n')
    try:
        sink = sink_factory()
        postfix = start_mx(postfix_factory, sink, proc.milter_port)
        infected = send(postfix, eicar_mail())
        send(postfix, corpus_mail(ORDINARY[0]))
        postfix.wait_for(lambda: infected in held(postfix), timeout=30, what="EICAR mail held")
        fields = unfolded(postcat_headers(postfix, infected))
        assert dict(fields)["X-Mailwarden-Verdict"].startswith("malware; ")
        reasons = [v for n, v in fields if n == "X-Mailwarden-Reason"]
        assert reasons[0].startswith("clamav=") and SIGNATURE in reasons[0]
        delivered = sink.wait_for_messages(1, timeout=30)[0]
        assert str(delivered.message()["X-Mailwarden-Verdict"]).startswith("clean")
    finally:
        proc.stop()


class StallingClamd:
    """A stand-in for clamd on a loopback port: its first scan answers only once ``release``
    is set (that message stays in Mailwarden's analysis, holding its bytes); later scans
    answer at once (clean)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.scanning = threading.Event()  # the first message is being scanned
        self.release = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        stall = True
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._scan, args=(conn, stall), daemon=True).start()
            stall = False

    def _scan(self, conn: socket.socket, stall: bool) -> None:
        with conn, conn.makefile("rb") as reader:
            conn.settimeout(60)
            reader.read(len(b"zINSTREAM\0"))
            while size := struct.unpack(">I", reader.read(4))[0]:
                reader.read(size)
            if stall:
                self.scanning.set()
                self.release.wait(60)
            conn.sendall(b"stream: OK\0")

    def close(self) -> None:
        self.release.set()
        self.sock.close()


def long_mail(subject: str, body_bytes: int) -> bytes:
    line = b"y" * 75 + b"\n"
    return (f"From: a@outside.example\nTo: {RECIPIENT}\nSubject: {subject}\n"
            f"Message-ID: <{subject}@outside.example>\nDate: Mon, 2 Mar 2026 10:00:00 +0900\n"
            "\n").encode() + line * (body_bytes // len(line))


def test_memory_budget_truncates_instead_of_delaying(
    postfix_factory: PostfixFactory, sink_factory: SinkFactory
) -> None:
    """[milter] max_buffered_bytes = 200000: while a 150 kB mail is in its analysis (a clamd
    that does not answer yet holds it there), a 100 kB mail through another Postfix session
    does not fit: it is delivered at once, analysed on its first bytes, with the budget note
    in its headers, and Mailwarden logs that the budget was full. The first mail, released,
    arrives whole, without the note."""
    clamd = StallingClamd()
    proc = MailwardenProcess(CONFIG, extra=(
        "\n[milter]\nmax_message_bytes = 200000\nmax_buffered_bytes = 200000\n"
        f'clamd = "tcp:127.0.0.1:{clamd.port}"\nclamd_timeout = 50.0\ntimeout = 55.0\n'))
    try:
        sink = sink_factory()
        postfix = start_mx(postfix_factory, sink, proc.milter_port)
        first = threading.Thread(target=send, args=(postfix, long_mail("first", 150_000)))
        first.start()
        assert clamd.scanning.wait(30), proc.output()
        send(postfix, long_mail("second", 100_000))
        second = sink.wait_for_messages(1, timeout=30)[0].message()
        assert str(second["Subject"]) == "second"
        note = " ".join(str(second["X-Mailwarden-Note"]).split())
        assert "max_buffered_bytes = 200000" in note, note
        assert second["X-Mailwarden-Note-Ja"] is not None
        assert "memory budget full" in proc.output()
        clamd.release.set()
        first.join(30)
        arrived = sink.wait_for_messages(2, timeout=30)
        whole = next(m.message() for m in arrived if str(m.message()["Subject"]) == "first")
        assert whole["X-Mailwarden-Note"] is None
        assert str(whole["X-Mailwarden-Verdict"]).startswith("clean")
    finally:
        clamd.close()
        proc.stop()


def take_the_slot(port: int) -> socket.socket:
    """A negotiated milter connection (tried again while the start-up check's connection
    still holds the one slot)."""
    for _ in range(50):
        conn = socket.create_connection(("127.0.0.1", port), timeout=10)
        try:
            conn.sendall(struct.pack(">IcIII", 13, b"O", 6, 0x1FF, 0x1FFFFF))
            if conn.recv(4):
                return conn
        except ConnectionError:
            pass
        conn.close()
        settle(0.1)
    raise AssertionError("the milter never answered")


def give_back_the_slot(holder: socket.socket) -> None:
    """Close ``holder`` and return once the milter has dropped it: the milter closes its end
    only when it lets the connection go, so the end of what it sends marks that moment."""
    holder.shutdown(socket.SHUT_WR)
    with contextlib.suppress(ConnectionResetError):
        while holder.recv(4096):  # the rest of the negotiation's reply, then the end
            pass
    holder.close()


REFUSED = "(max_connections = 1): 1 new connection(s) closed at once"


def smtpd_session(postfix: PostfixInstance, queue_id: str) -> list[str]:
    """What Postfix's smtpd logged for the SMTP session that received ``queue_id``: its lines
    from ``connect from`` up to ``QUEUEID: client=`` (waited for: postlogd writes a moment
    later)."""

    def logged() -> list[str]:
        found = postfix.log_lines()
        return found if any(f"{queue_id}: client=" in line for line in found) else []

    lines = postfix.wait_for(logged, what=f"Postfix's log of {queue_id}")
    end = next(i for i, line in enumerate(lines) if f"{queue_id}: client=" in line)
    smtpd = re.search(r"postfix/smtpd\[\d+\]: ", lines[end])
    assert smtpd is not None, lines[end]
    start = max(i for i in range(end) if smtpd[0] + "connect from" in lines[i])
    return [line for line in lines[start:end + 1] if smtpd[0] in line]


def handshake_failures(session: list[str], port: int) -> list[str]:
    """Postfix's warnings that the milter on ``port`` closed the connection before it
    answered the negotiation (milter8.c: read or write error in initial handshake)."""
    return [line for line in session
            if f"milter inet:127.0.0.1:{port}: " in line and "error in initial handshake" in line]


def test_a_session_over_max_connections_passes_unchecked_at_once(
    postfix_factory: PostfixFactory, sink_factory: SinkFactory
) -> None:
    """[milter] max_connections = 1 with its one slot taken: the milter connection of the
    mail's own SMTP session is refused (Postfix logs the failed handshake in that session),
    milter_default_action = accept delivers the mail unchecked within seconds — a milter that
    kept Postfix waiting would cost one of its 30 s milter timeouts — and Mailwarden logs the
    refusal; once the slot is free, mail is judged again."""
    proc = MailwardenProcess(CONFIG, extra="\n[milter]\nmax_connections = 1\n")
    holder = take_the_slot(proc.milter_port)
    try:
        sink = sink_factory()
        postfix = postfix_factory(
            relay=sink, recipient_restrictions="permit_mynetworks, reject",
            main_cf={**milter_params(proc.milter_port), "milter_connect_timeout": "30s",
                     "milter_command_timeout": "30s"})
        started = time.monotonic()
        queue_id = send(postfix, corpus_mail(ORDINARY[0]))
        unchecked = sink.wait_for_messages(1, timeout=40)[0]
        took = time.monotonic() - started
        assert took < 10, f"delivered after {took:.1f} s: Postfix waited for the milter"
        assert unchecked.message()["X-Mailwarden-Verdict"] is None
        session = smtpd_session(postfix, queue_id)
        assert handshake_failures(session, proc.milter_port), "\n".join(session)
        assert not held(postfix)
        # The first refusal is logged at once, the others within the minute are counted
        # towards the next line: the first may be that of the start-up check's connection
        # (still open when the holder came) or of Postfix's own start-up probe.
        wait_for(lambda: REFUSED in proc.output(), timeout=10, what="the refusal line")
        assert proc.output().count("new connection(s) closed at once") == 1, proc.output()
        give_back_the_slot(holder)
        queue_id = send(postfix, corpus_mail(ORDINARY[1]))
        judged = sink.wait_for_messages(2, timeout=30)[1]
        assert str(judged.message()["X-Mailwarden-Verdict"]).startswith("clean")
        session = smtpd_session(postfix, queue_id)
        assert not handshake_failures(session, proc.milter_port), "\n".join(session)
    finally:
        holder.close()
        proc.stop()
