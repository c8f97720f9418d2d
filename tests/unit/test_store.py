"""The store: migrations, write-behind batches, release across processes, bounded state."""

from __future__ import annotations

import json

from tests.unit.scenarios import BRAZIL_IP, config

from mailwarden.engine.state import AccountState, MemoryStates
from mailwarden.events import Submission
from mailwarden.service import Runtime
from mailwarden.store.migrations import MIGRATIONS, current_version, upgrade
from mailwarden.store.store import Store


def test_migrations_apply_once(tmp_path):
    """A new database gets every migration; a second upgrade applies nothing."""
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    assert current_version(store.engine) == MIGRATIONS[-1][0]
    assert upgrade(store.engine) == []


def runtime(tmp_path, **outbound):
    cfg = config(**outbound)
    cfg.data_dir = tmp_path
    return Runtime(cfg)


def burst(rt, n=12):
    for i in range(n):
        attrs = {"request": "smtpd_access_policy", "protocol_state": "RCPT",
                 "instance": f"i{i}", "sasl_username": "a@city.example.jp",
                 "sender": "a@city.example.jp", "recipient": f"v{i}@example.net",
                 "client_address": BRAZIL_IP}
        rt.guard(attrs)
        rt.guard({**attrs, "protocol_state": "END-OF-MESSAGE", "recipient_count": "1",
                  "queue_id": f"Q{i}"})


def test_incident_flag_and_decisions_reach_the_store(tmp_path):
    """After a flush, the incident, its timeline, the flag and held queue ids are stored."""
    rt = runtime(tmp_path)
    burst(rt)
    rt.store.write(rt.collect(everything=True), 0.0)
    incidents = rt.store.incidents()
    assert len(incidents) == 1 and incidents[0]["account"] == "a@city.example.jp"
    shown = rt.store.incident(incidents[0]["id"])
    assert shown is not None
    assert [e["kind"] for e in shown["timeline"]][:2] == ["opened", "hold"]
    assert {d["queue_id"] for d in shown["decisions"]} >= {"Q8", "Q11"}
    assert [q["account"] for q in rt.store.quarantined()] == ["a@city.example.jp"]


def test_release_from_another_process_reaches_the_running_engine(tmp_path):
    """`accounts release` writes the store; the running service applies it when it polls."""
    rt = runtime(tmp_path)
    rt.last_flag = 0.0
    burst(rt)
    rt.store.write(rt.collect(everything=True), 1.0)
    rt.poll_releases()
    assert rt.engine.states.get("a@city.example.jp").quarantined
    other = Store(rt.cfg.store_url)  # the CLI's own connection
    assert other.release("a@city.example.jp", 2e9, "admin", "checked with the user")
    rt.poll_releases()
    assert not rt.engine.states.get("a@city.example.jp").quarantined
    shown = rt.store.incident(rt.store.incidents()[0]["id"])
    assert shown is not None and shown["timeline"][-1]["kind"] == "released"
    assert other.release("a@city.example.jp", 2e9, "admin") is None


def test_lru_evicts_to_store_and_reloads_the_same_state():
    """Over the limit, the least recent account is saved and comes back intact."""
    saved: dict[str, str] = {}
    states = MemoryStates(2, load=saved.get, save=saved.__setitem__)
    a = states.get("a")
    a.quarantined = True
    a.windows.add(100.0, 3, 2, frozenset({"example.net"}))
    states.get("b")
    states.get("c")
    assert len(states) == 2 and "a" in saved
    back = states.get("a")
    assert back.quarantined
    assert back.windows.totals(110.0)["minute"].recipients == 3


def test_damaged_state_starts_afresh():
    """A corrupt stored state never breaks a decision."""
    assert AccountState.from_json("x", "{not json").account == "x"
    assert AccountState.from_json("x", json.dumps({"pending": [[1]]})).pending == []


