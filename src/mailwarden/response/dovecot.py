"""Dovecot containment: lock an account through a deny passdb, kick its sessions, deactivate
its Sieve script, give it a new password; each returns an Action with its undo (or why none).

The deny file holds one user per line and is used as the first passdb:
``passdb { driver = passwd-file; args = /path/deny; deny = yes }``. Sieve needs Pigeonhole
(Debian: dovecot-sieve, dovecot-managesieved).

kick and the Sieve steps are DoveadmCommands, so they run through either executor: doveadm on
this machine (LocalExecutor) or the doveadm HTTP API (DoveadmHttpExecutor). The deny file and
the passwd-file are local files whichever executor is used; reset_password hashes with
`doveadm pw`, which the HTTP API does not offer, so with the HTTP executor the hash is made by
its local LocalExecutor (see response/doveadm_http.py). Each change of the deny file or the
passwd-file reads and rewrites it inside the responder's exclusive section (see
response/files.py), so concurrent locks of different accounts keep every line.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from mailwarden.response.actions import Action, Undo, utc_now, validate_account
from mailwarden.response.executor import CommandFailed, DoveadmCommand, DoveadmExecutor
from mailwarden.response.files import Exclusive, editing, replace_file

PASSWORD_BYTES = 18  # 24 URL-safe characters, 144 bits
NO_SESSIONS = 68  # doveadm kick's exit status when the account has no open session
HASH_SCHEME = "SHA512-CRYPT"


class AccountNotFound(LookupError):
    """The account has no line in the passwd-file to change."""

    def __init__(self, account: str, path: Path) -> None:
        self.account = account
        self.path = path
        super().__init__(f"account {account!r} has no line in {path}")


def deny_user(line: str) -> str | None:
    """The user a deny-file (passwd-file) line names: its first whitespace-separated word up
    to a ':'; None for a blank line or a comment."""
    words = line.split()
    if not words or words[0].startswith("#"):
        return None
    return words[0].partition(":")[0] or None


class DovecotResponder:
    """Containment on one Dovecot instance through a DoveadmExecutor."""

    def __init__(
        self,
        executor: DoveadmExecutor,
        *,
        deny_file: Path,
        passwd_file: Path | None = None,
        actor: str = "mailwarden",
        clock: Callable[[], datetime] = utc_now,
        exclusive: Exclusive = editing,
    ) -> None:
        self.executor = executor
        self.deny_file = deny_file
        self.passwd_file = passwd_file
        self.actor = actor
        self.clock = clock
        self.exclusive = exclusive

    def _action(self, operation: str, account: str, reason: str, changed: bool,
                result: dict[str, Any], undo: Undo | None, no_undo: str = "") -> Action:
        return Action(operation, account, self.actor, reason, self.clock(), changed, result,
                      undo, no_undo)

    # --- deny passdb ------------------------------------------------------------------------

    def _deny_lines(self) -> list[str]:
        if not self.deny_file.exists():
            return []
        return self.deny_file.read_text("utf-8", "surrogateescape").splitlines(keepends=True)

    def denied(self) -> list[str]:
        """The users listed in the deny file."""
        return [user for line in self._deny_lines() if (user := deny_user(line)) is not None]

    def lock(self, account: str, *, reason: str) -> Action:
        """Add the account to the deny file (once); undo unlocks it. Other lines, comments and
        lines not understood included, are kept as they are."""
        validate_account(account)
        with self.exclusive():
            lines = self._deny_lines()
            changed = account not in {deny_user(line) for line in lines}
            if changed or not self.deny_file.exists():
                if lines and not lines[-1].endswith("\n"):
                    lines[-1] += "\n"
                self._write_deny([*lines, f"{account}\n"])
        undo = Undo("unlock", {"account": account}) if changed else None
        return self._action("lock", account, reason, changed, {"deny_file": str(self.deny_file)},
                            undo)

    def unlock(self, account: str, *, reason: str) -> Action:
        """Remove the account from the deny file; undo locks it again."""
        validate_account(account)
        with self.exclusive():
            lines = self._deny_lines()
            kept = [line for line in lines if deny_user(line) != account]
            changed = len(kept) != len(lines)
            if changed or not self.deny_file.exists():  # an empty file: the passdb must exist
                self._write_deny(kept)
        undo = Undo("lock", {"account": account}) if changed else None
        return self._action("unlock", account, reason, changed,
                            {"deny_file": str(self.deny_file)}, undo)

    def _write_deny(self, lines: list[str]) -> None:
        replace_file(self.deny_file, "".join(lines))

    # --- sessions ---------------------------------------------------------------------------

    def kick(self, account: str, *, reason: str) -> Action:
        """`doveadm kick USER`: end the account's IMAP/POP3 sessions. There is no undo."""
        validate_account(account)
        try:
            done = self.executor.doveadm_call(
                DoveadmCommand("kick", args=(("mask", (account,)),)))
        except CommandFailed as exc:
            if exc.returncode != NO_SESSIONS:
                raise
            return self._action("kick", account, reason, False,
                                {"output": "doveadm kick: no users kicked"}, None,
                                "doveadm found no connection of the account to end")
        output = (done.stdout + done.stderr).strip()
        return self._action("kick", account, reason, True, {"output": output}, None,
                            "ended sessions cannot be restored; the user logs in again")

    # --- sieve ------------------------------------------------------------------------------

    def _sieve(self, command: str, account: str, name: str | None = None,
               records: bool = False) -> DoveadmCommand:
        """`doveadm sieve COMMAND -u ACCOUNT [NAME]` as a DoveadmCommand."""
        args = (("scriptname", name),) if name is not None else ()
        return DoveadmCommand(f"sieve {command}", (("user", account),), args, records=records)

    def sieve_scripts(self, account: str) -> tuple[list[str], str | None]:
        """The account's Sieve script names and the active one (`doveadm sieve list`)."""
        validate_account(account)
        records = self.executor.doveadm_call(self._sieve("list", account, records=True)).records
        names = [record.get("script", "") for record in records]
        active = [r.get("script", "") for r in records if r.get("active") == "ACTIVE"]
        return names, (active[0] if active else None)

    def sieve_script(self, account: str, name: str) -> str:
        """The text of one Sieve script (`doveadm sieve get`)."""
        validate_account(account)
        command = self._sieve("get", account, name, records=True)
        records = self.executor.doveadm_call(command).records
        return "".join(record.get("sieve script", "") for record in records)

    def sieve_deactivate(self, account: str, *, reason: str) -> Action:
        """Keep a copy of every Sieve script, deactivate the active one; undo reactivates it."""
        names, active = self.sieve_scripts(account)
        copies = {name: self.sieve_script(account, name) for name in names}
        if active is not None:
            self.executor.doveadm_call(self._sieve("deactivate", account))
        undo = Undo("sieve_activate", {"account": account, "name": active}) if active else None
        result = {"scripts": copies, "active": active}
        return self._action("sieve_deactivate", account, reason, active is not None, result, undo)

    def sieve_activate(self, account: str, *, reason: str, name: str) -> Action:
        """`doveadm sieve activate -u USER NAME`; undo deactivates it again."""
        validate_account(account)
        _, active = self.sieve_scripts(account)
        changed = active != name
        if changed:
            self.executor.doveadm_call(self._sieve("activate", account, name))
        undo = Undo("sieve_deactivate", {"account": account}) if changed else None
        return self._action("sieve_activate", account, reason, changed,
                            {"active": name, "before": active}, undo)

    # --- password ---------------------------------------------------------------------------

    def reset_password(self, account: str, *, reason: str) -> Action:
        """Give the account a new random password (SHA512-CRYPT in the passwd-file).

        The password is returned once in Action.secret, never logged or recorded. No undo:
        the old password is presumed stolen.
        """
        validate_account(account)
        if self.passwd_file is None:
            raise ValueError("reset_password needs passwd_file")
        password = secrets.token_urlsafe(PASSWORD_BYTES)
        twice = f"{password}\n{password}\n"
        command = DoveadmCommand("pw", (("scheme", HASH_SCHEME),), stdin=twice)
        hashed = self.executor.doveadm_call(command).stdout.strip()
        if not hashed.startswith("{" + HASH_SCHEME + "}") or "\n" in hashed:
            raise ValueError(f"doveadm pw gave no {HASH_SCHEME} hash")
        self._set_hash(account, hashed)
        result = {"passwd_file": str(self.passwd_file), "scheme": HASH_SCHEME}
        action = self._action("reset_password", account, reason, True, result, None,
                              "the old password is presumed stolen and is not restored")
        return replace(action, secret=password)

    def _set_hash(self, account: str, hashed: str) -> None:
        assert self.passwd_file is not None
        with self.exclusive():
            text = self.passwd_file.read_text("utf-8", "surrogateescape")
            lines = text.splitlines(keepends=True)
            for index, line in enumerate(lines):
                user, sep, rest = line.partition(":")
                if sep and user == account:
                    _, _, tail = rest.partition(":")
                    lines[index] = (f"{user}:{hashed}:{tail}" if ":" in rest
                                    else f"{user}:{hashed}\n")
                    replace_file(self.passwd_file, "".join(lines))
                    return
        raise AccountNotFound(account, self.passwd_file)

    def undo(self, action: Action, *, reason: str) -> Action:
        """Carry out action.undo; ValueError (with the reason) if it has none."""
        if action.undo is None:
            raise ValueError(f"{action.operation} of {action.account!r} has no undo: "
                             f"{action.no_undo_reason or 'nothing changed'}")
        operations: dict[str, Callable[..., Action]] = {
            "lock": self.lock, "unlock": self.unlock,
            "sieve_activate": self.sieve_activate, "sieve_deactivate": self.sieve_deactivate,
        }
        return operations[action.undo.operation](reason=reason, **dict(action.undo.arguments))
