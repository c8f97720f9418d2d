"""Containment actions with hostile account names: validation, idempotency, argument lists.

The tools are replaced by a small recording program (a real executable run by LocalExecutor, no
shell): it appends its argv and stdin to a log and prints canned output, so the tests see
exactly what would have been executed, and that nothing is when a name is refused.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailwarden.response.actions import MAX_ACCOUNT_CHARS, InvalidAccount, validate_account
from mailwarden.response.dovecot import AccountNotFound, DovecotResponder
from mailwarden.response.executor import CommandFailed, LocalExecutor, ToolPaths
from mailwarden.response.postfix import PostfixResponder, QueueError, parse_queue

HOSTILE = [
    "a; rm -rf /",
    "x\nREJECT",
    "$(id)",
    "`id`",
    "a" * (MAX_ACCOUNT_CHARS + 1),
    "user\r\nOK",
    "tab\tuser",
    "-c/etc/evil",
    "user:{PLAIN}pw",
    "bob\u202e@example.jp",  # right-to-left override
    "tanaka\u200b@example.jp",  # zero-width space
    "nul\x00byte",
    "",
]
FAKE_HASH = "{SHA512-CRYPT}$6$salt$hash"

RECORDER = """\
import json, os, sys
stdin = sys.stdin.read()
with open(os.environ["RECORDER_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps({"argv": sys.argv, "stdin": stdin}) + "\\n")
name = os.path.basename(sys.argv[0])
if name == "postqueue":
    sys.stdout.write(open(os.environ["RECORDER_QUEUE"], encoding="utf-8").read())
elif name == "doveadm" and "pw" in sys.argv:
    sys.stdout.write(os.environ["RECORDER_HASH"] + "\\n")
elif name == "sleeper":
    import time; time.sleep(5)
"""


@pytest.fixture
def tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ToolPaths:
    """Every tool is the recording program, under its real name."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "recorder.py"
    script.write_text(RECORDER, encoding="utf-8")
    names = ("postqueue", "postsuper", "postmap", "postcat", "doveadm", "sleeper")
    for name in names:
        tool = bin_dir / name
        tool.write_text(f"#!{sys.executable}\nexec(open({str(script)!r}).read())\n")
        tool.chmod(0o755)
    monkeypatch.setenv("RECORDER_LOG", str(tmp_path / "calls.jsonl"))
    monkeypatch.setenv("RECORDER_QUEUE", str(tmp_path / "queue.jsonl"))
    monkeypatch.setenv("RECORDER_HASH", FAKE_HASH)
    (tmp_path / "queue.jsonl").write_text("")
    return ToolPaths(**{name: str(bin_dir / name) for name in names[:-1]})


def calls(tmp_path: Path) -> list[dict[str, Any]]:
    """What the recording program was run with, in order."""
    log = tmp_path / "calls.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def set_queue(tmp_path: Path, *entries: dict[str, str]) -> None:
    """The canned `postqueue -j` output."""
    (tmp_path / "queue.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries))


def postfix(tmp_path: Path, tools: ToolPaths) -> PostfixResponder:
    """A PostfixResponder on the recording tools with -c tmp_path/etc."""
    executor = LocalExecutor(paths=tools, postfix_config_dir=tmp_path / "etc")
    return PostfixResponder(executor, access_map=tmp_path / "sasl_access")


def dovecot(tmp_path: Path, tools: ToolPaths) -> DovecotResponder:
    """A DovecotResponder on the recording tools with -c tmp_path/dovecot.conf."""
    executor = LocalExecutor(paths=tools, dovecot_config=tmp_path / "dovecot.conf")
    return DovecotResponder(executor, deny_file=tmp_path / "deny", passwd_file=tmp_path / "passwd")


@pytest.mark.parametrize("name", HOSTILE, ids=repr)
def test_hostile_names_are_refused_with_the_value_named(name: str) -> None:
    """validate_account refuses each hostile name; the error carries the value and shows it."""
    with pytest.raises(InvalidAccount) as caught:
        validate_account(name)
    assert caught.value.value == name
    assert repr(name)[:40] in str(caught.value) and caught.value.problem


@pytest.mark.parametrize("name", ["keisatsu@city.example.jp", "田中@例え.jp", "a+tag=x@x.org"])
def test_ordinary_and_non_ascii_names_are_accepted(name: str) -> None:
    """Addresses, plus tags and non-ASCII letters pass unchanged."""
    assert validate_account(name) == name


@pytest.mark.parametrize("name", HOSTILE, ids=repr)
def test_no_action_runs_or_writes_anything_for_a_hostile_name(
    name: str, tmp_path: Path, tools: ToolPaths
) -> None:
    """Every Postfix and Dovecot action refuses a hostile name before running or writing."""
    (tmp_path / "passwd").write_text("victim@x.jp:{PLAIN}pw::::::\n")
    pf, dc = postfix(tmp_path, tools), dovecot(tmp_path, tools)
    actions = [pf.hold, pf.release, pf.lock, pf.unlock,
               dc.lock, dc.unlock, dc.kick, dc.sieve_deactivate, dc.reset_password]
    for action in actions:
        with pytest.raises(InvalidAccount):
            action(name, reason="hostile")
    assert calls(tmp_path) == []
    assert not pf.access_map.exists() and not dc.deny_file.exists()
    assert (tmp_path / "passwd").read_text() == "victim@x.jp:{PLAIN}pw::::::\n"


def test_lock_twice_writes_one_line_and_postmaps_once(tmp_path: Path, tools: ToolPaths) -> None:
    """A second HOLD lock changes nothing; postmap got -c CONFIG_DIR and TYPE:FILE as arguments."""
    pf = postfix(tmp_path, tools)
    first = pf.lock("田中@例え.jp", reason="burst")
    second = pf.lock("田中@例え.jp", reason="burst")
    assert first.changed and not second.changed and second.undo is None
    assert pf.access_map.read_text(encoding="utf-8") == "田中@例え.jp HOLD\n"
    assert [c["argv"][1:] for c in calls(tmp_path)] == [
        ["-c", str(tmp_path / "etc"), f"hash:{pf.access_map}"]
    ]


def test_reject_then_undo_restores_hold_and_unlock_undo_relocks(
    tmp_path: Path, tools: ToolPaths
) -> None:
    """Switching HOLD to REJECT is undone back to HOLD; unlock's undo locks again; other lines
    stay."""
    pf = postfix(tmp_path, tools)
    pf.lock("other@x.jp", reason="earlier incident", mode="REJECT")
    pf.lock("victim@x.jp", reason="burst")
    rejecting = pf.lock("victim@x.jp", reason="worse", mode="REJECT")
    pf.undo(rejecting, reason="too harsh")
    assert pf.access_map.read_text() == "other@x.jp REJECT\nvictim@x.jp HOLD\n"
    unlocked = pf.unlock("victim@x.jp", reason="closed")
    assert pf.access_map.read_text() == "other@x.jp REJECT\n"
    assert not pf.unlock("victim@x.jp", reason="closed").changed
    pf.undo(unlocked, reason="reopened")
    assert pf.access_map.read_text() == "other@x.jp REJECT\nvictim@x.jp HOLD\n"


def test_hold_sends_ids_on_stdin_and_holding_held_mail_does_nothing(
    tmp_path: Path, tools: ToolPaths
) -> None:
    """hold runs `postsuper -c DIR -h -` with the deferred ids on stdin; already held mail and
    other senders are left alone; with everything held it runs no postsuper."""
    pf = postfix(tmp_path, tools)
    set_queue(tmp_path,
              {"queue_id": "AAAAA1", "queue_name": "deferred", "sender": "Victim@x.jp"},
              {"queue_id": "BBBBB2", "queue_name": "hold", "sender": "victim@x.jp"},
              {"queue_id": "CCCCC3", "queue_name": "active", "sender": "other@x.jp"})
    held = pf.hold("victim@x.jp", reason="burst")
    postsuper = [c for c in calls(tmp_path) if str(c["argv"][0]).endswith("postsuper")]
    assert held.result["queue_ids"] == ["AAAAA1"]
    assert postsuper == [{"argv": [tools.postsuper, "-c", str(tmp_path / "etc"), "-h", "-"],
                          "stdin": "AAAAA1\n"}]
    set_queue(tmp_path, {"queue_id": "AAAAA1", "queue_name": "hold", "sender": "victim@x.jp"})
    again = pf.hold("victim@x.jp", reason="burst")
    assert not again.changed and again.undo is None
    assert sum(str(c["argv"][0]).endswith("postsuper") for c in calls(tmp_path)) == 1


def test_hostile_queue_ids_never_reach_postsuper(tmp_path: Path, tools: ToolPaths) -> None:
    """A queue id that is not a Postfix queue id stops hold before postsuper runs."""
    pf = postfix(tmp_path, tools)
    set_queue(tmp_path, {"queue_id": "AAAAA1\nALL", "queue_name": "deferred", "sender": "v@x.jp"})
    with pytest.raises(QueueError, match="not a Postfix queue id"):
        pf.hold("v@x.jp", reason="burst")
    assert not any(str(c["argv"][0]).endswith("postsuper") for c in calls(tmp_path))


@given(st.text(max_size=300))
def test_parse_queue_answers_entries_or_queue_error(text: str) -> None:
    """Any postqueue output gives entries with valid ids or a QueueError, nothing else."""
    try:
        entries = parse_queue(text)
    except QueueError as exc:
        assert exc.problem
    else:
        assert all(entry.queue_id.isalnum() for entry in entries)


@given(st.text(max_size=400))
def test_accepted_names_fit_on_one_map_line(name: str) -> None:
    """Whatever validate_account accepts is one line and one whitespace-free field."""
    try:
        validate_account(name)
    except InvalidAccount:
        return
    assert name.split() == [name] and len(f"{name} HOLD\n".splitlines()) == 1


def test_deny_lock_twice_writes_one_line_and_undo_unlocks(tmp_path: Path, tools: ToolPaths) -> None:
    """The deny file gets the user once; undo removes it, leaving the others; nothing ran."""
    dc = dovecot(tmp_path, tools)
    dc.lock("other@x.jp", reason="earlier")
    locked = dc.lock("victim@x.jp", reason="burst")
    assert not dc.lock("victim@x.jp", reason="burst").changed
    assert dc.deny_file.read_text() == "other@x.jp\nvictim@x.jp\n"
    dc.undo(locked, reason="closed")
    assert dc.deny_file.read_text() == "other@x.jp\n"
    assert calls(tmp_path) == []


def test_kick_passes_the_name_as_one_argument_and_has_no_undo(
    tmp_path: Path, tools: ToolPaths
) -> None:
    """kick runs `doveadm -c CONF kick USER`; undo is refused with the reason."""
    dc = dovecot(tmp_path, tools)
    kicked = dc.kick("a+b@x.jp", reason="burst")
    assert [c["argv"] for c in calls(tmp_path)] == [
        [tools.doveadm, "-c", str(tmp_path / "dovecot.conf"), "kick", "a+b@x.jp"]
    ]
    with pytest.raises(ValueError, match="no undo: ended sessions"):
        dc.undo(kicked, reason="oops")


def test_new_password_goes_through_stdin_and_stays_out_of_records(
    tmp_path: Path, tools: ToolPaths
) -> None:
    """The password reaches doveadm pw on stdin only; the passwd line keeps its other fields;
    the secret is absent from repr and record."""
    passwd = tmp_path / "passwd"
    passwd.write_text("victim@x.jp:{PLAIN}old:1000:1000::/home/v::\nother@x.jp:{PLAIN}o::::::\n")
    action = dovecot(tmp_path, tools).reset_password("victim@x.jp", reason="stolen")
    secret = action.secret
    assert secret is not None and len(secret) >= 20
    (call,) = calls(tmp_path)
    assert secret not in json.dumps(call["argv"]) and call["stdin"] == f"{secret}\n{secret}\n"
    assert passwd.read_text() == (
        f"victim@x.jp:{FAKE_HASH}:1000:1000::/home/v::\nother@x.jp:{{PLAIN}}o::::::\n"
    )
    assert secret not in repr(action) and secret not in json.dumps(action.record())


def test_new_password_for_an_unknown_account_changes_nothing(
    tmp_path: Path, tools: ToolPaths
) -> None:
    """An account missing from the passwd-file is an AccountNotFound naming it and the file."""
    passwd = tmp_path / "passwd"
    passwd.write_text("other@x.jp:{PLAIN}o::::::\n")
    with pytest.raises(AccountNotFound, match=r"ghost@x\.jp"):
        dovecot(tmp_path, tools).reset_password("ghost@x.jp", reason="stolen")
    assert passwd.read_text() == "other@x.jp:{PLAIN}o::::::\n"


def test_executor_reports_timeouts_and_missing_programs(tmp_path: Path, tools: ToolPaths) -> None:
    """A hanging tool is a CommandFailed without status; a missing one names the program."""
    executor = LocalExecutor(paths=tools, timeout=0.5)
    with pytest.raises(CommandFailed, match="timed out") as caught:
        executor.run([str(tmp_path / "bin" / "sleeper")])
    assert caught.value.returncode is None
    with pytest.raises(CommandFailed, match="no-such-tool"):
        executor.run([str(tmp_path / "no-such-tool")])
    with pytest.raises(ValueError, match="unknown Postfix tool"):
        executor.postfix("sendmail")
