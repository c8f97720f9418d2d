"""Notification channels against real receivers on loopback: an SMTP server with STARTTLS, an
HTTP receiver (Slack-, Teams- and HMAC-signed JSON), UDP and TCP syslog listeners, an ECS file."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import socket
import ssl
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from mailstack.common import LOOPBACK, free_port, require_program, wait_for

from mailwarden.config import Config
from mailwarden.engine.incident import Incident, incident_id
from mailwarden.engine.signals.base import Reason
from mailwarden.response import notify
from mailwarden.response.channels.base import Alert, DeliveryError, alert_from_incident
from mailwarden.response.channels.ecs import EcsChannel
from mailwarden.response.channels.email import EmailChannel
from mailwarden.response.channels.slack import SlackChannel
from mailwarden.response.channels.syslog import SyslogChannel
from mailwarden.response.channels.teams import TeamsChannel
from mailwarden.response.channels.webhook import WebhookChannel

SECRET = "integration-secret-0123456789"
T0 = 1759693500.0  # 2025-10-06 04:45 JST


def incident(account: str = "chief@police.example.jp") -> Incident:
    ev = {"count": 240, "metric": "messages", "window": "hour", "limit": 100}
    reason = Reason("rate", 1.0, "240 messages in the last hour; the limit is 100",
                    "直近1時間に送信メールが240件あり、上限100件を超えています", ev)
    return Incident(incident_id(account, T0), T0, account, "outbound", "high", 1.5, [reason])


def config(tmp_path: Path, **settings: Any) -> Config:
    cfg = Config()
    cfg.data_dir = tmp_path
    cfg.notify.backoff_seconds, cfg.notify.backoff_max_seconds = 0.05, 0.2
    cfg.notify.timeout_seconds = 3.0
    cfg.notify.webhook_secret = SECRET
    for key, value in settings.items():
        setattr(cfg.notify, key, value)
    return cfg


async def dispatch(cfg: Config, channels: list[Any], alerts: list[Alert],
                   until: Any = None, timeout: float = 10.0) -> notify.Dispatcher:
    """Run a dispatcher, submit the alerts, wait for ``until()`` (in a thread), then stop."""
    d = notify.Dispatcher(cfg, channels)
    await d.start()
    for alert in alerts:
        d.submit(alert)
    if until is not None:
        await asyncio.to_thread(wait_for, until, timeout)
    await d.stop(drain=5)
    return d


# -- TLS certificate ---------------------------------------------------------------------------

def make_cert(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cryptography if installed, else openssl)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        _cert_with_cryptography(cert, key)
    except ImportError:
        openssl = require_program("openssl", "openssl")
        subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                       check=True, capture_output=True)
    return cert, key


def _cert_with_cryptography(cert: Path, key: Path) -> None:
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    built = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
             .public_key(private.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - dt.timedelta(minutes=5))
             .not_valid_after(now + dt.timedelta(days=1))
             .add_extension(x509.SubjectAlternativeName(
                 [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
             .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
             .sign(private, hashes.SHA256()))
    cert.write_bytes(built.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(private.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))


# -- SMTP ----------------------------------------------------------------------------------

@dataclass
class Delivered:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    tls: bool
    login: bytes | None


class SmtpHandler:
    def __init__(self) -> None:
        self.messages: list[Delivered] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        login = getattr(session, "auth_data", None)
        self.messages.append(Delivered(envelope.mail_from, list(envelope.rcpt_tos),
                                       bytes(envelope.original_content or envelope.content),
                                       session.ssl is not None,
                                       login.login if login is not None else None))
        return "250 2.0.0 OK"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                  auth_data: Any) -> AuthResult:
    ok = auth_data.login == b"mailwarden" and auth_data.password == b"s3cret-pass"
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


@pytest.fixture
def smtp_factory(tmp_path: Path) -> Iterator[Any]:
    """smtp_factory(starttls=True) -> (handler, port, cert): aiosmtpd on 127.0.0.1."""
    started: list[Controller] = []

    def factory(starttls: bool = True) -> tuple[SmtpHandler, int, Path]:
        cert, key = make_cert(tmp_path)
        handler, port = SmtpHandler(), free_port()
        kwargs: dict[str, Any] = {"authenticator": _authenticate, "auth_require_tls": True}
        if starttls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
            kwargs.update(tls_context=context, require_starttls=True)
        controller = Controller(handler, hostname=LOOPBACK, port=port, **kwargs)
        controller.start()
        started.append(controller)
        return handler, port, cert

    yield factory
    for controller in started:
        controller.stop()


def test_email_alert_over_starttls_in_japanese_and_english(tmp_path, smtp_factory):
    """The alert arrives over STARTTLS with AUTH: encoded subject, UTF-8 body, both languages."""
    handler, port, cert = smtp_factory()
    cfg = config(tmp_path, smtp_host=LOOPBACK, smtp_port=port, smtp_ca_file=str(cert),
                 smtp_user="mailwarden", smtp_password="s3cret-pass",
                 smtp_from="mailwarden@police.example.jp", smtp_to=["soc@police.example.jp"])
    asyncio.run(dispatch(cfg, [EmailChannel(cfg)], [alert_from_incident(incident())],
                         until=lambda: handler.messages))
    got = handler.messages[0]
    assert got.tls and got.login == b"mailwarden" and got.rcpt_tos == ["soc@police.example.jp"]
    assert got.content.isascii()  # 7-bit clean on the wire: RFC 2047 and base64
    msg = BytesParser(policy=policy.default).parsebytes(got.content)
    assert isinstance(msg, EmailMessage)
    subject = str(msg["Subject"])
    assert "chief@police.example.jp の送信メールを保留しました" in subject
    assert "Outbound mail of chief@police.example.jp held" in subject
    assert msg.get_content_type() == "text/plain" and msg.get_content_charset() == "utf-8"
    body = msg.get_content()
    assert "直近1時間に送信メールが240件" in body and "240 messages in the last hour" in body
    assert "2025-10-06 04:45 JST" in body and "私が送信したものではありません" in body


def test_email_refuses_a_server_without_starttls(tmp_path, smtp_factory):
    """With STARTTLS required, a server that does not offer it gets nothing in clear text."""
    handler, port, _ = smtp_factory(starttls=False)
    cfg = config(tmp_path, smtp_host=LOOPBACK, smtp_port=port, smtp_to=["soc@example.jp"])
    with pytest.raises(DeliveryError) as err:
        EmailChannel(cfg).send(alert_from_incident(incident()))
    assert "STARTTLS" in str(err.value) and not err.value.retry and handler.messages == []


# -- HTTP ----------------------------------------------------------------------------------

@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """An HTTP server on 127.0.0.1 that records POSTs and checks the webhook signature.

    ``fail[path]`` answers 500 that many times first; ``broken`` paths always answer 500.
    """

    def __init__(self) -> None:
        self.received: list[Request] = []
        self.attempts: Counter[str] = Counter()
        self.fail: dict[str, int] = {}
        self.broken: set[str] = set()
        self.rejected: list[str] = []
        self.seen: set[str] = set()
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer((LOOPBACK, 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://{LOOPBACK}:{self.server.server_address[1]}{path}"

    def at(self, path: str) -> list[Request]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def verify(self, headers: dict[str, str], body: bytes) -> str:
        """The documented scheme, written out independently: '' when genuine, else why not."""
        stamp = headers.get("X-Mailwarden-Timestamp", "")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > 300:
            return "stale timestamp"
        mac = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256)
        if not hmac.compare_digest("v1=" + mac.hexdigest(),
                                   headers.get("X-Mailwarden-Signature", "")):
            return "bad signature"
        delivery = json.loads(body)["delivery_id"]
        if delivery in self.seen:
            return "replay"
        self.seen.add(delivery)
        return ""

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            self.attempts[path] += 1
            if path in self.broken:
                return 500
            if self.fail.get(path, 0) > 0:
                self.fail[path] -= 1
                return 500
            if path == "/webhook":
                why = self.verify(headers, body)
                if why:
                    self.rejected.append(why)
                    return 401
            self.received.append(Request(path, headers, body, time.monotonic()))
            return 202 if path == "/teams" else 200

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receiver.answer(self.path, dict(self.headers.items()), body)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A started HTTP receiver on a free loopback port."""
    r = Receiver()
    yield r
    r.close()


