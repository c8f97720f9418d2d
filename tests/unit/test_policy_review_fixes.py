"""The outbound guard's review findings: parallel sessions, exemptions, releases, clock steps,
half-hour zones, learning cost and the memory of unfinished messages."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from tests.unit.scenarios import BRAZIL_IP, HOME_IP, config
from tests.unit.test_guard import make, message, req

from mailwarden.engine.baseline import Baseline, Pending
from mailwarden.engine.engine import Engine
from mailwarden.engine.logins.profile import LoginProfile
from mailwarden.engine.state import AccountState, MemoryStates
from mailwarden.engine.windows import Window
from mailwarden.events import Submission

ACCOUNT = "a@city.example.jp"


def _parallel(ip: str, n: int) -> tuple[list[str], list[str]]:
    """``n`` sessions that all pass RCPT before any reaches END-OF-MESSAGE."""
    guard, _clock = make()
    guard(req("END-OF-MESSAGE", "warm-up", ip=HOME_IP, user="other@city.example.jp", count=1))
    rcpt = [guard(req("RCPT", f"p{i}", f"v{i}@example.net", ip=ip)) for i in range(n)]
    eom = [guard(req("END-OF-MESSAGE", f"p{i}", f"v{i}@example.net", ip=ip, count=1,
                     queue_id=f"Q{i}")) for i in range(n)]
    return rcpt, eom


def test_parallel_sessions_are_held_at_end_of_message():
    """50 sessions from Brazil passing RCPT side by side: those past the limit get HOLD at
    END-OF-MESSAGE (the 9th on, as for sequential messages)."""
    rcpt, eom = _parallel(BRAZIL_IP, 50)
    assert all(a == "DUNNO" for a in rcpt)
    delivered = sum(1 for a in eom if not a.startswith("HOLD"))
    assert delivered == 8
    assert all(a.startswith("HOLD") for a in eom[8:])


def test_parallel_sessions_from_home_are_bounded():
    """100 parallel sessions of a cold account from home: not all of them are delivered."""
    _rcpt, eom = _parallel(HOME_IP, 100)
    assert sum(1 for a in eom if not a.startswith("HOLD")) < 20


def _on(attrs: dict[str, str], port: str) -> dict[str, str]:
    return {**attrs, "server_address": "192.0.2.1", "server_port": port}


def test_end_of_message_is_tracked_per_service():
    """A service that sends END-OF-MESSAGE does not stop counting on another that does not."""
    logging.disable(logging.CRITICAL)
    try:
        guard, clock = make()
        guard(_on(req("RCPT", "s0", ip=HOME_IP, user="b@city.example.jp"), "587"))
        guard(_on(req("END-OF-MESSAGE", "s0", ip=HOME_IP, user="b@city.example.jp", count=1),
                  "587"))
        answers = []
        for i in range(20):  # port 465 has no smtpd_end_of_data_restrictions
            answers.append(guard(_on(req("RCPT", f"r{i}", f"v{i}@example.net"), "465")))
            clock.t += 0.3
    finally:
        logging.disable(logging.NOTSET)
    assert any(a.startswith("HOLD") for a in answers)
    state = guard.engine.states.get(ACCOUNT)
    assert state.windows.totals(clock.t)["minute"].messages >= 8


def test_exempt_sender_does_not_lift_quarantine():
    """A stolen login using an exempt envelope sender is still held once quarantined."""
    guard, clock = make(exempt_senders=["noreply@city.example.jp"])
    for i in range(12):
        message(guard, clock, i)
    assert guard.engine.quarantined(ACCOUNT)
    r = req("RCPT", "x1", "v@example.net")
    r["sender"] = "noreply@city.example.jp"
    assert guard(r).startswith("HOLD")


def test_exempt_sender_applies_only_to_the_account_itself():
    """An authenticated account cannot borrow another address's exemption; the address
    itself (and unauthenticated mail tracked by its sender) stays exempt."""
    cfg = config(exempt_senders=["noreply@city.example.jp"])
    engine = Engine(cfg, MemoryStates())
    borrowed = Submission(0.0, ACCOUNT, "noreply@city.example.jp", ("v@example.net",), 1)
    itself = Submission(0.0, "noreply@city.example.jp", "noreply@city.example.jp",
                        ("v@example.net",), 1)
    assert not engine.exempt(borrowed)
    assert engine.exempt(itself)


def _burst_then_release(in_memory: bool) -> tuple[Engine, float]:
    cfg = config()
    saved: dict[str, str] = {}
    states = MemoryStates(load=saved.get, save=saved.__setitem__)
    engine = Engine(cfg, states)
    t = 1_760_000_000.0
    for i in range(60):
        sub = Submission(t + i, ACCOUNT, ACCOUNT, (f"v{i}@example.net",), 1, BRAZIL_IP)
        engine.commit(sub, engine.check(sub).hold)
    state = states.get(ACCOUNT)
    state.logins = LoginProfile()
    state.logins.risk_until = t + 86400
    state.logins.risk_reasons = ["new_country"]
    assert state.quarantined
    if not in_memory:  # the store already lifted the quarantine; memory lost the state
        state.quarantined = False
        saved[ACCOUNT] = state.to_json()
        states._states.clear()
    engine.release(ACCOUNT)
    return engine, t + 120


def test_release_resets_windows_and_login_risk_in_memory():
    """After a release the owner's next message from home passes (state in memory)."""
    engine, t = _burst_then_release(in_memory=True)
    v = engine.check(Submission(t, ACCOUNT, ACCOUNT, ("colleague@partner.example.com",), 1,
                                HOME_IP))
    assert not v.hold, [r.signal for r in v.reasons]
    state = engine.states.get(ACCOUNT)
    assert state.logins is not None and state.logins.risk_until == 0.0


