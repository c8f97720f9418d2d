"""The playbook and its runner without Postfix or Dovecot: plans per severity, records of every
operation (started before, done/failed/skipped after), quarantine and its undo, dry runs,
hostile account names and the configuration checks. Runs against Postfix and Dovecot are in
tests/integration/test_playbook_mailstack.py and test_e2e_response.py."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from tests.unit.test_store import burst, runtime
from typer.testing import CliRunner

from mailwarden.cli.main import app
from mailwarden.config import ConfigError, load
from mailwarden.engine.incident import Incident
from mailwarden.response.checklist import Checklist, UnknownIncident
from mailwarden.response.playbook import OPERATIONS, ORDER, UnknownStep, ordered, plan
from mailwarden.response.runner import ResponseError, ResponseRunner
from mailwarden.store.actions_store import ActionStore
from mailwarden.store.store import Batch, Store

ACCOUNT = "a@city.example.jp"


@pytest.fixture
def held(tmp_path):
    """A runtime whose engine held a burst from Brazil: one high incident in the store."""
    rt = runtime(tmp_path)
    rt.last_flag = 0.0
    burst(rt)
    rt.store.write(rt.collect(everything=True), 1.0)
    incident = rt.store.incidents()[0]
    assert incident["severity"] == "high"
    return rt, incident["id"]


def trap_tool(folder: Path) -> Path:
    """A program that records that it ran: no configured operation may reach it here."""
    path = folder / "trap-tool"
    marker = folder / "trap-ran"
    path.write_text(f"#!/bin/sh\necho \"$@\" >> {marker}\nexit 1\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_every_step_is_ordered_and_expands_to_operations():
    assert sorted(ORDER) == sorted(OPERATIONS)
    assert ordered(["kick", "quarantine", "lock", "kick"]) == ["quarantine", "lock", "kick"]
    with pytest.raises(UnknownStep) as exc:
        ordered(["lock", "rm -rf /"])
    assert "rm -rf /" in exc.value.text("en") and "手順" in exc.value.text("ja")


def test_default_playbook_for_an_overseas_burst_is_quarantine_lock_kick(held):
    """The shipped default for a high incident: quarantine, lock, kick by themselves; the
    rest waits for a person, and operations not configured say which setting they need."""
    rt, incident = held
    found = plan(rt.cfg, incident, ACCOUNT, "high")
    assert [(o.step, o.target) for o in found.automatic] == [
        ("quarantine", "outbound"), ("lock", "postfix"), ("lock", "dovecot"),
        ("kick", "dovecot")]
    assert [o.step for o in found.manual] == ["sieve_deactivate", "hold_queue",
                                              "reset_password"]
    by_target = {(o.step, o.target): o.unavailable for o in found.automatic}
    assert by_target[("quarantine", "outbound")] == ""
    assert by_target[("lock", "postfix")] == "[response] sasl_access_map"
    assert by_target[("kick", "dovecot")] == "[response] dovecot = true"
    lines = found.lines(rt.cfg, "ja")
    assert "自動で実行" in "\n".join(lines) and "未設定" in "\n".join(lines)


def test_run_records_done_and_skipped_and_quarantine_undo_releases(held):
    """A run records each operation; quarantine of an account the engine already holds for
    this incident changes nothing but can be undone, which releases the account."""
    rt, incident = held
    runner = ResponseRunner(rt.cfg, rt.store, clock=lambda: 5000.0)
    outcomes = runner.run_automatic(incident)
    assert [(o.operation.target, o.operation.operation, o.status) for o in outcomes] == [
        ("outbound", "quarantine", "done"), ("postfix", "lock", "skipped"),
        ("dovecot", "lock", "skipped"), ("dovecot", "kick", "skipped")]
    assert outcomes[0].changed is False  # the engine quarantined it when it held the burst
    rows = runner.actions.for_incident(incident)
    assert [r["status"] for r in rows] == ["done", "skipped", "skipped", "skipped"]
    first = rows[0]
    assert first["actor"] == "mailwarden (playbook)" and "high" in first["reason"]
    assert first["started_at"] == first["finished_at"] == 5000.0
    assert first["undo"] == {"operation": "release", "arguments": {"account": ACCOUNT}}
    assert rows[1]["error"] == "[response] sasl_access_map"

    undone = runner.undo_all(incident, actor="admin", reason="the user was travelling")
    assert [(o.operation.operation, o.status, o.changed) for o in undone] == [
        ("release", "done", True)]
    assert rt.store.quarantined() == []
    rt.poll_releases()
    assert not rt.engine.quarantined(ACCOUNT)
    rows = runner.actions.for_incident(incident)
    assert rows[0]["undone_by"] == rows[-1]["id"] and rows[-1]["undo_of"] == rows[0]["id"]
    with pytest.raises(ResponseError) as exc:
        runner.undo(incident, rows[0]["id"], actor="admin", reason="again")
    assert "already undone" in str(exc.value)
    timeline = rt.store.incident(incident)["timeline"]
    assert [e["status"] for e in timeline if e["kind"] == "action"][-2:] == ["started", "done"]


def test_quarantine_of_a_login_incident_reaches_the_running_engine(tmp_path):
    """A login incident leaves outbound mail flowing until the playbook quarantines it: the
    flag goes to the store and the running engine holds the account on its next poll."""
    rt = runtime(tmp_path)
    rt.last_flag = 0.0
    inc = Incident("INC-login-1", 100.0, "b@city.example.jp", "suspicious_login", "high", 3.0,
                   [])
    rt.store.write(Batch(incidents=[inc]), 100.0)
    runner = ResponseRunner(rt.cfg, rt.store, clock=lambda: 200.0)
    outcome = runner.run("INC-login-1", ["quarantine"], actor="mailwarden", reason="test")[0]
    assert outcome.status == "done" and outcome.changed
    assert not rt.engine.quarantined("b@city.example.jp")
    rt.poll_releases()
    assert rt.engine.quarantined("b@city.example.jp")
    again = runner.run("INC-login-1", ["quarantine"], actor="mailwarden", reason="test")[0]
    assert again.status == "done" and not again.changed  # idempotent


def test_dry_run_changes_nothing_and_records_only_when_asked(held, tmp_path):
    rt, incident = held
    rt.cfg.response.dovecot = True
    rt.cfg.response.deny_file = str(tmp_path / "deny")
    rt.cfg.response.doveadm = str(trap_tool(tmp_path))
    runner = ResponseRunner(rt.cfg, rt.store)
    printed = runner.run(incident, ["lock", "kick"], actor="admin", reason="x", dry_run=True)
    assert {o.status for o in printed} == {"planned"} and runner.actions.for_incident(
        incident) == []
    rt.cfg.playbook.mode = "dry-run"
    recorded = runner.run_automatic(incident)
    assert {o.status for o in recorded} == {"planned"}
    assert {r["status"] for r in runner.actions.for_incident(incident)} == {"planned"}
    assert not (tmp_path / "deny").exists() and not (tmp_path / "trap-ran").exists()
    rt.cfg.playbook.mode = "off"
    assert runner.run_automatic(incident) == []


@pytest.mark.parametrize("account", ["x;touch /tmp/pwned", "-oProxyCommand=sh", "a b@x.jp",
                                     "a@x.jp\nroot", "$(reboot)", "a\u202e@x.jp"])
def test_hostile_account_names_are_recorded_as_failed_and_run_nothing(tmp_path, account):
    """Names come from logs: every operation refuses them, says why, and no tool runs."""
    rt = runtime(tmp_path)
    trap = trap_tool(tmp_path)
    r = rt.cfg.response
    r.dovecot, r.deny_file, r.passwd_file = True, str(tmp_path / "deny"), str(tmp_path / "pw")
    r.sasl_access_map = str(tmp_path / "sasl_access")
    r.doveadm = r.postmap = r.postqueue = r.postsuper = r.postcat = str(trap)
    inc = Incident("INC-hostile", 1.0, account, "outbound_anomaly", "high", 2.0, [])
    rt.store.write(Batch(incidents=[inc]), 1.0)
    runner = ResponseRunner(rt.cfg, rt.store)
    outcomes = runner.run("INC-hostile", list(ORDER), actor="admin", reason="x")
    assert {o.status for o in outcomes} == {"failed"}
    assert all("InvalidAccount" in o.error for o in outcomes)
    assert not (tmp_path / "trap-ran").exists()
    assert not (tmp_path / "deny").exists() and not (tmp_path / "sasl_access").exists()
    assert rt.store.quarantined() == []


def test_begin_commits_the_started_row_before_the_operation_runs(held):
    """begin() commits at once: another connection sees the 'started' row with no finish.
    Nothing crashes here; the kill -9 during an operation is in
    tests/integration/test_playbook_crash.py."""
    rt, incident = held
    actions = ActionStore(rt.store)
    action_id = actions.begin(incident_id=incident, account=ACCOUNT, step="kick",
                              target="dovecot", operation="kick", actor="mailwarden",
                              reason="x", now=10.0)
    other = ActionStore(Store(rt.cfg.store_url))  # another process's view, nothing finished
    row = other.get(action_id)
    assert row is not None and row["status"] == "started" and row["finished_at"] is None


def test_checklist_ticks_only_for_done_operations(held):
    rt, incident = held
    runner = ResponseRunner(rt.cfg, rt.store)
    runner.run(incident, ["kick", "sieve_deactivate"], actor="admin", reason="x")  # skipped
    states = {e.step: e.state for e in Checklist(rt.store).entries(incident)}
    assert states["end_sessions"] == "todo" and states["check_forwarding"] == "todo"


def test_unknown_incident_and_action_are_clear_errors(held):
    rt, incident = held
    runner = ResponseRunner(rt.cfg, rt.store)
    with pytest.raises(UnknownIncident):
        runner.run("INC-nope", ["lock"], actor="a", reason="b")
    with pytest.raises(ResponseError) as exc:
        runner.undo(incident, 999, actor="a", reason="b")
    assert "no action" in exc.value.text("en") and "操作" in exc.value.text("ja")


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mw.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "needle"), [
    ('[playbook]\nhigh = ["quarantine", "format_disk"]\n', "unknown step 'format_disk'"),
    ('[playbook]\nhigh = ["reset_password"]\n', "cannot run by itself"),
    ('[playbook]\nmode = "yes"\n', "playbook.mode"),
    ('[response]\nlock_mode = "DISCARD"\n', "response.lock_mode"),
    ('[response]\ndoveadm_executor = "http"\n', "doveadm_url"),
])
def test_bad_playbook_settings_are_named(tmp_path, text, needle):
    with pytest.raises(ConfigError) as exc:
        load(write_config(tmp_path, text))
    assert needle in str(exc.value)


def test_cli_plan_respond_actions_undo(held):
    """The commands: plan (ja), respond --dry-run, respond --step, actions --json, undo."""
    rt, incident = held
    env = {"MAILWARDEN_DATA_DIR": str(rt.cfg.data_dir)}
    cli = CliRunner()
    shown = cli.invoke(app, ["incidents", "plan", incident, "--lang", "ja"], env=env)
    assert shown.exit_code == 0 and "自動で実行" in shown.output
    dry = cli.invoke(app, ["incidents", "respond", incident, "--dry-run"], env=env)
    assert dry.exit_code == 0 and "Dry run" in dry.output and "planned" in dry.output
    done = cli.invoke(app, ["incidents", "respond", incident, "--step", "quarantine",
                            "--by", "sato", "--reason", "confirmed by phone"], env=env)
    assert done.exit_code == 0, done.output
    listed = cli.invoke(app, ["incidents", "actions", incident, "--json"], env=env)
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert [(r["operation"], r["actor"], r["reason"], r["status"]) for r in rows] == [
        ("quarantine", "sato", "confirmed by phone", "done")]
    undone = cli.invoke(app, ["incidents", "undo", incident, "--by", "sato"], env=env)
    assert undone.exit_code == 0 and "release" in undone.output.lower()
    assert rt.store.quarantined() == []
    bad = cli.invoke(app, ["incidents", "respond", incident, "--step", "nuke"], env=env)
    assert bad.exit_code == 1 and "unknown step" in bad.output
