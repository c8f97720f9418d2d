"""The incident response checklist: created on first use, changed per step, ticked by Mailwarden."""

from __future__ import annotations

import json
import re

import pytest
from tests.unit.test_store import burst, runtime
from typer.testing import CliRunner

from mailwarden import i18n
from mailwarden.cli.main import app
from mailwarden.response.checklist import (
    STATES,
    STEPS,
    BadAssignment,
    Checklist,
    UnknownIncident,
    UnknownState,
    UnknownStep,
    parse_assignment,
    render,
)
from mailwarden.store import schema
from mailwarden.store.migrations import MIGRATIONS

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@pytest.fixture
def held(tmp_path):
    """A store with one real incident: the engine held a burst from Brazil."""
    rt = runtime(tmp_path)
    burst(rt)
    rt.store.write(rt.collect(everything=True), 1.0)
    return rt.store, rt.store.incidents()[0]["id"]


def test_checklist_is_created_on_first_use_all_todo(held):
    """The first request creates every step as todo, in order; asking again adds nothing."""
    store, incident = held
    checklist = Checklist(store, clock=lambda: 1000.0)
    entries = checklist.entries(incident)
    assert [e.step for e in entries] == list(STEPS)
    assert {e.state for e in entries} == {"todo"}
    assert checklist.entries(incident) == entries
    with store.engine.connect() as conn:
        assert len(conn.execute(schema.incident_checklist.select()).all()) == len(STEPS)


def test_checklist_table_comes_from_a_numbered_migration():
    """The checklist table is created by its own migration, appended after the others."""
    names = {name for _, name, _ in MIGRATIONS}
    assert "incident response checklist" in names
    assert [v for v, _, _ in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))


def test_set_records_state_who_when_note_and_timeline(held):
    """A change keeps who, when and the note, and appears in the incident's timeline."""
    store, incident = held
    checklist = Checklist(store, clock=lambda: 1_760_000_000.0)
    entry = checklist.set(incident, "end_sessions", "done", "admin", "doveadm kick user")
    assert (entry.state, entry.by, entry.at, entry.note) == (
        "done", "admin", 1_760_000_000.0, "doveadm kick user")
    checklist.set(incident, "report_police", "n/a", "admin", "no money lost")
    states = {e.step: e.state for e in checklist.entries(incident)}
    assert states["end_sessions"] == "done" and states["report_police"] == "n/a"
    timeline = store.incident(incident)["timeline"]
    changes = [e for e in timeline if e["kind"] == "checklist"]
    assert [(c["step"], c["state"], c["by"]) for c in changes] == [
        ("end_sessions", "done", "admin"), ("report_police", "n/a", "admin")]


def test_state_can_go_back_to_todo(held):
    """A step marked done by mistake can be set back to todo."""
    store, incident = held
    checklist = Checklist(store)
    checklist.set(incident, "audit", "done", "admin")
    assert checklist.set(incident, "audit", "todo", "admin", "not yet").state == "todo"


def test_tick_marks_done_by_mailwarden_and_keeps_an_earlier_done(held):
    """tick() marks a step done by mailwarden; a step a person already did keeps their record."""
    store, incident = held
    checklist = Checklist(store, clock=lambda: 5.0)
    ticked = checklist.tick(incident, "preserve_evidence", note="bundle x.zip")
    assert (ticked.state, ticked.by, ticked.note) == ("done", "mailwarden", "bundle x.zip")
    checklist.set(incident, "end_sessions", "done", "admin", "by hand")
    kept = checklist.tick(incident, "end_sessions", note="mailwarden kicked")
    assert (kept.by, kept.note) == ("admin", "by hand")


