"""The engine's fast path (headroom) decides exactly as the full check does."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.scenarios import BRAZIL_IP, HOME_IP, US_IP, config, ts

from mailwarden.engine.engine import Engine, Verdict
from mailwarden.engine.logins.profile import LoginProfile
from mailwarden.engine.state import MemoryStates
from mailwarden.events import Delivery, Submission

START = ts(datetime(2025, 8, 4), 9)
ACCOUNTS = ("a@city.example.jp", "b@city.example.jp")
CLIENTS = (HOME_IP, HOME_IP, HOME_IP, "133.242.20.7", US_IP, BRAZIL_IP)
SENDERS = ("", "alias@city.example.jp")  # "" stands for the account itself
RECIPIENTS = tuple(
    [f"p{i}@partner{i % 3}.example.com" for i in range(6)]
    + [f"s{i}@city.example.jp" for i in range(3)]
    + [f"x{i}@other{i}.example.net" for i in range(8)]
    + ["Mixed.Case@Partner1.Example.com"]
)
# seconds between operations: mostly close together, sometimes across hours and days
GAPS = st.one_of(st.floats(0, 3), st.floats(0, 3), st.floats(0, 3), st.floats(0, 90),
                 st.floats(0, 5000), st.sampled_from([3600.0, 26 * 3600.0, 3 * 86400.0]))
USUAL = st.sampled_from([0] * 16 + [1, 2, 3, 4, 5])  # mostly the usual client address
RCPT = st.sampled_from([0, 1, 2, 3, 4, 5] * 3 + list(range(6, len(RECIPIENTS))))

send = st.tuples(st.just("send"), st.sampled_from([0, 0, 0, 1]), GAPS, USUAL,
                 st.sampled_from([0, 0, 0, 0, 1]), st.lists(RCPT, min_size=1, max_size=6),
                 st.booleans())
learn = st.tuples(st.just("learn"), st.integers(0, 1), GAPS, st.integers(0, 2), st.integers(0, 1),
                  st.lists(st.integers(0, 5), min_size=1, max_size=3), st.booleans())
other = st.tuples(st.sampled_from(["bounce", "release", "login", "back"]), st.integers(0, 1),
                  GAPS, st.integers(0, 3), st.integers(0, 1), st.just([0]), st.booleans())
operations = st.lists(st.one_of(send, send, send, send, send, learn, other), min_size=30,
                      max_size=150)


def history(engine: Engine, account: str, days: int) -> None:
    """``days`` office days before START: a few messages a day to the usual partners."""
    for day in range(days, 0, -1):
        for i in range(4):
            t = START - day * 86400 + i * 1500
            engine.learn(Submission(t, account, account, (RECIPIENTS[i % 6],), 1, HOME_IP))


def engines() -> tuple[Engine, Engine]:
    """Two engines alike but for the fast path; small limits so that bounds are reached."""
    cfg = config()
    cfg.limits.messages_per_minute = 3
    cfg.limits.messages_per_10_minutes = 8
    cfg.limits.external_recipients_per_minute = 6
    cfg.limits.recipient_domains_per_10_minutes = 5
    cfg.limits.recipients_per_message = 4
    cfg.baseline.warm_messages = 6
    cfg.baseline.warm_days = 1
    cfg.login.bounce_threshold = 3
    fast, full = (Engine(cfg, MemoryStates(), settle=1800.0) for _ in range(2))
    full.quiets = None
    assert fast.quiets is not None
    return fast, full


def seen(v: Verdict) -> tuple[object, ...]:
    return (v.hold, round(v.score, 9), [r.signal for r in v.reasons], v.quarantined,
            v.incident.id if v.incident else None)


def play(engine: Engine, ops: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """Run the operations as the guard would (a check per RCPT, one commit per message)."""
    out: list[tuple[object, ...]] = []
    t = START
    for n, (kind, who, gap, client, sender_no, rcpts, whole) in enumerate(ops):
        t += float(gap)  # type: ignore[arg-type]
        account = ACCOUNTS[int(who)]  # type: ignore[call-overload]
        sender = SENDERS[int(sender_no)] or account  # type: ignore[call-overload]
        ip = CLIENTS[int(client)]  # type: ignore[call-overload]
        to = [RECIPIENTS[i] for i in rcpts]  # type: ignore[attr-defined]
        if kind == "learn":
            engine.learn(Submission(t, account, sender, tuple(to), len(to), ip))
        elif kind == "send":
            verdict = None
            for i in range(1, len(to) + 1):  # RCPT by RCPT, recipients so far
                if verdict is None or not verdict.hold:
                    verdict = engine.check(Submission(t, account, sender, tuple(to[:i]), 0, ip))
                out.append(seen(verdict))
            assert verdict is not None
            count = len(to) + 2 if whole else len(to)  # recipient_count beyond those seen
            engine.commit(Submission(t, account, sender, tuple(to), count, ip, f"Q{n}"),
                          verdict.hold)
        elif kind == "bounce":
            for qid in [q for q, a in engine.queue_ids.items() if a == account][-2:]:
                engine.bounce(Delivery(t, qid, "x@example.net", "bounced", dsn="5.1.1"))
        elif kind == "release":
            engine.release(account)
        elif kind == "login":
            state = engine.states.get(account)
            state.logins = state.logins or LoginProfile()
            state.logins.risk_until = t + 600 * int(client)
        elif kind == "back":  # a clock that steps back a little (replay of unordered logs)
            t -= 30.0
    return out


@settings(max_examples=200, deadline=None)
@given(operations, st.integers(0, 3), st.integers(0, 3))
def test_fast_path_decides_like_the_full_check(ops, days_a, days_b):
    """On random sequences (bursts, new clients and senders, unknown recipients, learning,
    bounces, login risk, releases, hours passing), cold and warm, every verdict is the full
    check's."""
    fast, full = engines()
    for engine in (fast, full):
        history(engine, ACCOUNTS[0], days_a)
        history(engine, ACCOUNTS[1], days_b)
    assert play(fast, ops) == play(full, ops)


def test_fast_path_is_taken_for_an_ordinary_account():
    """An account writing to its usual recipients from its usual address skips the full
    check after the first message of the hour, and still reaches the same verdicts."""
    fast, full = engines()
    calls = {"full": 0}
    context = fast._context

    def counting(sub, state):  # type: ignore[no-untyped-def]
        calls["full"] += 1
        return context(sub, state)

    fast._context = counting  # type: ignore[method-assign]
    ops = [("send", 0, 5.0, 0, 0, [i % 3], False) for i in range(40)]
    assert play(fast, ops) == play(full, ops)
    assert any(v[0] for v in play(fast, [("send", 0, 0.5, 0, 0, [1], False)] * 12))
    assert 1 <= calls["full"] <= 12