def http_config(tmp_path: Path, receiver: Receiver, **settings: Any) -> Config:
    return config(tmp_path, slack_url=receiver.url("/slack"), teams_url=receiver.url("/teams"),
                  webhook_url=receiver.url("/webhook"), **settings)


def test_slack_teams_and_signed_webhook_are_received(tmp_path, receiver):
    """One incident reaches Slack (Block Kit), Teams (Adaptive Card) and the signed webhook."""
    cfg = http_config(tmp_path, receiver, dashboard_url="https://mw.example.jp")
    channels = [SlackChannel(cfg), TeamsChannel(cfg), WebhookChannel(cfg)]
    alert = alert_from_incident(incident())
    asyncio.run(dispatch(cfg, channels, [alert], until=lambda: len(receiver.received) == 3))
    slack = receiver.at("/slack")[0].json()
    assert slack["blocks"][0]["type"] == "header" and "保留" in slack["blocks"][0]["text"]["text"]
    assert any("<https://mw.example.jp/incidents/" in json.dumps(b) for b in slack["blocks"])
    teams = receiver.at("/teams")[0].json()
    card = teams["attachments"][0]["content"]
    assert teams["type"] == "message" and card["type"] == "AdaptiveCard"
    assert card["body"][1]["type"] == "FactSet" and card["actions"][0]["type"] == "Action.OpenUrl"
    hook = receiver.at("/webhook")[0]
    data = hook.json()
    assert receiver.rejected == [] and hook.headers["X-Mailwarden-Delivery"] == data["delivery_id"]
    assert data["id"] == alert.id and data["title"]["ja"] == alert.title_ja
    assert data["reasons"][0]["signal"] == "rate" and data["record"]["score"] == 1.5