def test_unknown_incident_step_and_state_are_errors_that_name_the_value(held):
    """Wrong ids and states raise errors carrying the value, listing what is valid."""
    store, incident = held
    checklist = Checklist(store)
    with pytest.raises(UnknownIncident) as exc:
        checklist.entries("INC-nope")
    assert exc.value.value == "INC-nope"
    with pytest.raises(UnknownStep) as step:
        checklist.set(incident, "reboot_server", "done", "admin")
    assert "reboot_server" in str(step.value) and "change_password" in str(step.value)
    with pytest.raises(UnknownState):
        checklist.set(incident, "audit", "finished", "admin")
    with pytest.raises(UnknownIncident):
        checklist.tick("INC-nope", "audit")


def test_parse_assignment():
    """--set takes STEP=STATE; anything else is a clear error."""
    assert parse_assignment("end_sessions=done") == ("end_sessions", "done")
    assert parse_assignment(" audit = N/A ") == ("audit", "n/a")
    with pytest.raises(BadAssignment):
        parse_assignment("end_sessions")
    with pytest.raises(UnknownStep):
        parse_assignment("nope=done")
    with pytest.raises(UnknownState):
        parse_assignment("audit=maybe")


def test_every_step_and_state_reads_in_english_and_japanese():
    """Each step and state has an English sentence and a distinct Japanese one."""
    for key in [f"checklist.{s}" for s in STEPS] + [f"checklist.state.{s}" for s in STATES]:
        en, ja = i18n.render(key, "en"), i18n.render(key, "ja")
        assert en and ja and en != ja and JAPANESE.search(ja), key
    assert "phone" in i18n.render("checklist.notify_contacts", "en")
    assert "電話" in i18n.render("checklist.notify_contacts", "ja")


def test_render_in_both_languages(held):
    """The terminal view shows marks, progress and who did what, in the chosen language."""
    store, incident = held
    checklist = Checklist(store, clock=lambda: 1_760_000_000.0)
    checklist.set(incident, "change_password", "done", "somu", "from the office PC")
    entries = checklist.entries(incident)
    en, ja = render(incident, entries, "en"), render(incident, entries, "ja")
    assert "1 of 9" in en[0] and incident in en[0]
    assert "9項目中1項目" in ja[0]
    assert any(line.startswith("  [x] change_password") for line in en)
    assert "done: somu 2025-10-09T08:53:20Z — from the office PC" in "\n".join(en)
    assert "完了: somu" in "\n".join(ja)
    assert "別の安全な端末" in "\n".join(ja)


def test_cli_shows_and_changes_the_checklist(held, tmp_path):
    """`incidents checklist ID --set STEP=done --by NAME` changes a step; --json shows it."""
    _store, incident = held
    runner = CliRunner()
    args = ["incidents", "checklist", incident, "--data-dir", str(tmp_path)]
    changed = runner.invoke(app, [*args, "--set", "check_forwarding=done", "--by", "somu",
                                  "--note", "removed a rule forwarding to gmail"])
    assert changed.exit_code == 0, changed.output
    assert "[x] check_forwarding" in changed.output
    shown = runner.invoke(app, [*args, "--json"])
    data = json.loads(shown.output)
    step = next(s for s in data["steps"] if s["step"] == "check_forwarding")
    assert (step["state"], step["by"], step["note"]) == (
        "done", "somu", "removed a rule forwarding to gmail")
    assert step["ja"] and step["en"]
    japanese = runner.invoke(app, [*args, "--lang", "ja"])
    assert "対応チェックリスト" in japanese.output


def test_cli_errors_are_clear_and_exit_1(held, tmp_path):
    """A wrong step or incident exits 1 with a sentence in the chosen language."""
    _store, incident = held
    runner = CliRunner()
    bad = runner.invoke(app, ["incidents", "checklist", incident, "--data-dir", str(tmp_path),
                              "--set", "reboot=done", "--lang", "ja"])
    assert bad.exit_code == 1 and "項目 'reboot' はありません" in bad.output
    missing = runner.invoke(app, ["incidents", "checklist", "INC-x", "--data-dir", str(tmp_path)])
    assert missing.exit_code == 1 and "no incident 'INC-x'" in missing.output
