"""Review fixes of the service, store, GeoIP loading and policy server: a failed flush keeps
its batch, shutdown writes every decision, reloaded evicted states are written, releases are
ordered by the store, a damaged GeoIP file is not reloaded per address, and a policy client
that does not read its answers cannot grow the server's memory."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import time

from sqlalchemy import text
from tests.unit.scenarios import BRAZIL_IP
from tests.unit.test_store import burst, runtime

from mailwarden import service
from mailwarden.engine import geo
from mailwarden.response import notify
from mailwarden.sources.postfix_policy import PolicyServer
from mailwarden.store import migrations
from mailwarden.store.store import Batch, Store

A = "a@city.example.jp"


def flaky(store, failures):
    """Make ``store.write`` fail ``failures`` times ("database is locked"), then work."""
    real = store.write
    left = {"n": failures}

    def write(batch, now):
        if left["n"]:
            left["n"] -= 1
            raise RuntimeError("database is locked")
        return real(batch, now)

    store.write = write
    return left


# -- 2: a failed write keeps its batch -------------------------------------------------------

def test_a_failed_flush_keeps_incident_flag_decisions_and_states_for_the_next(tmp_path):
    """One failed write loses nothing: the next flush stores the incident, the flag, the held
    decisions and the state; notifications wait for the successful write."""
    rt = runtime(tmp_path)
    rt.notify = notify.Dispatcher(rt.cfg, [])
    burst(rt)
    flaky(rt.store, 1)

    async def run():
        assert not await service.flush(rt, everything=False)
        assert rt.notify.queue.empty()  # nothing stored, nothing told
        assert await service.flush(rt, everything=False)

    asyncio.run(run())
    other = Store(rt.cfg.store_url)
    assert [i["account"] for i in other.incidents()] == [A]
    assert [q["account"] for q in other.quarantined()] == [A]
    assert {d["queue_id"] for d in other.decisions()} == {"Q8", "Q9", "Q10", "Q11"}
    assert json.loads(other.load_state(A) or "{}")["quarantine"][0] is True
    assert rt.notify.queue.get_nowait().kind == "incident"
    assert other.release(A, 2e9, "admin")  # the CLI sees the quarantine


def test_a_failed_flush_inside_the_flusher_is_retried_and_the_playbook_can_run(tmp_path):
    """The flusher loop: after a failed flush, a later one writes the batch and hands the
    incident to the playbook."""
    rt = runtime(tmp_path)
    rt.cfg.store.flush_interval = 0.02
    burst(rt)
    flaky(rt.store, 1)
    responded: list[str] = []
    rt.respond = responded.extend  # type: ignore[method-assign]

    async def run():
        stop = asyncio.Event()
        task = asyncio.create_task(service._flusher(rt, None, stop))
        await asyncio.sleep(0.2)
        stop.set()
        await task

    asyncio.run(run())
    assert len(responded) == 1 and rt.store.incident(responded[0]) is not None
    assert not rt.evicted and not rt.unwritten


def test_what_is_kept_while_the_store_fails_is_bounded_but_never_incidents_or_flags(
        tmp_path, monkeypatch):
    """While the store keeps failing, held-message records and evicted states beyond the
    bounds are dropped (oldest first); incidents, flags and quarantined states never."""
    monkeypatch.setattr(service, "UNWRITTEN_RECORDS_MAX", 5)
    monkeypatch.setattr(service, "UNWRITTEN_STATES_MAX", 3)
    rt = runtime(tmp_path)
    rt.states.max_accounts = 1
    burst(rt, 30)
    for i in range(10):  # push out states; a@ (quarantined) is evicted first
        rt.states.get(f"u{i}@city.example.jp")
    flaky(rt.store, 10**6)
    for _ in range(3):
        asyncio.run(service.flush(rt, everything=True))
    kept = rt.unwritten
    per_message = sum(e[2] in service.PER_MESSAGE_EVENTS for e in kept.events)
    assert len(kept.decisions) <= 5 and len(kept.findings) <= 5 and per_message <= 5
    assert len(kept.incidents) == 1 and [f["account"] for f in kept.flags] == [A]
    assert "opened" in {e[2] for e in kept.events}
    assert len(rt.evicted) <= 3 + 1 and A in rt.evicted
    assert kept.decisions[-1]["queue_id"] == "Q29"  # the newest are kept


# -- 3: shutdown writes every decision ---------------------------------------------------------

def _request(i: int, state: str, **more: str) -> bytes:
    attrs = {"request": "smtpd_access_policy", "protocol_state": state, "instance": f"i{i}",
             "sasl_username": A, "sender": A, "recipient": f"v{i}@example.net",
             "client_address": BRAZIL_IP, **more}
    return ("".join(f"{k}={v}\n" for k, v in attrs.items()) + "\n").encode()


def test_every_hold_answered_before_exit_is_in_the_store(tmp_path, monkeypatch):
    """SIGTERM while a client keeps sending and a playbook still runs: the policy server stops
    answering first, and every HOLD it gave is stored, with the quarantine."""
    cfg = runtime(tmp_path).cfg

    async def slow_finish(self, timeout):  # a playbook step still running
        await asyncio.sleep(0.5)

    monkeypatch.setattr(service.Runtime, "finish_responses", slow_finish)
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        port = so.getsockname()[1]

    async def client(holds: list[str]) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i in range(10_000):
                for payload in (_request(i, "RCPT"), _request(i, "END-OF-MESSAGE",
                                                              recipient_count="1",
                                                              queue_id=f"Q{i}")):
                    writer.write(payload)
                    answer = (await reader.readuntil(b"\n\n")).decode()
                    if answer.startswith("action=HOLD") and "END" in payload.decode():
                        holds.append(f"Q{i}")
                if i == 20:
                    os.kill(os.getpid(), signal.SIGTERM)
                await asyncio.sleep(0.005)
        except (OSError, asyncio.IncompleteReadError):
            pass  # the server stopped: Postfix would fall back to default_action
        finally:
            writer.close()

    async def run() -> list[str]:
        ready = asyncio.Event()
        serving = asyncio.create_task(service.serve(cfg, ("127.0.0.1", port), ready=ready))
        await ready.wait()
        holds: list[str] = []
        await client(holds)
        await serving
        return holds

    holds = asyncio.run(run())
    store = Store(cfg.store_url)
    assert holds and {d["queue_id"] for d in store.decisions()} == set(holds)
    assert [q["account"] for q in store.quarantined()] == [A]


# -- 9: a state read back from evicted is written ----------------------------------------------

def test_a_state_read_back_before_the_flush_is_still_written(tmp_path):
    """A quarantined state evicted and read back before the flush is written by it."""
    rt = runtime(tmp_path)
    rt.states.max_accounts = 2
    burst(rt)
    for user in ("x@city.example.jp", "y@city.example.jp"):
        rt.states.get(user)
    assert A in rt.evicted
    rt.states.get(A)  # asked about again before the flush
    rt.store.write(rt.collect(everything=True), 1.0)
    stored = Store(rt.cfg.store_url).load_state(A)
    assert stored is not None and json.loads(stored)["quarantine"][0] is True


# -- 6: releases ordered by the store, the flag is the truth ------------------------------------

def test_a_release_after_a_flag_stamped_ahead_is_applied(tmp_path):
    """A flag written by a host whose clock is 10 minutes ahead hides no later release."""
    rt = runtime(tmp_path)
    burst(rt)
    rt.store.write(rt.collect(everything=True), 1.0)
    rt.poll_releases()
    other = Store(rt.cfg.store_url)
    now = time.time()
    other.quarantine("b@city.example.jp", "INC-b", now + 600, "playbook on host2")
    rt.poll_releases()
    assert other.release(A, now, "admin", "ok")
    rt.poll_releases()
    assert not rt.engine.quarantined(A)
    assert rt.poll_flags() == []  # applied once


def test_release_succeeds_on_a_stored_state_that_says_quarantined(tmp_path):
    """A stored state written back as quarantined after its flag was released: `release`
    succeeds, clears its quarantine and its windows, and a restart is not quarantined."""
    rt = runtime(tmp_path)
    burst(rt)
    batch = rt.collect(everything=True)
    rt.store.write(batch, 1.0)
    other = Store(rt.cfg.store_url)
    incident = other.release(A, 2.0, "admin")
    assert incident
    state = dict(batch.states)[A]  # the service writes its quarantined state back
    other.write(Batch(states=[(A, state)]), 3.0)
    fresh = runtime(tmp_path)  # a restart: the flag (released) is the truth
    fresh.apply_flags(fresh.quarantined_at_start())
    assert not fresh.engine.quarantined(A)
    other.write(Batch(states=[(A, state)]), 4.0)
    assert other.release(A, 5.0, "admin") == incident
    data = json.loads(other.load_state(A) or "{}")
    assert data["quarantine"][0] is False and data["windows"] == {}
    assert other.flag(A)["quarantined"] is False  # type: ignore[index]


def test_release_clears_the_stored_windows(tmp_path):
    """After a release, the attack's burst no longer counts in the stored state."""
    rt = runtime(tmp_path)
    burst(rt)
    rt.store.write(rt.collect(everything=True), 1.0)
    assert json.loads(rt.store.load_state(A) or "{}")["windows"]
    assert rt.store.release(A, 2.0, "admin")
    assert json.loads(rt.store.load_state(A) or "{}")["windows"] == {}