def test_alert_reaches_receiver_within_one_second(tmp_path, receiver):
    """From submit to the HTTP receiver takes under one second."""
    cfg = http_config(tmp_path, receiver)
    submitted: list[float] = []

    async def run() -> None:
        d = notify.Dispatcher(cfg, [WebhookChannel(cfg)])
        await d.start()
        submitted.append(time.monotonic())
        d.submit(alert_from_incident(incident()))
        await asyncio.to_thread(wait_for, lambda: receiver.received, 5.0)
        await d.stop()

    asyncio.run(run())
    assert receiver.received[0].at - submitted[0] < 1.0


def test_webhook_failing_twice_gets_the_alert_once(tmp_path, receiver):
    """Two 500 answers, then success: three attempts, one delivery, signature fresh each time."""
    receiver.fail["/webhook"] = 2
    cfg = http_config(tmp_path, receiver)
    d = asyncio.run(dispatch(cfg, [WebhookChannel(cfg)], [alert_from_incident(incident())],
                             until=lambda: receiver.received))
    assert receiver.attempts["/webhook"] == 3 and len(receiver.at("/webhook")) == 1
    assert receiver.rejected == [] and d.stats()["channels"]["webhook"]["retried"] == 2


def test_failing_receiver_blocks_neither_other_channels_nor_caller(tmp_path, receiver):
    """A webhook that always fails is retried in its lane; Slack and ECS deliver meanwhile."""
    receiver.broken.add("/webhook")
    cfg = http_config(tmp_path, receiver, retries=3, backoff_seconds=0.5, backoff_max_seconds=1.0)
    ecs = EcsChannel(cfg)
    channels = [WebhookChannel(cfg), SlackChannel(cfg), ecs]
    alerts = [alert_from_incident(incident(f"u{i}@example.jp")) for i in range(5)]

    async def run() -> tuple[float, float, notify.Dispatcher]:
        d = notify.Dispatcher(cfg, channels)
        await d.start()
        started = time.perf_counter()
        for alert in alerts:
            d.submit(alert)
        submit_time = time.perf_counter() - started
        t0 = time.monotonic()
        await asyncio.to_thread(wait_for, lambda: len(receiver.at("/slack")) == 5, 5.0)
        others = time.monotonic() - t0
        await d.stop(drain=0.5)
        return submit_time, others, d

    submit_time, others, d = asyncio.run(run())
    assert submit_time < 0.05 and others < 1.0
    assert len(ecs.path.read_text(encoding="utf-8").splitlines()) == 5
    assert receiver.at("/webhook") == [] and receiver.attempts["/webhook"] >= 1
    assert d.stats()["channels"]["webhook"]["sent"] == 0
    assert d.stats()["channels"]["slack"]["sent"] == 5