def test_release_resets_windows_and_login_risk_of_a_loaded_state():
    """The same when the released state came back from the store."""
    engine, t = _burst_then_release(in_memory=False)
    state = engine.states.get(ACCOUNT)
    assert state.windows.totals(t)["hour"].messages == 0
    assert state.logins is not None and state.logins.risk_until == 0.0
    v = engine.check(Submission(t, ACCOUNT, ACCOUNT, ("colleague@partner.example.com",), 1,
                                HOME_IP))
    assert not v.hold, [r.signal for r in v.reasons]


def test_clock_stepped_back_keeps_counting():
    """With the wall clock stepped back two hours, the burst is held as without the step."""
    for step in (0.0, 2 * 3600.0, 30 * 3600.0):
        guard, clock = make()
        for i in range(3):
            message(guard, clock, i, ip=HOME_IP)
        clock.t -= step
        n = 0
        while n < 200 and not message(guard, clock, 100 + n, ip=HOME_IP)[0].startswith("HOLD"):
            n += 1
        assert n < 20, (step, n)


def test_window_counts_events_older_than_its_span():
    """An event far older than the newest bucket still counts in the window."""
    w = Window(60, 12)
    w.add(10_000.0, 1, 1, frozenset({"a.example"}))
    w.add(2_000.0, 1, 1, frozenset({"b.example"}))
    assert w.totals(2_000.0).messages == 2
    assert w.totals(2_000.0).domains == 2
    assert w.totals(2_200.0).messages == 0  # and they leave the window as time goes on


def test_local_hour_in_half_hour_zones():
    """Asia/Kolkata: 17:40 and 18:10 local time are different hours, in either order."""
    cfg = config()
    cfg.organization.timezone = "Asia/Kolkata"
    t1 = datetime(2025, 10, 6, 12, 10, tzinfo=UTC).timestamp()  # 17:40 IST
    t2 = datetime(2025, 10, 6, 12, 40, tzinfo=UTC).timestamp()  # 18:10 IST
    for first in (t1, t2):
        engine = Engine(cfg, MemoryStates())
        engine.hours(first)
        assert engine.hours(t1)[1] == 17 and engine.hours(t2)[1] == 18
        assert engine.local_hour(t1) != engine.local_hour(t2)


def test_fast_path_does_not_cross_a_local_hour():
    """The headroom measured at 17:40 IST is not used at 18:10 IST (same UTC hour)."""
    cfg = config()
    cfg.organization.timezone = "Asia/Kolkata"
    engine = Engine(cfg, MemoryStates())
    t1 = datetime(2025, 10, 6, 12, 10, tzinfo=UTC).timestamp()
    t2 = datetime(2025, 10, 6, 12, 40, tzinfo=UTC).timestamp()
    sub = Submission(t1, ACCOUNT, ACCOUNT, ("c@city.example.jp",), 1, HOME_IP)
    engine.commit(sub, engine.check(sub).hold)
    state = engine.states.get(ACCOUNT)
    assert state.headroom is not None
    assert not engine._fits(state.headroom, state,
                            Submission(t2, ACCOUNT, ACCOUNT, ("c@city.example.jp",), 1, HOME_IP))


def test_learning_into_a_full_correspondents_map_is_fast_and_keeps_the_newest():
    """Learning 500 new correspondents into a full map trims once: fast, newest kept."""
    b = Baseline()
    b.correspondents = {f"old{i}@x.example": float(i) for i in range(2000)}
    p = Pending(1000, 3.6e6, 0, 0)
    p.recipients = {f"new{i}@y.example": 3.6e6 + i for i in range(500)}
    t0 = time.perf_counter()
    b.learn(p, half_life=1e6, cap=50, max_correspondents=2000)
    assert time.perf_counter() - t0 < 0.02
    assert len(b.correspondents) == 2000
    assert all(f"new{i}@y.example" in b.correspondents for i in range(500))
    assert "old499@x.example" not in b.correspondents
    assert "old500@x.example" in b.correspondents


def test_unfinished_messages_keep_bounded_recipients():
    """A 1,000-recipient message keeps a bounded sample of its recipients, and none after
    it is held."""
    guard, _clock = make()
    for j in range(1000):
        guard(req("RCPT", "big", f"r{j}@d{j % 3}.example.com", ip=HOME_IP))
    msg = guard.messages["big"]
    assert msg.verdict is not None and msg.verdict.hold
    assert len(msg.recipients) <= 300
    assert msg.size == 1000


def test_held_message_stops_storing_recipients():
    """Once held, a message stores no more recipients."""
    guard, _clock = make()
    for i in range(12):  # quarantine the account
        message(guard, _clock, i)
    for j in range(100):
        guard(req("RCPT", "later", f"r{j}@example.com"))
    assert len(guard.messages["later"].recipients) <= 1


def test_state_round_trip_after_window_rebase():
    """A window moved by a clock step serialises and loads with the same totals."""
    state = AccountState(ACCOUNT)
    state.windows.add(100_000.0, 2, 1, frozenset({"a.example"}))
    state.windows.add(90_000.0, 1, 1, frozenset({"b.example"}))
    back = AccountState.from_json(ACCOUNT, state.to_json())
    assert back.windows.totals(90_010.0) == state.windows.totals(90_010.0)
