"""The outbound engine on the situations it exists for, cold and warm."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.unit.scenarios import (
    BRAZIL_IP,
    HOME_IP,
    US_IP,
    config,
    new_engine,
    office_history,
    send,
    ts,
)

from mailwarden.events import Submission

START = datetime(2025, 8, 4)  # a Monday
CONTACTS = [f"partner{i}@client{i % 7}.example.com" for i in range(30)] + [
    f"staff{i}@city.example.jp" for i in range(10)]


def burst(engine, t0, account, ip, count, rate=3.0, rcpts_each=1, prefix="victim"):
    """Messages at ``rate`` per second to new external addresses; index of first hold."""
    first = None
    for i in range(count):
        rcpts = [f"{prefix}{i}-{j}@mail{i % 50}.example.net" for j in range(rcpts_each)]
        v = send(engine, t0 + i / rate, account, rcpts, ip)
        if v.hold and first is None:
            first = i
    return first


def test_cold_start_overseas_burst_is_held_within_ten_messages():
    """A never-seen account bursting from Brazil at 3/s is held before its 10th message."""
    engine = new_engine()
    first = burst(engine, ts(START, 4, 45), "police@city.example.jp", BRAZIL_IP, 60)
    assert first is not None and first < 10


def test_quarantine_holds_every_later_message_until_release():
    """After the first hold, even a quiet message is held; release lifts it."""
    engine = new_engine()
    t0 = ts(START, 4, 45)
    burst(engine, t0, "a@city.example.jp", BRAZIL_IP, 20)
    later = send(engine, t0 + 7200, "a@city.example.jp", ["friend@example.org"], HOME_IP)
    assert later.hold and later.quarantined
    assert engine.release("a@city.example.jp")
    after = send(engine, t0 + 7300, "a@city.example.jp", ["friend@example.org"], HOME_IP)
    assert not after.hold


def test_cold_start_new_employee_is_not_held():
    """A new employee's first busy morning at home is not held."""
    engine = new_engine()
    day = START + timedelta(days=1)
    held = [send(engine, ts(day, 9, i // 2, (i % 2) * 30), "new@city.example.jp",
                 [f"colleague{i}@city.example.jp", f"vendor{i}@example.com"]).hold
            for i in range(40)]
    assert not any(held)


def test_home_burst_without_other_signs_needs_twice_the_limit():
    """At home, a cold account is held only well above the per-minute limit."""
    engine = new_engine()
    first = burst(engine, ts(START, 10), "b@city.example.jp", HOME_IP, 40, rate=1.0)
    assert first is not None and 14 <= first <= 17


def test_warm_weekly_newsletter_is_not_held():
    """A weekly newsletter of 600 mails, learned from eight weeks of logs, goes out again."""
    engine = new_engine()
    subscribers = [f"reader{i}@isp{i % 40}.example.com" for i in range(600)]
    account = "news@city.example.jp"
    for week in range(8):  # history, as `mailwarden logs import` learns it
        day = START + timedelta(weeks=week)
        for i in range(600):
            engine.learn(Submission(ts(day, 10, 0, i * 0.8), account, account,
                                    (subscribers[i],), 1, HOME_IP))
    day = START + timedelta(weeks=8)
    verdicts = [send(engine, ts(day, 10, 0, i * 0.8), account, [subscribers[i]])
                for i in range(600)]
    assert not any(v.hold for v in verdicts)


def test_cold_newsletter_is_held_without_history():
    """Without history or exemption, a 600-mail burst is held: cold start is cautious."""
    engine = new_engine()
    verdicts = [send(engine, ts(START, 10, 0, i * 0.8), "n@city.example.jp",
                     [f"reader{i}@example.com"]) for i in range(600)]
    assert any(v.hold for v in verdicts)


def test_warm_month_end_invoice_run_is_not_held():
    """A month-end run of 250 invoices, as in the previous months, goes out."""
    engine = new_engine()
    account = "billing@city.example.jp"
    customers = [f"ap{i}@customer{i}.example.com" for i in range(250)]
    office_history(engine, account, START, 4, customers[:20], per_day=3)
    for month_end in (datetime(2025, 8, 29), datetime(2025, 9, 30), datetime(2025, 10, 31)):
        office_history(engine, account, month_end - timedelta(days=25), 3, customers[:20], 3)
        verdicts = [engine.learn(Submission(ts(month_end, 15, 0, i * 12), account, account,
                                            (customers[i],), 1, HOME_IP))
                    for i in range(250)] if month_end.month < 10 else [
            send(engine, ts(month_end, 15, 0, i * 12), account, [customers[i]])
            for i in range(250)]
    assert not any(v.hold for v in verdicts if v is not None)


def test_warm_colleague_abroad_writing_to_usual_contacts_is_not_held():
    """A colleague at a conference in the US writes to the usual contacts at odd hours."""
    engine = new_engine()
    account = "tanaka@city.example.jp"
    office_history(engine, account, START, 8, CONTACTS)
    day = START + timedelta(weeks=8, days=1)
    verdicts = [send(engine, ts(day, 2, i * 5), account, [CONTACTS[i]], US_IP)
                for i in range(10)]
    assert not any(v.hold for v in verdicts)


def test_warm_account_hijacked_at_night_is_held_on_first_message():
    """A warm account used from Brazil at 04:45 to write to strangers is held at once."""
    engine = new_engine()
    account = "keisatsu@city.example.jp"
    office_history(engine, account, START, 8, CONTACTS)
    first = burst(engine, ts(START + timedelta(weeks=8, days=2), 4, 45), account, BRAZIL_IP, 5)
    assert first == 0


def test_an_attack_does_not_teach_the_baseline():
    """A slow overseas burst that gets through for a while cannot raise its own limits."""
    engine = new_engine()
    account = "slow@city.example.jp"
    first = burst(engine, ts(START, 12), account, BRAZIL_IP, 200, rate=0.12)
    assert first is not None
    state = engine.states.get(account)
    assert state.baseline.messages == 0  # nothing settled into the baseline yet


def test_exempt_accounts_are_never_held():
    """An exempted bulk sender is not held even bursting from abroad."""
    engine = new_engine(config(exempt_accounts=["bulk@city.example.jp"]))
    assert burst(engine, ts(START, 3), "bulk@city.example.jp", BRAZIL_IP, 50) is None


def test_exempt_sender_domain():
    """exempt_senders accepts @domain entries, for mail whose account is its sender
    (unauthenticated mail tracked by sender, or an account sending as itself)."""
    engine = new_engine(config(exempt_senders=["@lists.city.example.jp"]))
    news = "news@lists.city.example.jp"
    held = [send(engine, ts(START, 3, 0, i / 3), news, [f"r{i}@example.com"],
                 BRAZIL_IP, sender=news).hold for i in range(40)]
    assert not any(held)


def test_exempt_sender_is_not_borrowed_by_another_account():
    """Another account using an exempt envelope sender is judged as itself."""
    engine = new_engine(config(exempt_senders=["@lists.city.example.jp"]))
    held = [send(engine, ts(START, 3, 0, i / 3), "x@city.example.jp", [f"r{i}@example.com"],
                 BRAZIL_IP, sender="news@lists.city.example.jp").hold for i in range(40)]
    assert any(held)


def test_warn_mode_opens_incident_but_never_quarantines():
    """In warn mode a hit is reported but the account is not quarantined."""
    engine = new_engine(config(mode="warn"))
    t0 = ts(START, 4)
    first = burst(engine, t0, "w@city.example.jp", BRAZIL_IP, 20)
    assert first is not None
    assert not engine.states.get("w@city.example.jp").quarantined


def test_reasons_are_bilingual_with_evidence():
    """Each reason names its signal, carries English and Japanese sentences and evidence."""
    engine = new_engine()
    t0 = ts(START, 4)
    for i in range(12):
        v = send(engine, t0 + i / 3, "r@city.example.jp", [f"v{i}@example.net"], BRAZIL_IP)
        if v.hold:
            break
    assert v.incident is not None
    by_signal = {r.signal: r for r in v.reasons}
    assert {"rate", "foreign_country"} <= set(by_signal)
    assert "BR" in by_signal["foreign_country"].en
    assert "送信" in by_signal["foreign_country"].ja
    assert by_signal["rate"].evidence["limit"] == 8
    assert v.incident.evidence["client"]["country"] == "BR"


def test_replay_is_deterministic():
    """The same events give the same verdicts and incident ids: the engine has no clock."""
    outcomes = []
    for _ in range(2):
        engine = new_engine()
        t0 = ts(START, 4)
        vs = [send(engine, t0 + i / 3, "d@city.example.jp", [f"v{i}@example.net"], BRAZIL_IP)
              for i in range(15)]
        outcomes.append([(v.hold, v.incident.id if v.incident else None) for v in vs])
    assert outcomes[0] == outcomes[1]