def test_migration_9_numbers_flags_on_an_older_database(tmp_path, monkeypatch):
    """A database of version 8 gets the flag sequence; its flags keep working."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:8])
    old = Store(url)
    with old.engine.begin() as conn:
        conn.execute(text("DROP INDEX IF EXISTS ix_account_flags_seq"))
        conn.execute(text("ALTER TABLE account_flags DROP COLUMN seq"))
        conn.execute(text("DROP TABLE IF EXISTS store_counters"))
        conn.execute(text("INSERT INTO account_flags (account, quarantined, since, incident_id,"
                          " updated_at, updated_by, note) VALUES ('b@x', 1, 1, 'INC', 1, '', '')"))
    monkeypatch.undo()
    store = Store(url)
    assert migrations.current_version(store.engine) == 9
    assert [f["account"] for f in store.quarantined()] == ["b@x"]
    assert store.release("b@x", 2.0, "admin") == "INC"
    assert [(f["account"], f["seq"]) for f in store.flags_after(0)] == [("b@x", 1)]


# -- 10: a damaged GeoIP file ------------------------------------------------------------------

def test_a_damaged_geoip_file_is_not_reloaded_for_each_address(monkeypatch):
    """After a failed load, lookups of new addresses do not load again; a retry runs in the
    background once RETRY_SECONDS have passed, and is not cached as unknown meanwhile."""
    import geoip2fast

    attempts: list[int] = []
    real = geoip2fast.GeoIP2Fast

    def damaged(**kwargs):
        attempts.append(1)
        if len(attempts) == 1:
            raise EOFError("Compressed file ended before the end-of-stream marker")
        return real(**kwargs)

    monkeypatch.setattr(geoip2fast, "GeoIP2Fast", damaged)
    geo._loader.reset()
    try:
        assert geo.Geo.preload() is False
        g = geo.Geo([], "JP")
        for i in range(1, 50):
            assert g.lookup(f"8.8.{i}.8").country == ""
        assert len(attempts) == 1
        monkeypatch.setattr(geo, "RETRY_SECONDS", 0.0)
        g.lookup("8.8.8.8")  # starts the retry, answers at once
        deadline = time.monotonic() + 10
        while geo._loader.database is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(attempts) == 2 and g.lookup("8.8.1.8").country == "US"
    finally:
        geo._loader.reset()


# -- 15: a policy client that never reads --------------------------------------------------------

def test_a_client_that_does_not_read_answers_is_paused_and_loses_no_answer():
    """The server stops reading from a client that does not read its answers (its write
    buffer stays bounded) and answers every request once the client reads again."""
    requests = 60_000  # 60 MB of answers: far more than the kernel's socket buffers
    request = b"request=smtpd_access_policy\nprotocol_state=RCPT\n\n"

    async def run() -> tuple[int, int]:
        server = PolicyServer(lambda attrs: "HOLD Mailwarden: " + "x" * 1000)
        host, port = await server.start("127.0.0.1", 0)
        reader, writer = await asyncio.open_connection(host, port, limit=2**20)
        writer.transport.pause_reading()
        for _ in range(requests // 1000):
            writer.write(request * 1000)
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        conn = next(iter(server.connections))
        buffered = conn.transport.get_write_buffer_size()
        writer.transport.resume_reading()
        answers = 0
        while answers < requests:
            await asyncio.wait_for(reader.readuntil(b"\n\n"), 10)
            answers += 1
        writer.close()
        await server.stop()
        return buffered, answers

    buffered, answers = asyncio.run(run())
    assert buffered < 1_000_000 and answers == requests


def test_one_record_the_store_cannot_hold_does_not_block_every_later_write(tmp_path, caplog):
    """A record the store refuses on its own (as PostgreSQL refuses a value longer than its
    column) fails every flush it is in; after SPLIT_AFTER failures in a row the batch is written
    one record at a time: the incident, the quarantine flag and the held decisions land (and the
    playbook gets the incident), the refused record is dropped and named in the log."""
    rt = runtime(tmp_path)
    real = rt.store.write

    def refuses_the_poison(batch, now):
        if any(f.get("account") == "poison" for f in batch.findings):
            raise RuntimeError("value too long for type character varying(320)")
        return real(batch, now)

    rt.store.write = refuses_the_poison
    rt.logins.batch.findings.append({"account": "poison", "signal": "brute_force_account"})
    responded: list[str] = []
    rt.respond = responded.extend  # type: ignore[method-assign]

    async def run():
        results = [await service.flush(rt, everything=False)]
        burst(rt)  # the takeover: an incident and a quarantine while the poison is kept
        for _ in range(3):
            results.append(await service.flush(rt, everything=False))
        return results

    assert service.SPLIT_AFTER == 3
    assert asyncio.run(run()) == [False, False, True, True]
    other = Store(rt.cfg.store_url)
    assert [i["account"] for i in other.incidents()] == [A]
    assert [q["account"] for q in other.quarantined()] == [A]
    assert {d["queue_id"] for d in other.decisions()} == {"Q8", "Q9", "Q10", "Q11"}
    assert responded == [i["id"] for i in other.incidents()]
    assert rt.unwritten.findings == [] and rt.write_failures == 0
    assert any("refused 1 findings" in r.getMessage() for r in caplog.records)


def test_a_store_that_is_down_is_not_split_into_dropped_records(tmp_path):
    """When the store refuses every record (it is down), nothing is dropped: all is kept."""
    rt = runtime(tmp_path)
    burst(rt)
    flaky(rt.store, 10_000)

    async def run():
        for _ in range(service.SPLIT_AFTER + 2):
            assert not await service.flush(rt, everything=False)

    asyncio.run(run())
    assert [i.account for i in rt.unwritten.incidents] == [A]
    assert [f["account"] for f in rt.unwritten.flags] == [A]
    assert {d["queue_id"] for d in rt.unwritten.decisions} == {"Q8", "Q9", "Q10", "Q11"}