def test_duplicates_and_rate_limit_at_the_receiver(tmp_path, receiver):
    """Repeats of one incident arrive once plus a summary; distinct ones are spaced by the rate."""
    cfg = http_config(tmp_path, receiver, rate_per_minute=120, burst=1)
    same = [alert_from_incident(incident()) for _ in range(4)]
    distinct = [alert_from_incident(incident(f"u{i}@example.jp")) for i in range(2)]
    asyncio.run(dispatch(cfg, [WebhookChannel(cfg)], same + distinct,
                         until=lambda: len(receiver.received) >= 3))
    got = [r.json() for r in receiver.at("/webhook")]
    assert [g["kind"] for g in got] == ["incident", "incident", "incident", "summary"]
    assert got[3]["count"] == 3 and got[3]["account"] == "chief@police.example.jp"
    times = [r.at for r in receiver.at("/webhook")]
    assert times[1] - times[0] >= 0.4 and times[2] - times[1] >= 0.4


# -- syslog and ECS --------------------------------------------------------------------------

SYSLOG = re.compile(r"^<(?P<pri>\d{1,3})>1 (?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) "
                    r"(?P<host>\S+) mailwarden (?P<pid>\d+) (?P<msgid>\S+) - (?P<msg>CEF:0\|.*)$",
                    re.S)


def check_cef(text: str) -> dict[str, str]:
    m = SYSLOG.match(text)
    assert m is not None, text
    assert int(m["pri"]) == 10 * 8 + 2 and m["msgid"] == "incident"
    head = m["msg"].split("|")
    assert head[1:3] == ["Mailwarden", "Mailwarden"] and head[4] == "incident"
    assert head[6] == "8"
    ext = "|".join(head[7:])
    return dict(re.findall(r"(\w+)=((?:[^\\ =]|\\.| (?!\w+=))*)", ext))


def test_syslog_udp_receives_rfc5424_with_cef(tmp_path):
    """A UDP listener receives one RFC 5424 datagram whose MSG is a CEF record."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        sock.settimeout(5)
        cfg = config(tmp_path, syslog_port=sock.getsockname()[1])
        asyncio.run(dispatch(cfg, [SyslogChannel(cfg)], [alert_from_incident(incident())]))
        data, _ = sock.recvfrom(65535)
    ext = check_cef(data.decode())
    assert ext["suser"] == "chief@police.example.jp" and ext["cs1"] == "rate"
    assert ext["rt"] == str(int(T0 * 1000)) and "保留" in ext["cs2"]


def test_syslog_tcp_uses_octet_counting(tmp_path):
    """Over TCP each message is framed as '<length> <message>' (RFC 6587)."""
    with socket.create_server((LOOPBACK, 0)) as server:
        server.settimeout(5)
        cfg = config(tmp_path, syslog_port=server.getsockname()[1], syslog_proto="tcp")
        received: list[bytes] = []

        def accept() -> None:
            conn, _ = server.accept()
            with conn:
                conn.settimeout(5)
                while chunk := conn.recv(65536):
                    received.append(chunk)

        thread = threading.Thread(target=accept)
        thread.start()
        asyncio.run(dispatch(cfg, [SyslogChannel(cfg)], [alert_from_incident(incident())]))
        thread.join(5)
    length, _, message = b"".join(received).partition(b" ")
    assert int(length) == len(message)
    check_cef(message.decode())


def test_ecs_lines_are_json_with_ecs_field_names(tmp_path):
    """Each alert is one JSON line with ECS names; the file is created where configured."""
    path = tmp_path / "siem" / "alerts.jsonl"
    cfg = config(tmp_path, ecs_path=str(path))
    alerts = [alert_from_incident(incident(f"u{i}@example.jp")) for i in range(3)]
    asyncio.run(dispatch(cfg, [EcsChannel(cfg)], alerts))
    docs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(docs) == 3
    for doc, alert in zip(docs, alerts, strict=True):
        assert doc["@timestamp"] == "2025-10-05T19:45:00Z" and doc["ecs"]["version"]
        assert doc["event"]["kind"] == "alert" and doc["event"]["id"] == alert.id
        assert doc["event"]["category"] == ["intrusion_detection"]
        assert doc["user"]["name"] == alert.account and doc["rule"]["name"] == "rate"
        assert doc["observer"]["product"] == "Mailwarden"
        assert doc["mailwarden"]["alert"]["title"]["ja"] == alert.title_ja

