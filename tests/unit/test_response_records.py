"""The response's records and files under stress: an undo of 20,000 held messages is stored
whole and carried out whole, a damaged undo is a clear error, a store failure while recording
does not stop the next operation, two undos of one action cannot both run, map and deny files
keep lines they do not understand and keep their owner, group and mode, and playbooks the
service had no time to start are recorded as skipped.

The Postfix and Dovecot tools are the recording program of test_response_safety.py."""

from __future__ import annotations

import asyncio
import grp
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from tests.unit.test_response_safety import FAKE_HASH, calls, dovecot, postfix, set_queue
from tests.unit.test_response_safety import tools as tools  # the fixture
from tests.unit.test_store import burst, runtime

from mailwarden.engine.incident import Incident
from mailwarden.response.executor import LocalExecutor, ToolPaths
from mailwarden.response.runner import ResponseError, ResponseRunner
from mailwarden.service import Runtime
from mailwarden.store import schema
from mailwarden.store.store import Batch

ACCOUNT = "a@city.example.jp"
MANY = 20_000


@pytest.fixture
def held(tmp_path: Path) -> tuple[Runtime, str]:
    """A runtime whose engine held a burst from Brazil: one high incident in the store."""
    rt = runtime(tmp_path)
    rt.last_flag = 0.0
    burst(rt)
    rt.store.write(rt.collect(everything=True), 1.0)
    return rt, str(rt.store.incidents()[0]["id"])


def queue_ids(count: int) -> list[str]:
    """count distinct synthetic Postfix queue ids."""
    return [f"4Z{number:010X}" for number in range(count)]


def runner_on(rt: Runtime, tools: ToolPaths, tmp_path: Path) -> ResponseRunner:
    """A runner whose Postfix and doveadm are the recording program."""
    r = rt.cfg.response
    r.dovecot, r.deny_file = True, str(tmp_path / "deny")
    r.sasl_access_map = str(tmp_path / "sasl_access")
    local = LocalExecutor(paths=tools, postfix_config_dir=tmp_path / "etc",
                          dovecot_config=tmp_path / "dovecot.conf")
    return ResponseRunner(rt.cfg, rt.store, executors=(local, local), clock=lambda: 100.0)


# -- 1. large results and undos are stored whole ---------------------------------------------

def test_an_undo_of_twenty_thousand_held_messages_is_kept_and_carried_out_whole(
    held: tuple[Runtime, str], tmp_path: Path, tools: ToolPaths
) -> None:
    """A hold of 20,000 messages records every id in its result and its undo; the undo reads
    them back and releases exactly those (postsuper -H gets all 20,000 on stdin)."""
    rt, incident = held
    runner = runner_on(rt, tools, tmp_path)
    ids = queue_ids(MANY)
    undo = {"operation": "release", "arguments": {"account": ACCOUNT, "queue_ids": ids}}
    action = runner.actions.begin(incident_id=incident, account=ACCOUNT, step="hold_queue",
                                  target="postfix", operation="hold", actor="t", reason="r",
                                  now=1.0)
    runner.actions.finish(action, status="done", now=2.0, changed=True,
                          result={"queue_ids": ids}, undo=undo)
    row = runner.actions.get(action)
    assert row is not None and row["undo"] == undo and row["result"] == {"queue_ids": ids}

    set_queue(tmp_path, *({"queue_id": q, "queue_name": "hold", "sender": ACCOUNT}
                          for q in ids))
    outcome = runner.undo(incident, action, actor="admin", reason="false alarm")
    assert outcome.status == "done", outcome.error
    (postsuper,) = [c for c in calls(tmp_path) if c["argv"][0].endswith("postsuper")]
    assert postsuper["stdin"].split() == ids


@pytest.mark.parametrize("stored", ['["release"]', '{"operation": "release"}',
                                    '{"arguments": {}}', '"release"',
                                    '{"operation": "release", "arguments": [1]}'])
def test_a_damaged_undo_record_is_a_clear_error(held: tuple[Runtime, str], stored: str) -> None:
    """An undo column that is not {operation, arguments} gives ResponseError naming the
    action, not a KeyError or TypeError from deep inside a responder."""
    rt, incident = held
    runner = ResponseRunner(rt.cfg, rt.store, clock=lambda: 5000.0)
    (quarantine,) = runner.run(incident, ["quarantine"], actor="t", reason="r")
    assert quarantine.action_id is not None
    t = schema.incident_actions
    with rt.store.engine.begin() as conn:
        conn.execute(update(t).where(t.c.id == quarantine.action_id).values(undo=stored))
    with pytest.raises(ResponseError, match=f"action {quarantine.action_id} cannot be undone"):
        runner.undo(incident, quarantine.action_id, actor="admin", reason="x")
    outcomes = runner.undo_all(incident, actor="admin", reason="x")
    assert [o.status for o in outcomes] == ["failed"] and "cannot be undone" in outcomes[0].error