def test_state_round_trip_keeps_baseline():
    """Serialising and loading a state keeps what was learned."""
    from mailwarden.engine.engine import Engine

    cfg = config()
    states = MemoryStates()
    engine = Engine(cfg, states, settle=0)
    for i in range(5):
        engine.learn(Submission(1e9 + i, "a@city.example.jp", "a@city.example.jp",
                                (f"p{i}@example.com",), 1, "133.242.10.20"))
    engine.settle_all(1e9 + 7200)
    state = states.get("a@city.example.jp")
    back = AccountState.from_json("a@city.example.jp", state.to_json())
    assert back.baseline.to_dict() == state.baseline.to_dict()
    assert back.baseline.countries.keys() == {"JP"}


def test_first_sightings_skip_the_store_until_another_process_inserts(tmp_path, monkeypatch):
    """On a store without account states, unknown accounts are not looked up; a state that
    another process inserts afterwards is found (within the re-check interval)."""
    import mailwarden.service as service

    rt = runtime(tmp_path)
    asked: list[str] = []
    real = rt.store.load_state
    monkeypatch.setattr(rt.store, "load_state", lambda a: asked.append(a) or real(a))
    burst(rt, 2)
    rt.states.get("new@city.example.jp")
    assert asked == []
    batch = rt.collect(everything=True)
    rt.store.write(batch, 1.0)  # our own states do not count as another process's
    rt.written(batch)
    monkeypatch.setattr(service, "ABSENT_RECHECK", 0.0)
    rt.states.get("new2@city.example.jp")
    assert asked == []
    imported = AccountState("b@city.example.jp")
    imported.quarantined = True
    other = Store(rt.cfg.store_url)  # e.g. `logs import` running beside the service
    other.write(service.Batch(states=[(imported.account, imported.to_json())]), 2.0)
    assert rt.states.get("b@city.example.jp").quarantined
    assert asked == ["b@city.example.jp"]


def test_first_sightings_are_looked_up_once_a_state_left_memory(tmp_path):
    """After an eviction, an account not in memory may be in the store: it is looked up."""
    cfg = config()
    cfg.data_dir = tmp_path
    cfg.store.max_accounts_in_memory = 1
    rt = Runtime(cfg)
    rt.states.get("a@city.example.jp").quarantined = True
    rt.states.get("b@city.example.jp")  # evicts a
    batch = rt.collect(everything=True)
    rt.store.write(batch, 1.0)
    rt.written(batch)
    assert not rt.evicted and rt.states.get("a@city.example.jp").quarantined


def test_a_late_committed_release_is_still_applied(tmp_path):
    """A release whose updated_at is older than a flag already polled (its writer waited for
    the database lock) is applied on a later poll, once; a quarantine recorded while the
    service was down is applied at start."""
    rt = runtime(tmp_path)
    rt.last_flag = 0.0
    burst(rt)
    rt.store.write(rt.collect(everything=True), 1.0)
    rt.poll_releases()
    assert rt.engine.quarantined("a@city.example.jp")
    other = Store(rt.cfg.store_url)
    t0 = rt.last_flag
    other.quarantine("b@city.example.jp", "INC-b", t0 + 10, "admin")
    rt.poll_releases()  # last_flag is now t0 + 10
    assert other.release("a@city.example.jp", t0 + 5, "admin", "late commit")  # older stamp
    changes = rt.poll_flags()
    assert [(account, quarantined) for account, _, _, quarantined in changes] == [
        ("a@city.example.jp", False)]
    rt.apply_flags(changes)
    assert not rt.engine.quarantined("a@city.example.jp")
    assert rt.poll_flags() == []  # applied once

    fresh = runtime(tmp_path)  # a restart: the state of b was never written by an engine
    assert not fresh.engine.quarantined("b@city.example.jp")
    fresh.apply_flags(fresh.quarantined_at_start())
    assert fresh.engine.quarantined("b@city.example.jp")
