"""The outbound guard: policy requests of a message tied by instance, actions per mode."""

from __future__ import annotations

from tests.unit.scenarios import BRAZIL_IP, HOME_IP, config

from mailwarden.engine.engine import Engine
from mailwarden.engine.state import MemoryStates
from mailwarden.guard import MAX_INSTANCES, OutboundGuard


class Clock:
    def __init__(self, t: float = 1_760_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def make(mode: str = "hold", **kw):
    cfg = config(mode=mode, **kw)
    clock = Clock()
    return OutboundGuard(cfg, Engine(cfg, MemoryStates()), clock), clock


def req(state, instance, rcpt="v@example.net", user="a@city.example.jp", ip=BRAZIL_IP,
        count=0, queue_id=""):
    return {"request": "smtpd_access_policy", "protocol_state": state, "instance": instance,
            "sasl_username": user, "sender": user, "recipient": rcpt, "client_address": ip,
            "recipient_count": str(count), "queue_id": queue_id}


def message(guard, clock, i, rcpts=1, **kw):
    answers = [guard(req("RCPT", f"inst{i}", f"v{i}-{j}@example.net", **kw))
               for j in range(rcpts)]
    answers.append(guard(req("END-OF-MESSAGE", f"inst{i}", count=rcpts,
                             queue_id=f"Q{i}", **kw)))
    clock.t += 0.33
    return answers


def test_burst_is_held_and_every_later_message_too():
    """The overseas burst gets HOLD from the 9th message on, at RCPT and END-OF-MESSAGE."""
    guard, clock = make()
    results = [message(guard, clock, i) for i in range(20)]
    first = next(i for i, a in enumerate(results) if a[0].startswith("HOLD"))
    assert first == 8
    assert all(a[0].startswith("HOLD") and a[1].startswith("HOLD") for a in results[first:])
    assert all(a == ["DUNNO", "DUNNO"] for a in results[:first])


def test_held_messages_are_recorded_with_queue_ids():
    """Every held message is written as a decision with its queue id and incident."""
    guard, clock = make()
    for i in range(12):
        message(guard, clock, i)
    batch = guard.take_batch()
    assert [d["queue_id"] for d in batch.decisions] == [f"Q{i}" for i in range(8, 12)]
    assert len(batch.incidents) == 1
    assert {d["incident_id"] for d in batch.decisions} == {batch.incidents[0].id}
    assert batch.flags[0]["quarantined"] is True


def test_unauthenticated_mail_is_not_judged():
    """Inbound mail without SASL login is left alone (DUNNO, nothing tracked)."""
    guard, clock = make()
    answers = [a for i in range(30) for a in message(guard, clock, i, user="")]
    assert set(answers) == {"DUNNO"}
    assert not guard.messages


def test_unauthenticated_internal_sender_tracked_when_configured():
    """With track_unauthenticated, an internal envelope sender is the account."""
    guard, clock = make(track_unauthenticated=True)
    results = []
    for i in range(20):
        r = req("RCPT", f"i{i}", user="")
        r["sender"] = "webapp@city.example.jp"
        results.append(guard(r))
        e = req("END-OF-MESSAGE", f"i{i}", user="", count=1)
        e["sender"] = "webapp@city.example.jp"
        guard(e)
        clock.t += 0.3
    assert any(a.startswith("HOLD") for a in results)


def test_one_message_to_many_recipients_held_at_the_rcpt_that_crosses():
    """Recipients of one message add up across RCPT requests of the same instance."""
    guard, clock = make()
    answers = message(guard, clock, 0, rcpts=250, ip=HOME_IP)
    assert answers[0] == "DUNNO"
    assert any(a.startswith("HOLD") for a in answers)


def test_warn_mode_answers_warn_and_never_quarantines():
    """warn mode reports with WARN (mail flows) and records the incident."""
    guard, clock = make("warn")
    results = [message(guard, clock, i) for i in range(20)]
    assert not any(a.startswith("HOLD") for r in results for a in r)
    assert any(a.startswith("WARN") for r in results for a in r)
    batch = guard.take_batch()
    assert batch.incidents and not batch.flags


def test_defer_mode_answers_temporary_error():
    """defer mode answers DEFER so the client keeps the mail and retries later."""
    guard, clock = make("defer")
    results = [message(guard, clock, i) for i in range(20)]
    assert any(a[0].startswith("DEFER 4.7.1") for a in results)


def test_other_protocol_states_are_dunno():
    """CONNECT, HELO, MAIL and DATA requests are answered DUNNO."""
    guard, _ = make()
    for state in ("CONNECT", "EHLO", "MAIL", "DATA", "VRFY", ""):
        assert guard(req(state, "x")) == "DUNNO"
    assert guard({"request": "something_else"}) == "DUNNO"


def test_instances_are_bounded_and_expire():
    """Messages that never reach END-OF-MESSAGE do not pile up."""
    guard, clock = make()
    for i in range(MAX_INSTANCES + 50):
        guard(req("RCPT", f"open{i}", ip=HOME_IP, user=f"u{i % 100}@city.example.jp"))
    assert len(guard.messages) == MAX_INSTANCES
    guard.expire(clock.t + 7200)
    assert not guard.messages


def test_recipient_count_at_end_of_message_is_counted():
    """A message seen only at END-OF-MESSAGE counts with Postfix's recipient_count."""
    guard, clock = make()
    guard(req("END-OF-MESSAGE", "only-eom", ip=HOME_IP, count=40))
    state = guard.engine.states.get("a@city.example.jp")
    assert state.windows.totals(clock.t)["minute"].recipients == 40


def test_without_end_of_message_requests_messages_are_counted_at_rcpt():
    """A Postfix without smtpd_end_of_data_restrictions still gets bursts held."""
    guard, clock = make()
    answers = []
    for i in range(20):
        answers.append(guard(req("RCPT", f"r{i}", f"v{i}@example.net")))
        clock.t += 0.3
    assert any(a.startswith("HOLD") for a in answers)


def test_end_of_message_after_rcpt_counting_does_not_count_twice():
    """Once END-OF-MESSAGE requests arrive, a message counted at RCPT is not counted again."""
    guard, clock = make()
    message(guard, clock, 0, ip=HOME_IP)
    message(guard, clock, 1, ip=HOME_IP)
    state = guard.engine.states.get("a@city.example.jp")
    assert state.windows.totals(clock.t)["minute"].messages == 2