# -- 4. a store failure while recording does not stop the next operation ----------------------

def test_a_failing_checklist_tick_does_not_stop_the_next_operation(
    held: tuple[Runtime, str], tmp_path: Path, tools: ToolPaths,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """kick is done but its checklist tick fails (a busy store): hold_queue still runs, and
    the failure is logged with the action id."""
    rt, incident = held
    runner = runner_on(rt, tools, tmp_path)

    def busy(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(runner.checklist, "tick", busy)
    outcomes = runner.run(incident, ["kick", "hold_queue"], actor="admin", reason="x")
    assert [(o.operation.operation, o.status) for o in outcomes] == [
        ("kick", "done"), ("hold", "done")]
    assert any(c["argv"][0].endswith("postqueue") for c in calls(tmp_path))
    assert f"action {outcomes[0].action_id}: could not record" in caplog.text


def test_a_failing_finish_does_not_stop_the_next_operation(
    held: tuple[Runtime, str], tmp_path: Path, tools: ToolPaths,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the outcome of one operation cannot be written, its row stays 'started' and the
    next operation still runs."""
    rt, incident = held
    runner = runner_on(rt, tools, tmp_path)
    real = runner.actions.finish

    def once(action_id: int, **kwargs: Any) -> None:
        if action_id == first[0]:
            raise RuntimeError("database is locked")
        real(action_id, **kwargs)

    first: list[int] = []
    real_begin = runner.actions.begin

    def begin(**kwargs: Any) -> int:
        action_id = real_begin(**kwargs)
        first.append(action_id)
        return action_id

    monkeypatch.setattr(runner.actions, "begin", begin)
    monkeypatch.setattr(runner.actions, "finish", once)
    outcomes = runner.run(incident, ["kick", "hold_queue"], actor="admin", reason="x")
    assert [o.status for o in outcomes] == ["done", "done"]
    rows = runner.actions.for_incident(incident)
    assert [r["status"] for r in rows] == ["started", "done"]


# -- 5. two undos of one action ---------------------------------------------------------------

def test_an_undo_checks_undone_by_inside_the_lock(held: tuple[Runtime, str]) -> None:
    """An undo waiting for the lock sees the mark of the undo that held it, and refuses."""
    rt, incident = held
    runner = ResponseRunner(rt.cfg, rt.store, clock=lambda: 5000.0)
    (quarantine,) = runner.run(incident, ["quarantine"], actor="t", reason="r")
    assert quarantine.action_id is not None
    action_id = quarantine.action_id
    results: list[object] = []

    def second() -> None:
        try:
            results.append(runner.undo(incident, action_id, actor="b", reason="x"))
        except ResponseError as exc:
            results.append(exc)

    with runner._serialised():  # the first undo, under way
        waiting = threading.Thread(target=second)
        waiting.start()
        time.sleep(0.3)
        runner.actions.mark_undone(action_id, 9999)
    waiting.join(10)
    (result,) = results
    assert isinstance(result, ResponseError) and "already undone" in str(result)


# -- 5. map and deny files: lines not understood are kept -------------------------------------

def test_map_lines_with_tabs_comments_and_oddities_are_kept(
    tmp_path: Path, tools: ToolPaths
) -> None:
    """A tab-separated entry, a comment and a line not understood do not stop a lock; they are
    kept as they are, the tab entry is recognised, unlock removes only our line."""
    pf = postfix(tmp_path, tools)
    original = "# managed by hand\nother@x.jp\tREJECT\nbare-key\n"
    pf.access_map.write_text(original)
    locked = pf.lock("victim@x.jp", reason="burst")
    assert pf.access_map.read_text() == original + "victim@x.jp HOLD\n"
    relocked = pf.lock("other@x.jp", reason="burst")
    assert relocked.result["before"] == "REJECT"
    assert "other@x.jp HOLD\n" in pf.access_map.read_text()
    pf.undo(relocked, reason="back")
    pf.undo(locked, reason="closed")
    assert pf.access_map.read_text() == "# managed by hand\nother@x.jp REJECT\nbare-key\n"


def test_deny_lines_with_tabs_and_comments_are_kept(tmp_path: Path, tools: ToolPaths) -> None:
    """A deny (passwd-file) line with a tab or extra fields, and a comment, are kept; such a
    user counts as denied; lock and unlock touch only the account's line."""
    dc = dovecot(tmp_path, tools)
    original = "# locked by hand\nother@x.jp\t# since monday\nthird@x.jp:::\n"
    dc.deny_file.write_text(original)
    assert dc.denied() == ["other@x.jp", "third@x.jp"]
    assert not dc.lock("other@x.jp", reason="again").changed
    locked = dc.lock("victim@x.jp", reason="burst")
    assert dc.deny_file.read_text() == original + "victim@x.jp\n"
    dc.undo(locked, reason="closed")
    assert dc.deny_file.read_text() == original


# -- 3. owner, group and mode are kept; no symlink is followed --------------------------------

def owner(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_uid, st.st_gid, st.st_mode & 0o7777


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_deny_map_and_passwd_files_keep_owner_group_and_mode(
    tmp_path: Path, tools: ToolPaths
) -> None:
    """Files set up as nobody:mail 0640 stay nobody:mail 0640 after lock, unlock and a new
    password (otherwise Dovecot's auth process could not read them: every login fails)."""
    group = grp.getgrnam("mail").gr_gid
    nobody = 65534
    dc, pf = dovecot(tmp_path, tools), postfix(tmp_path, tools)
    dc.passwd_file = tmp_path / "passwd"
    dc.passwd_file.write_text("victim@x.jp:{PLAIN}old::::::\n")
    for path in (dc.deny_file, pf.access_map, dc.passwd_file):
        path.touch()
        os.chown(path, nobody, group)
        path.chmod(0o640)
    wanted = (nobody, group, 0o640)
    dc.lock("victim@x.jp", reason="burst")
    assert owner(dc.deny_file) == wanted
    dc.unlock("victim@x.jp", reason="closed")
    assert owner(dc.deny_file) == wanted
    pf.lock("victim@x.jp", reason="burst")
    assert owner(pf.access_map) == wanted
    dc.reset_password("victim@x.jp", reason="stolen")
    assert owner(dc.passwd_file) == wanted
    assert FAKE_HASH in dc.passwd_file.read_text()


def test_a_symlink_at_the_old_temporary_path_is_not_followed(
    tmp_path: Path, tools: ToolPaths
) -> None:
    """A symlink planted where the temporary file used to be written (FILE.mailwarden-new)
    is neither followed nor written through; the file itself is replaced."""
    dc, pf = dovecot(tmp_path, tools), postfix(tmp_path, tools)
    target = tmp_path / "precious"
    target.write_text("keep me\n")
    for path in (dc.deny_file, pf.access_map):
        (path.parent / f"{path.name}.mailwarden-new").symlink_to(target)
    dc.lock("victim@x.jp", reason="burst")
    pf.lock("victim@x.jp", reason="burst")
    assert target.read_text() == "keep me\n"
    assert dc.deny_file.read_text() == "victim@x.jp\n" and not dc.deny_file.is_symlink()
    assert pf.access_map.read_text() == "victim@x.jp HOLD\n"
    assert not pf.access_map.is_symlink()


# -- 6. playbooks the service had no time to start --------------------------------------------

def test_playbooks_not_started_at_shutdown_are_recorded_as_skipped(
    held: tuple[Runtime, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first playbook is still running when the service stops (one worker, busy); the
    second never started: its automatic steps are recorded as skipped with the command that
    runs them, and it does not start afterwards."""
    rt, first = held
    rt.cfg.response.max_parallel_playbooks = 1
    second = "INC-waiting"
    rt.store.write(Batch(incidents=[Incident(second, 2.0, "b@city.example.jp",
                                             "suspicious_login", "high", 3.0, [])]), 2.0)
    rt.response = ResponseRunner(rt.cfg, rt.store, clock=lambda: 10.0)
    release, started = threading.Event(), []
    real = rt.response.run_automatic

    def slow(incident_id: str) -> Any:
        started.append(incident_id)
        release.wait(10)
        return real(incident_id)

    monkeypatch.setattr(rt.response, "run_automatic", slow)

    async def serve_and_stop() -> None:
        rt.respond([first, second])
        await asyncio.sleep(0.2)
        await rt.finish_responses(timeout=0.2)

    asyncio.run(serve_and_stop())
    release.set()
    time.sleep(0.3)
    assert started == [first]
    rows = rt.response.actions.for_incident(second)
    assert rows and {r["status"] for r in rows} == {"skipped"}
    assert all("service stopped before the playbook ran" in r["error"]
               and f"mailwarden incidents respond {second}" in r["error"] for r in rows)
    assert json.dumps(rows[0]["result"]) == "{}"
