"""Notifications: texts, alert building, de-duplication, rate limits, retries and formats."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest

from mailwarden import i18n
from mailwarden.config import Config, ConfigError, load
from mailwarden.engine.incident import Incident, incident_id
from mailwarden.engine.signals.base import Reason
from mailwarden.response import notify, templates
from mailwarden.response.channels.base import (
    Alert,
    DeliveryError,
    alert_from_finding,
    alert_from_incident,
    languages,
)
from mailwarden.response.channels.ecs import document
from mailwarden.response.channels.email import EmailChannel
from mailwarden.response.channels.slack import HEADER_MAX, SlackChannel
from mailwarden.response.channels.syslog import SyslogChannel, cef, value_escape
from mailwarden.response.channels.teams import TeamsChannel
from mailwarden.response.channels.webhook import Verifier, WebhookChannel, payload, sign
from mailwarden.service import Runtime
from mailwarden.store.store import Batch, Store

T0 = 1759693500.0  # 2025-10-05 19:45 UTC = 2025-10-06 04:45 JST
SECRET = "0123456789abcdef-test-secret"


def make_incident(account: str = "chief@police.example.jp", t: float = T0,
                  kind: str = "outbound") -> Incident:
    ev = {"count": 240, "metric": "messages", "window": "hour", "limit": 100}
    reason = Reason("rate", 1.0, i18n.render("rate", "en", **ev), i18n.render("rate", "ja", **ev),
                    ev)
    return Incident(incident_id(account, t), t, account, kind, "high", 1.5, [reason],
                    {"client": "198.51.100.7"})


def make_finding(signal: str = "brute_force_account", account: str = "taro@example.jp",
                 address: str = "203.0.113.9", t: float = T0, severity: str = "high",
                 **evidence: Any) -> dict[str, Any]:
    ev = evidence or {"count": 12, "minutes": 10, "sources": 3}
    reason = Reason(signal, 0.0, f"{signal} en", f"{signal} ja", ev)
    return {"type": "finding", "signal": signal, "account": account, "address": address,
            "time": "x", "severity": severity, "reasons": [reason.to_dict()], "epoch": t}


def notify_config(**settings: Any) -> Config:
    cfg = Config()
    cfg.notify.backoff_seconds = 0.01
    cfg.notify.backoff_max_seconds = 0.05
    for key, value in settings.items():
        setattr(cfg.notify, key, value)
    return cfg


class Recorder:
    """A channel that keeps what it is given (our own interface, not a stand-in for a server)."""

    def __init__(self, name: str = "recorder", fail: int = 0, retry: bool = True) -> None:
        self.name, self.fail, self.retry = name, fail, retry
        self.alerts: list[Alert] = []
        self.times: list[float] = []
        self.attempts = 0

    def send(self, alert: Alert) -> None:
        self.attempts += 1
        if self.fail:
            self.fail -= 1
            raise DeliveryError(self.name, "nowhere", "refused", retry=self.retry)
        self.alerts.append(alert)
        self.times.append(time.monotonic())


async def run_dispatcher(cfg: Config, channels: list[Any], alerts: list[Alert],
                         settle: float = 0.3) -> notify.Dispatcher:
    dispatcher = notify.Dispatcher(cfg, channels)
    await dispatcher.start()
    for alert in alerts:
        dispatcher.submit(alert)
    await asyncio.sleep(settle)
    await dispatcher.stop(drain=5)
    return dispatcher


# -- texts ----------------------------------------------------------------------------------

def test_contact_notice_names_account_and_period_in_both_languages():
    """The notice to contacts says mail between T1 and T2 was not sent by the account holder."""
    tz = Config().tz
    subject_ja, body_ja = templates.contact_notice("chief@police.example.jp", T0, T0 + 45000,
                                                   "ja", tz)
    subject_en, body_en = templates.contact_notice("chief@police.example.jp", T0, T0 + 45000,
                                                   "en", tz)
    assert "2025-10-06 04:45 JST" in subject_ja and "2025-10-06 17:15 JST" in subject_ja
    assert "私が送信したものではありません" in body_ja and "chief@police.example.jp" in body_ja
    assert subject_en.startswith("Please disregard mail from chief@police.example.jp sent")
    assert "were not sent by me" in body_en and "between 2025-10-06 04:45 JST and" in body_en


def test_alert_text_has_both_languages_steps_and_notice():
    """The e-mail text shows Japanese first, then English, each with reasons, steps and notice."""
    alert = alert_from_incident(make_incident())
    text = templates.text(alert, ("ja", "en"), Config().tz, "https://mw.example.jp/",
                          now=T0 + 3600)
    assert text.index("送信メールを保留しました") < text.index("Outbound mail of")
    assert "直近1時間に送信メールが240件" in text and "240 messages in the last hour" in text
    assert "https://mw.example.jp/incidents/" + alert.id in text
    assert "パスワードを変更" in text and "Change the account's password" in text
    assert "関係者各位" in text and "Dear all" in text


def test_languages_setting():
    """language = both shows Japanese first; ja or en alone show one language."""
    assert languages("both") == ("ja", "en") and languages("en") == ("en",)


# -- alerts ---------------------------------------------------------------------------------

def test_alert_from_incident_keeps_record_and_key():
    """An incident alert carries the stored record and is keyed by account and kind."""
    inc = make_incident()
    alert = alert_from_incident(inc)
    assert alert.record == inc.to_dict() and alert.key == f"incident:{inc.account}:outbound"
    assert alert.signals == ["rate"] and alert.title_ja == inc.title_ja


def test_finding_about_a_source_is_keyed_by_the_source():
    """A spray is one alert per source, however many accounts it touches."""
    spray = [alert_from_finding(make_finding("password_spray", f"u{i}@example.jp",
                                             source="203.0.113.0/24", accounts=12, minutes=10))
             for i in range(3)]
    assert len({a.key for a in spray}) == 1
    per_account = alert_from_finding(make_finding("brute_force_account"))
    assert per_account.key == "finding:brute_force_account:taro@example.jp"


# -- de-duplication and rate limit ------------------------------------------------------------

def test_dedup_sends_first_counts_repeats_and_summarises():
    """Within the window only the first alert passes; the repeats come back as one summary."""
    made: list[notify.Repeats] = []

    def summarise(entry: notify.Repeats) -> Alert:
        made.append(entry)
        return entry.first

    dedup = notify.Dedup(60, summarise)
    first = alert_from_finding(make_finding(t=T0))
    assert dedup.admit(first, 0.0) == [first]
    for i in range(5):
        assert dedup.admit(alert_from_finding(make_finding(t=T0 + i + 1)), 1.0 + i) == []
    other = alert_from_finding(make_finding(account="hanako@example.jp"))
    assert dedup.admit(other, 2.0) == [other]
    assert dedup.expired(30.0) == []
    assert len(dedup.expired(61.0)) == 1 and made[0].count == 5
    assert dedup.expired(200.0) == []  # no repeats in the second window: nothing more


def test_dedup_sample_keeps_newest_repeat():
    """However many repeats, the sample is bounded and ends with the newest one."""
    dedup = notify.Dedup(60, lambda e: e.first)
    dedup.admit(alert_from_finding(make_finding(t=T0)), 0.0)
    for i in range(200):
        dedup.admit(alert_from_finding(make_finding(t=T0 + i + 1)), 1.0)
    entry = next(iter(dedup.windows.values()))
    assert entry.count == 200 and len(entry.sample) == notify.SAMPLE
    assert entry.sample[-1].time == T0 + 200


def test_rate_limit_allows_burst_then_spaces():
    """The bucket gives `burst` tokens at once, then one per 60/rate seconds."""
    now = [0.0]
    limit = notify.RateLimit(60, 2, clock=lambda: now[0])
    assert [limit.take(), limit.take()] == [0.0, 0.0]
    assert limit.take() == pytest.approx(1.0)
    now[0] = 10.0
    assert limit.take() == 0.0


def test_backoff_grows_and_is_bounded():
    """Retry waits double per attempt, honour Retry-After, and never exceed the maximum."""
    d = notify.Dispatcher(notify_config(backoff_seconds=1.0, backoff_max_seconds=20.0), [])
    waits = [d._backoff(n, None) for n in range(8)]
    assert 0.75 <= waits[0] <= 1.25 and 3.0 <= waits[2] <= 5.0 and max(waits) == 20.0
    assert d._backoff(0, 7.0) == 7.0 and d._backoff(0, 3600.0) == 20.0


# -- the dispatcher -------------------------------------------------------------------------

def test_duplicates_are_sent_once_then_summarised(monkeypatch):
    """Ten findings for one account and signal: one alert now, one summary of nine later."""
    monkeypatch.setattr(notify, "SWEEP_SECONDS", 0.05)
    rec = Recorder()
    cfg = notify_config(dedup_minutes=0.5 / 60)
    alerts = [alert_from_finding(make_finding(t=T0 + i)) for i in range(10)]
    d = asyncio.run(run_dispatcher(cfg, [rec], alerts, settle=0.9))
    kinds = [a.kind for a in rec.alerts]
    assert kinds == ["finding", "summary"]
    summary = rec.alerts[1]
    assert summary.count == 9 and summary.time == T0 + 1 and summary.until == T0 + 9
    assert "さらに9件" in summary.title_ja and "9 more alerts" in summary.title_en
    assert d.counters["suppressed"] == 9 and d.counters["summaries"] == 1


def test_pending_summary_is_sent_at_shutdown():
    """Repeats still inside their window are summarised when the service stops."""
    rec = Recorder()
    alerts = [alert_from_incident(make_incident()) for _ in range(3)]
    asyncio.run(run_dispatcher(notify_config(), [rec], alerts, settle=0.1))
    assert [a.kind for a in rec.alerts] == ["incident", "summary"] and rec.alerts[1].count == 2


def test_rate_limit_spaces_deliveries_of_a_channel():
    """With burst 2 and 120 a minute, four alerts take about one second, the first two at once."""
    rec = Recorder()
    cfg = notify_config(rate_per_minute=120, burst=2)
    alerts = [alert_from_incident(make_incident(f"u{i}@example.jp")) for i in range(4)]
    asyncio.run(run_dispatcher(cfg, [rec], alerts, settle=1.3))
    assert len(rec.alerts) == 4
    assert rec.times[1] - rec.times[0] < 0.2
    assert rec.times[3] - rec.times[0] >= 0.9


def test_retries_until_delivered():
    """A channel failing twice delivers on the third attempt, once."""
    rec = Recorder(fail=2)
    d = asyncio.run(run_dispatcher(notify_config(), [rec], [alert_from_incident(make_incident())]))
    assert rec.attempts == 3 and len(rec.alerts) == 1
    assert d.stats()["channels"]["recorder"] == {"sent": 1, "failed": 0, "retried": 2,
                                                 "dropped": 0}


def test_permanent_error_is_not_retried(caplog):
    """A delivery error marked permanent is logged once and not retried."""
    rec = Recorder(fail=5, retry=False)
    with caplog.at_level(logging.ERROR, "mailwarden.notify"):
        asyncio.run(run_dispatcher(notify_config(), [rec], [alert_from_incident(make_incident())]))
    assert rec.attempts == 1 and "not delivered after 1 attempt" in caplog.text


def test_broken_channel_does_not_stop_its_lane_or_others():
    """A channel raising an unexpected error keeps its worker alive; other channels deliver."""
    class Broken(Recorder):
        def send(self, alert: Alert) -> None:
            self.attempts += 1
            raise RuntimeError("bug")

    broken, good = Broken("broken"), Recorder("good")
    alerts = [alert_from_incident(make_incident(f"u{i}@example.jp")) for i in range(3)]
    d = asyncio.run(run_dispatcher(notify_config(), [broken, good], alerts))
    assert broken.attempts == 3 and len(good.alerts) == 3
    assert d.stats()["channels"]["broken"]["failed"] == 3


def test_full_queue_drops_oldest_with_counted_warning(caplog):
    """submit never waits: beyond queue_size the oldest alerts are dropped and counted."""
    d = notify.Dispatcher(notify_config(queue_size=5), [Recorder()])
    with caplog.at_level(logging.WARNING, "mailwarden.notify"):
        started = time.perf_counter()
        for i in range(1000):
            d.submit(alert_from_incident(make_incident(f"u{i}@example.jp")))
        elapsed = time.perf_counter() - started
    assert d.counters["dropped"] == 995 and d.queue.qsize() == 5
    assert d.queue.get_nowait().account == "u995@example.jp"
    assert "995" not in caplog.text and "512 dropped so far" in caplog.text
    assert elapsed < 1.0


def test_findings_only_when_enabled_and_high():
    """submit_batch sends incidents; findings only with high_findings and severity high."""
    batch = Batch(incidents=[make_incident()],
                  findings=[make_finding(), make_finding(severity="medium")])
    off = notify.Dispatcher(notify_config(), [])
    off.submit_batch(batch)
    on = notify.Dispatcher(notify_config(high_findings=True), [])
    on.submit_batch(batch)
    assert off.queue.qsize() == 1 and on.queue.qsize() == 2


def test_runtime_hands_stored_incidents_to_dispatcher(tmp_path):
    """The service hook: each flush's new incidents reach the dispatcher once stored (a
    notification never names an incident the store does not have)."""
    cfg = notify_config()
    rt = Runtime(cfg, Store(f"sqlite:///{tmp_path / 'mw.db'}"))
    rt.notify = notify.Dispatcher(cfg, [])
    rt.guard.batch.incidents.append(make_incident())
    batch = rt.collect()
    assert len(batch.incidents) == 1 and rt.notify.queue.empty()
    rt.store.write(batch, 1.0)
    rt.written(batch)
    assert rt.notify.queue.get_nowait().kind == "incident"


# -- formats --------------------------------------------------------------------------------

def test_email_is_utf8_mime_with_encoded_subject():
    """The e-mail has an RFC 2047 subject and a base64 UTF-8 body with both languages."""
    cfg = notify_config(smtp_to=["soc@example.jp"], smtp_from="mailwarden@example.jp")
    raw = EmailChannel(cfg).message(alert_from_incident(make_incident())).as_bytes()
    assert raw.isascii() and b"=?utf-8?" in raw
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert "送信メールを保留しました" in str(parsed["Subject"])
    assert parsed["Content-Transfer-Encoding"] == "base64"
    assert parsed.get_content_charset() == "utf-8" and parsed["Auto-Submitted"]
    assert "関係者各位" in parsed.get_content() and "Dear all" in parsed.get_content()


def test_slack_and_teams_payload_shapes():
    """Slack gets Block Kit with a bounded header; Teams a message with one Adaptive Card."""
    cfg = notify_config()
    long = make_incident("x" * 300 + "@example.jp")
    slack = SlackChannel(cfg).payload(alert_from_incident(long))
    assert slack["blocks"][0]["type"] == "header"
    assert all(len(b["text"]["text"]) <= HEADER_MAX for b in slack["blocks"]
               if b["type"] == "header")
    teams = TeamsChannel(cfg).payload(alert_from_incident(make_incident()))
    attachment = teams["attachments"][0]
    assert teams["type"] == "message"
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["content"]["type"] == "AdaptiveCard"


def test_webhook_verifier_accepts_genuine_rejects_tampered_old_and_replayed():
    """The HMAC covers timestamp and body; stale timestamps and repeated deliveries fail."""
    body = json.dumps(payload(alert_from_incident(make_incident()))).encode()
    now = 1_800_000_000
    verifier = Verifier(SECRET)
    assert verifier.verify(str(now), sign(SECRET, now, body), body, now)["kind"] == "incident"
    with pytest.raises(ValueError, match="replay"):
        verifier.verify(str(now + 5), sign(SECRET, now + 5, body), body, now + 5)
    with pytest.raises(ValueError, match="does not match"):
        Verifier(SECRET).verify(str(now), sign(SECRET, now, body), body + b" ", now)
    with pytest.raises(ValueError, match="outside"):
        Verifier(SECRET).verify(str(now - 301), sign(SECRET, now - 301, body), body, now)
    assert WebhookChannel(notify_config(webhook_secret=SECRET)).name == "webhook"


RFC5424 = re.compile(rb"^<(\d{1,3})>1 (\S+) (\S+) mailwarden (\d+) (incident|finding|summary)"
                     rb" - (CEF:0\|.*)$", re.S)


def test_syslog_message_is_rfc5424_with_cef():
    """PRI, version, RFC 3339 time, app, MSGID, nil SD, then a CEF:0 record."""
    cfg = notify_config(syslog_facility="local4")
    msg = SyslogChannel(cfg).message(alert_from_incident(make_incident()), now=T0)
    m = RFC5424.match(msg)
    assert m is not None and int(m.group(1)) == 20 * 8 + 2
    assert m.group(2) == b"2025-10-05T19:45:00.000Z"
    fields = m.group(6).decode().split("|")
    assert fields[:5] == ["CEF:0", "Mailwarden", "Mailwarden", fields[3], "incident"]
    assert fields[6].startswith("8") and "suser=chief@police.example.jp" in fields[7]


def test_cef_escapes_and_bounds():
    """Pipes in the header, equals signs and line breaks in values are escaped."""
    assert value_escape("a=b\\c\nd") == "a\\=b\\\\c\\nd"
    alert = alert_from_finding(make_finding(signal="a|b", address="203.0.113.9"))
    record = cef(alert, ("en",))
    assert "|a\\|b|" in record and "src=203.0.113.9" in record and "cs2=" not in record
    huge = alert_from_finding(make_finding(account="y" * 5000 + "@example.jp"))
    assert len(SyslogChannel(notify_config()).message(huge)) <= 2048


def test_ecs_document_fields():
    """ECS names: @timestamp, ecs.version, event.kind alert, categories, user, source.ip."""
    alert = alert_from_incident(make_incident(kind="suspicious_login"))
    doc = document(alert, ("ja", "en"), now=T0 + 1)
    assert doc["@timestamp"] == "2025-10-05T19:45:00Z" and doc["ecs"]["version"]
    assert doc["event"]["kind"] == "alert" and doc["event"]["type"] == ["info"]
    assert doc["event"]["category"] == ["intrusion_detection", "authentication"]
    assert doc["user"]["email"] == "chief@police.example.jp"
    assert doc["event"]["risk_score"] == 1.5 and doc["event"]["id"] == alert.id
    assert json.loads(json.dumps(doc)) == doc


# -- configuration --------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "message"), [
    ('channels = ["pager"]', "unknown channel 'pager'"),
    ('channels = ["slack"]', "notify.slack_url is needed by channel slack"),
    ('channels = ["webhook"]\nwebhook_url = "http://127.0.0.1/"\nwebhook_secret = "short"',
     "webhook_secret must have at least 16"),
    ('language = "fr"', "notify.language must be one of"),
    ('syslog_proto = "sctp"', "notify.syslog_proto"),
    ("rate_per_minute = 0", "notify.rate_per_minute must be at least 1"),
])
def test_bad_notify_settings_name_the_key(tmp_path: Path, monkeypatch, text, message):
    """A wrong [notify] setting is an error naming the key."""
    monkeypatch.delenv("MAILWARDEN_CONFIG", raising=False)
    path = tmp_path / "mw.toml"
    path.write_text("[notify]\n" + text + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(message)):
        load(path)


def test_channels_built_from_config(tmp_path: Path, monkeypatch):
    """Enabled channels are built in order; none enabled means no dispatcher."""
    monkeypatch.delenv("MAILWARDEN_CONFIG", raising=False)
    path = tmp_path / "mw.toml"
    path.write_text('[notify]\nchannels = ["ecs", "syslog", "email"]\n'
                    'smtp_to = ["soc@example.jp"]\n', encoding="utf-8")
    cfg = load(path, data_dir=tmp_path)
    assert [c.name for c in notify.channels_for(cfg)] == ["ecs", "syslog", "email"]
    assert notify.from_config(Config()) is None
